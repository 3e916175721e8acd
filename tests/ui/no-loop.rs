use resumable::resumable;

#[resumable(every = 10)]
fn sum(n: u64) -> u64 {
    let mut total = 0;
    total += n;
    total
}

fn main() {}
