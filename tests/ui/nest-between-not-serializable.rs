use resumable::resumable;

// `row` is declared between the loops and used by the inner loop, so it is state; a reference
// cannot be restored: the error says to `skip` it (it is computed again on resume).
#[resumable(every = 10, inner = 'cells)]
fn sum(grid: &[Vec<u64>]) -> u64 {
    let mut total = 0;
    for r in 0..grid.len() {
        let row = &grid[r];
        'cells: for c in 0..row.len() {
            total += row[c];
        }
    }
    total
}

fn main() {
    sum(&[vec![1]]);
}
