use resumable::resumable;

#[resumable(every = 10, loop = 'main)]
fn total(n: u64) -> u64 {
    let mut total = 0;
    for i in 0..n {
        total += i;
    }
    total
}

fn main() {}
