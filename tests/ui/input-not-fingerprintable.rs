use resumable::resumable;

struct Cfg {
    scale: u64,
}

// Neither input can tell one call from another: each is an error asking for `key = …`.
#[resumable(every = 10, skip(cfg))]
fn apply(n: u64, f: impl Fn(u64) -> u64, cfg: &Cfg) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total += f(i) * cfg.scale;
    }
    total
}

fn main() {}
