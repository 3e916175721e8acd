use std::task::Poll;

use resumable::resumable;

#[resumable(every = 10)]
fn ready_total(items: Vec<Poll<Result<u64, String>>>) -> Poll<Result<u64, String>> {
    let mut total = 0;
    for item in items {
        if let Poll::Ready(value) = item? {
            total += value;
        }
    }
    Poll::Ready(Ok(total))
}

fn main() {}
