use resumable::resumable;

// The checkpointed inner loop runs in a closure: it cannot leave the outer loop.
#[resumable(every = 10, inner = 'batches)]
fn train(epochs: u64, data: &[u64]) -> u64 {
    let mut total = 0;
    'epochs: for _epoch in 0..epochs {
        'batches: for x in data {
            if *x == 0 {
                break 'epochs;
            }
            total += x;
        }
    }
    total
}

fn main() {
    train(2, &[1, 2]);
}
