#[resumable(every = 100, inner = 'batches, key = ())]
fn drain(mut queue: Vec<u64>) -> Vec<u64> {
    let mut sums = Vec::new();
    while let Some(job) = queue.pop() {
        let mut sum = 0;
        'batches: for k in 0..job {
            sum += k;
        }
        sums.push(sum);
    }
    sums
}
