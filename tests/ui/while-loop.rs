use resumable::resumable;

#[resumable(every = 10)]
fn sum(n: u64) -> u64 {
    let mut total = 0;
    let mut i = 0;
    while i < n {
        total += i;
        i += 1;
    }
    total
}

fn main() {}
