use resumable::resumable;

// `inner` names the loop nested in the top-level one, not the top-level one.
#[resumable(every = 10, inner = 'epochs)]
fn train(epochs: u64, data: &[u64]) -> u64 {
    let mut total = 0;
    'epochs: for _epoch in 0..epochs {
        for x in data {
            total += x;
        }
    }
    total
}

fn main() {
    train(2, &[1, 2]);
}
