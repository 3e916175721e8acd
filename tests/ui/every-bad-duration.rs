use resumable::resumable;

#[resumable(every = "30 seconds")]
fn sum(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += i;
    }
    total
}

fn main() {}
