use resumable::resumable;

#[resumable(every = 10, state(x))]
fn sum(n: u64) -> u64 {
    let x = 0u64;
    for i in 0..n {
        let _ = x + i;
    }
    x
}

fn main() {}
