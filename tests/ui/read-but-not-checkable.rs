use resumable::resumable;

struct Client {
    base: u64,
}

impl Client {
    fn get(&self, i: u64) -> u64 {
        self.base + i
    }
}

// The loop reads `client`, which is not state and has no `Serialize` or `Hash`: whether the
// loop changes it cannot be checked, so it must be said (`skip`) or made visible.
#[resumable(every = 10)]
fn fetch_all(n: u64) -> u64 {
    let client = Client { base: 7 };
    let mut total = 0u64;
    for i in 0..n {
        total += client.get(i);
    }
    total
}

fn main() {}
