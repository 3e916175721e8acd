use resumable::resumable;

#[resumable(every = 10)]
fn first_square_over(limit: u64) -> u64 {
    let mut i = 0u64;
    loop {
        if i * i > limit {
            break i;
        }
        i += 1;
    }
}

fn main() {}
