use resumable::resumable;

// A `fn` whose body does not parse: syn's message says where, not "not a fn".
#[resumable(every = 10)]
fn total(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i +;
    }
    sum
}

fn main() {}
