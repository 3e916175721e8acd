use resumable::resumable;

struct MyError;

#[resumable(every = 10)]
fn parse_all(items: &[&str]) -> Result<u64, MyError> {
    let mut total = 0;
    for item in items {
        total += item.parse::<u64>()?;
    }
    Ok(total)
}

fn main() {}
