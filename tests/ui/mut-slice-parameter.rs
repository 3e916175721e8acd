use resumable::resumable;

// `*out = restored` cannot assign a slice: refused, with the rewrite.
#[resumable(every = 10)]
fn fill(n: usize, out: &mut [u64]) {
    for i in 0..n {
        out[i] = (i * i) as u64;
    }
}

fn main() {}
