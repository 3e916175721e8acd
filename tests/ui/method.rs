use resumable::resumable;

struct Summer {
    n: u64,
}

impl Summer {
    #[resumable(every = 10)]
    fn sum(&self) -> u64 {
        let mut total = 0;
        for i in 0..self.n {
            total += i;
        }
        total
    }
}

fn main() {}
