#[resumable(every = 1000)]
fn squares(n: u64) -> Vec<u64> {
    let mut results = Vec::new();
    for i in 0..n {
        results.push(i * i);
    }
    results
}
