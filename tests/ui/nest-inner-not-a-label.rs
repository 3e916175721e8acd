use resumable::resumable;

// `inner` takes the inner loop's label, with its quote.
#[resumable(every = 10, inner = batches)]
fn train(epochs: u64, data: &[u64]) -> u64 {
    let mut total = 0;
    for _epoch in 0..epochs {
        'batches: for x in data {
            total += x;
        }
    }
    total
}

fn main() {
    train(2, &[1, 2]);
}
