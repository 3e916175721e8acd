use resumable::resumable;

#[resumable(every = 10)]
fn squares_until(limit: u64) -> Vec<u64> {
    let mut squares = Vec::new();
    let mut i = 0u64;
    let found = loop {
        if i * i > limit {
            break squares;
        }
        squares.push(i * i);
        i += 1;
    };
    found
}

fn main() {}
