use resumable::resumable;

// The label names no loop of the outer loop's body: here it is inside an `if`.
#[resumable(every = 10, inner = 'batches)]
fn train(epochs: u64, data: &[u64]) -> u64 {
    let mut total = 0;
    for _epoch in 0..epochs {
        if !data.is_empty() {
            'batches: for x in data {
                total += x;
            }
        }
    }
    total
}

fn main() {
    train(2, &[1, 2]);
}
