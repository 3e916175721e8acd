use resumable::resumable;

struct Totals {
    sum: u64,
}

#[resumable(every = 10)]
fn sum(n: u64) -> u64 {
    let mut totals = Totals { sum: 0 };
    for i in 0..n {
        totals.sum += i;
    }
    totals.sum
}

fn main() {}
