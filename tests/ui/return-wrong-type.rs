use resumable::resumable;

#[resumable(every = 10)]
fn find(items: &[u64], wanted: u64) -> Option<usize> {
    let mut seen = 0;
    for item in items {
        if *item == wanted {
            return seen;
        }
        seen += 1;
    }
    None
}

fn main() {}
