//! The `squares` loop with no checkpoints: the floor `squares` is compared against in
//! `scripts/bench_b1.py`. `cargo run --release --example squares_plain -- [N]`

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |arg| arg.parse().expect("N"));
    let mut results = Vec::new();
    for i in 0..n {
        results.push(i * i);
    }
    let checksum = results
        .iter()
        .fold(0u64, |sum, value| (sum + value % 1_000_003) % 1_000_003);
    println!("{} {}", results.len(), checksum);
}
