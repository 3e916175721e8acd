use resumable::resumable;

struct Client {
    base: u64,
}

impl Client {
    fn get(&self, i: u64) -> u64 {
        self.base + i
    }
}

// A handle the loop never changes, said with `skip`; a closure that reads only plain values;
// a `Hash` config read through `&`.
#[derive(Hash)]
struct Cfg {
    scale: u64,
}

#[resumable(every = 10, skip(client))]
fn fetch_all(n: u64, cfg: &Cfg) -> u64 {
    let client = Client { base: 7 };
    let double = |x: u64| x * 2;
    let mut total = 0u64;
    for i in 0..n {
        total += double(client.get(i)) * cfg.scale;
    }
    total
}

fn main() {
    assert_eq!(fetch_all(3, &Cfg { scale: 1 }), 2 * (7 + 8 + 9));
}
