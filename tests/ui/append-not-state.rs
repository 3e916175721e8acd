use resumable::resumable;

#[resumable(every = 10, append(seen, lines), skip(seen))]
fn collect(n: u64) -> Vec<u64> {
    let mut seen = Vec::new();
    let mut kept = Vec::new();
    for i in 0..n {
        seen.push(i);
        kept.push(i * 2);
    }
    kept
}

fn main() {
    collect(3);
}
