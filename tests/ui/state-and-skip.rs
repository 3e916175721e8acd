use resumable::resumable;

#[resumable(every = 10, state(total), skip(count))]
fn sum(n: u64) -> u64 {
    let mut total = 0;
    let mut count = 0;
    for i in 0..n {
        total += i;
        count += 1;
    }
    total + count
}

fn main() {}
