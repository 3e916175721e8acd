use resumable::resumable;

// A between-loop reference into function-level state: restoring the state would write to it
// while it is borrowed.
#[resumable(every = 10, inner = 'cells, skip(row))]
fn total(rows: usize) -> u64 {
    let mut grid: Vec<Vec<u64>> = vec![vec![1, 2, 3]; rows];
    let mut sum = 0;
    for r in 0..rows {
        grid[r][0] += 1;
        let row = &grid[r];
        'cells: for x in row.iter() {
            sum += x;
        }
    }
    sum
}

fn main() {
    total(2);
}
