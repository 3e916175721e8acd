use resumable::resumable;

#[resumable(every = 10)]
fn sum(items: &[u64]) -> u64 {
    let mut total = 0;
    let mut add = |x: u64| total += x;
    for &x in items {
        add(x);
    }
    total
}

#[resumable(every = 10)]
fn running(items: &[u64]) -> Vec<u64> {
    let mut acc = 0;
    let mut step = move |x: u64| {
        acc += x;
        acc
    };
    let mut out = Vec::new();
    for &x in items {
        out.push(step(x));
    }
    out
}

fn main() {}
