#[resumable(every = 4, key = ())]
fn fold(n: u64) -> Result<Acc, String> {
    let mut acc = Acc::default();
    for i in 0..n {
        if i == 99 {
            return Err(format!("step {i} failed"));
        }
        acc = step(acc, i);
    }
    Ok(acc)
}
