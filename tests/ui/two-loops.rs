use resumable::resumable;

#[resumable(every = 10)]
fn sums(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += i;
    }
    for i in 0..n {
        total += i * i;
    }
    total
}

fn main() {}
