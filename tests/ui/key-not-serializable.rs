use resumable::resumable;

struct Job {
    id: u32,
}

#[resumable(every = 10, key = job)]
fn run(job: &Job, n: u64) -> u64 {
    let mut total = u64::from(job.id);
    for i in 0..n {
        total += i;
    }
    total
}

fn main() {}
