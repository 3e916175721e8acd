use resumable::resumable;

#[resumable(every = 10)]
fn parse_all(items: &[&str]) -> Result<Vec<Vec<u64>>, std::num::ParseIntError> {
    let mut out = Vec::new();
    for item in items {
        out.push(vec![item.parse::<u64>()?; 3]);
    }
    Ok(out)
}

fn main() {}
