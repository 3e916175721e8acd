use resumable::resumable;

#[resumable(every = 10)]
fn double_all(n: usize) -> Vec<u64> {
    let mut grid = vec![1u64; n];
    for cell in grid.iter_mut() {
        *cell *= 2;
    }
    grid
}

#[resumable(every = 10)]
fn bump_values(mut counts: std::collections::BTreeMap<String, u64>) -> u64 {
    let mut total = 0;
    for value in counts.values_mut() {
        *value += 1;
        total += *value;
    }
    total
}

#[resumable(every = 10)]
fn zero_all(rows: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut rows = rows;
    for row in &mut rows {
        row.clear();
    }
    rows
}

#[resumable(every = 10)]
fn scale_rows(mut table: Vec<f64>) -> Vec<f64> {
    let mut sums = Vec::new();
    for row in table.chunks_mut(4) {
        row[0] = 0.0;
        sums.push(row.iter().sum::<f64>());
    }
    sums
}

fn main() {}
