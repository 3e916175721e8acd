use resumable::resumable;

#[resumable(every = 10)]
struct Counter {
    count: u64,
}

fn main() {}
