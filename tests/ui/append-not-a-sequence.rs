use resumable::resumable;

#[resumable(every = 10, append(total))]
fn sum(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total += i;
    }
    total
}

fn main() {
    sum(3);
}
