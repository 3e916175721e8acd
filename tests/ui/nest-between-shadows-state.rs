use resumable::resumable;

// `loss` is state of the whole function and is declared again between the loops: the saved
// values could not both be put back where they belong.
#[resumable(every = 10, inner = 'batches)]
fn train(epochs: u64, data: &[f64]) -> f64 {
    let mut loss = 0.0;
    for _epoch in 0..epochs {
        loss *= 0.5;
        let mut loss = loss;
        'batches: for x in data {
            loss += x;
        }
        println!("{loss}");
    }
    loss
}

fn main() {
    train(2, &[1.0, 2.0]);
}
