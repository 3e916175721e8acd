//! Loop nests checkpointed inside their inner loop (`inner = 'label`): the checkpoint holds
//! the position (outer iteration, inner iteration), the function's state and the state declared
//! between the loops; a run that fails and is called again returns what an uninterrupted run
//! returns, running no inner iteration twice but the failed one.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{fresh, panic_of, saved_index, take};
use resumable::resumable;

/// A small seeded generator, state of the function like a model's RNG.
fn next_random(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

static TRAIN_BODIES: AtomicU64 = AtomicU64::new(0);

/// Epochs of batches: each epoch shuffles the data with the saved RNG (an immutable binding
/// between the loops), sums a loss over its batches (a `let mut` between the loops), and
/// pushes it to the history (function-level state).
#[resumable(every = 4, name = "nested-train", inner = 'batches, key = (), skip(TRAIN_BODIES))]
fn train(epochs: u64, data: &[u64], fail_at: Option<(u64, usize)>) -> (Vec<u64>, u64, u64) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut history = Vec::new();
    let mut steps = 0u64;
    for epoch in 0..epochs {
        let mut order: Vec<usize> = (0..data.len()).collect();
        for i in (1..order.len()).rev() {
            let j = (next_random(&mut seed) % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let order = order;
        let mut loss = 0u64;
        'batches: for (b, batch) in order.chunks(3).enumerate() {
            TRAIN_BODIES.fetch_add(1, SeqCst);
            if fail_at == Some((epoch, b)) {
                panic!("injected failure at epoch {epoch}, batch {b}");
            }
            loss = loss
                .wrapping_mul(31)
                .wrapping_add(batch.iter().map(|&i| data[i]).sum());
            steps += 1;
        }
        history.push(loss);
    }
    (history, steps, seed)
}

#[test]
fn a_nest_resumes_inside_its_inner_loop() {
    let path = fresh("nested-train");
    let data: Vec<u64> = (0..20).map(|i| i * i + 1).collect();
    // 20 items in batches of 3: 7 batches per epoch.
    let uninterrupted = train(5, &data, None);
    assert_eq!(take(&TRAIN_BODIES), 35);
    assert_eq!(uninterrupted.1, 35);

    panic_of(|| train(5, &data, Some((2, 5))));
    assert_eq!(
        take(&TRAIN_BODIES),
        2 * 7 + 6,
        "epochs 0, 1 and batches 0..=5 of epoch 2"
    );
    assert_eq!(
        saved_index(&path),
        Some(2 * 7 + 5),
        "the failed batch runs again"
    );
    assert_eq!(train(5, &data, None), uninterrupted);
    assert_eq!(
        take(&TRAIN_BODIES),
        2 + 2 * 7,
        "batches 5, 6 of epoch 2, epochs 3 and 4"
    );
    assert!(!path.exists());
}

static AFTER_BODIES: AtomicU64 = AtomicU64::new(0);

/// A failure after the inner loop (between its end and the next outer iteration) saves
/// nothing: the run resumes from the last periodic checkpoint, which holds the state of then.
#[resumable(every = 5, name = "nested-after", inner = 'cells, key = (), skip(AFTER_BODIES))]
fn grid_sums(rows: u64, cols: u64, fail_after_row: Option<u64>) -> Vec<u64> {
    let mut sums = Vec::new();
    for row in 0..rows {
        let mut sum = 0;
        'cells: for col in 0..cols {
            AFTER_BODIES.fetch_add(1, SeqCst);
            sum += row * 100 + col;
        }
        sums.push(sum);
        if fail_after_row == Some(row) {
            panic!("injected failure after row {row}");
        }
    }
    sums
}

#[test]
fn a_failure_outside_the_inner_loop_resumes_from_the_last_checkpoint() {
    let path = fresh("nested-after");
    let uninterrupted = grid_sums(4, 7, None);
    assert_eq!(take(&AFTER_BODIES), 28);
    panic_of(|| grid_sums(4, 7, Some(1)));
    assert_eq!(take(&AFTER_BODIES), 14);
    // Saves after 5 and 10 cells: row 1, cell 3 is next.
    assert_eq!(saved_index(&path), Some(10));
    assert_eq!(grid_sums(4, 7, None), uninterrupted);
    assert_eq!(take(&AFTER_BODIES), 28 - 10);
    assert!(!path.exists());
}

static FLOW_BODIES: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, PartialEq)]
struct Refused(u64);

/// `continue` and `break` of both loops where each may stand, `?` in the inner loop, and an
/// append-only `Vec` declared between the loops (a new one every outer iteration).
#[resumable(every = 3, name = "nested-flow", inner = 'items, append(seen, kept), key = (), skip(FLOW_BODIES))]
fn filter_groups(groups: u64, refuse: Option<u64>) -> Result<(Vec<u64>, Vec<Vec<u64>>), Refused> {
    let mut kept = Vec::new();
    let mut per_group: Vec<Vec<u64>> = Vec::new();
    'groups: for group in 0..groups {
        if group == 1 {
            continue;
        }
        let mut seen = Vec::new();
        let mut stop_all = false;
        'items: for item in group * 10..group * 10 + 8 {
            FLOW_BODIES.fetch_add(1, SeqCst);
            check(item, refuse)?;
            if item % 10 == 2 {
                continue;
            }
            if item % 10 == 6 {
                break 'items;
            }
            if item == 53 {
                stop_all = true;
                break;
            }
            seen.push(item);
            kept.push(item * 2);
        }
        per_group.push(seen);
        if stop_all {
            break 'groups;
        }
    }
    Ok((kept, per_group))
}

fn check(item: u64, refuse: Option<u64>) -> Result<(), Refused> {
    match refuse {
        Some(refused) if refused == item => Err(Refused(item)),
        _ => Ok(()),
    }
}

#[test]
fn control_flow_and_errors_in_a_nest() {
    let path = fresh("nested-flow");
    let uninterrupted = filter_groups(9, None).unwrap();
    // Groups 0, 2, 3, 4: items 0..=6 each; group 5: items 50..=53.
    assert_eq!(take(&FLOW_BODIES), 4 * 7 + 4);
    assert_eq!(uninterrupted.1.len(), 5);
    assert_eq!(uninterrupted.1[4], vec![50, 51]);

    assert_eq!(filter_groups(9, Some(34)), Err(Refused(34)));
    assert_eq!(
        take(&FLOW_BODIES),
        2 * 7 + 5,
        "groups 0, 2 and items 30..=34"
    );
    assert_eq!(saved_index(&path), Some(2 * 7 + 4), "item 34 runs again");
    assert_eq!(filter_groups(9, None).unwrap(), uninterrupted);
    assert_eq!(take(&FLOW_BODIES), 3 + 7 + 4);
    assert!(!path.exists());
}

/// Two versions of one function whose state declared between the loops differs in type.
#[resumable(every = 2, name = "nested-shape", inner = 'inner, key = ())]
fn shape_u64(fail: bool) -> u64 {
    let mut total = 0;
    for outer in 0..3u64 {
        let mut partial = 0u64;
        'inner: for i in 0..4u64 {
            if fail && outer == 1 && i == 2 {
                panic!("injected failure");
            }
            partial += i;
        }
        total += partial + outer;
    }
    total
}

#[resumable(every = 2, name = "nested-shape", inner = 'inner)]
fn shape_u32() -> u64 {
    let mut total = 0;
    for outer in 0..3u64 {
        let mut partial = 0u32;
        'inner: for i in 0..4u32 {
            partial += i;
        }
        total += u64::from(partial) + outer;
    }
    total
}

#[test]
fn a_checkpoint_whose_between_state_has_another_type_is_refused_untouched() {
    let path = fresh("nested-shape");
    panic_of(|| shape_u64(true));
    let saved = std::fs::read(&path).expect("a checkpoint");
    let message = panic_of(shape_u32);
    assert!(message.contains("different state"), "{message}");
    assert!(
        message.contains("partial"),
        "the message names the binding: {message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), saved, "untouched");
    assert_eq!(shape_u64(false), 3 * 6 + 3);
    assert!(!path.exists());
}

static MOVED_BODIES: AtomicU64 = AtomicU64::new(0);

/// The inner loop iterates over a `Vec` declared between the loops by value (moving it): the
/// checkpoint holds the `Vec` as it was when the inner loop started.
#[resumable(every = 3, name = "nested-moved", inner = 'jobs, key = (), skip(MOVED_BODIES))]
fn run_jobs(rounds: u64, fail_at: Option<(u64, u64)>) -> Vec<u64> {
    let mut seed = 7u64;
    let mut done = Vec::new();
    for round in 0..rounds {
        let jobs: Vec<u64> = (0..5).map(|_| next_random(&mut seed) % 1000).collect();
        'jobs: for job in jobs {
            MOVED_BODIES.fetch_add(1, SeqCst);
            if fail_at == Some((round, job)) {
                panic!("injected failure at job {job}");
            }
            done.push(job + round);
        }
    }
    done
}

#[test]
fn an_inner_loop_may_move_what_it_iterates() {
    let path = fresh("nested-moved");
    let uninterrupted = run_jobs(4, None);
    assert_eq!(take(&MOVED_BODIES), 20);
    // Fail at round 2's fourth job.
    let job = uninterrupted[2 * 5 + 3] - 2;
    panic_of(|| run_jobs(4, Some((2, job))));
    assert_eq!(take(&MOVED_BODIES), 2 * 5 + 4);
    assert_eq!(saved_index(&path), Some(2 * 5 + 3));
    assert_eq!(run_jobs(4, None), uninterrupted);
    assert_eq!(take(&MOVED_BODIES), 2 + 5);
    assert!(!path.exists());
}

static ASYNC_BODIES: AtomicU64 = AtomicU64::new(0);

/// An async nest: `.await` between the loops and in the inner loop.
#[resumable(every = 4, name = "nested-async", inner = 'pages, key = (), skip(ASYNC_BODIES))]
async fn crawl_sites(sites: u64, fail_at: Option<(u64, u64)>) -> Result<Vec<u64>, String> {
    let mut sizes = Vec::new();
    for site in 0..sites {
        let pages = page_count(site).await;
        let mut total = 0;
        'pages: for page in 0..pages {
            ASYNC_BODIES.fetch_add(1, SeqCst);
            if fail_at == Some((site, page)) {
                return Err(format!("site {site}, page {page} is down"));
            }
            tokio::task::yield_now().await;
            total += site * 100 + page;
        }
        sizes.push(total);
    }
    Ok(sizes)
}

async fn page_count(site: u64) -> u64 {
    tokio::task::yield_now().await;
    3 + site % 3
}

#[test]
fn an_async_nest_resumes_inside_its_inner_loop() {
    let path = fresh("nested-async");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Pages per site: 3, 4, 5, 3, 4.
    let uninterrupted = runtime.block_on(crawl_sites(5, None)).unwrap();
    assert_eq!(take(&ASYNC_BODIES), 19);
    let failed = runtime.block_on(crawl_sites(5, Some((2, 1))));
    assert_eq!(failed, Err("site 2, page 1 is down".to_owned()));
    assert_eq!(take(&ASYNC_BODIES), 3 + 4 + 2);
    assert_eq!(saved_index(&path), Some(3 + 4 + 1));
    assert_eq!(runtime.block_on(crawl_sites(5, None)), Ok(uninterrupted));
    assert_eq!(take(&ASYNC_BODIES), 19 - 8);
    assert!(!path.exists());
}

static METHOD_BODIES: AtomicU64 = AtomicU64::new(0);

/// A `&mut self` method: `*self` is the function-level state of the nest.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Heat {
    cells: Vec<i64>,
    sweeps: u64,
}

impl Heat {
    #[resumable(every = 5, inner = 'cells, key = (), skip(METHOD_BODIES))]
    fn relax(&mut self, sweeps: u64, fail_at: Option<(u64, usize)>) {
        for sweep in 0..sweeps {
            let before = self.cells.clone();
            'cells: for i in 1..before.len() - 1 {
                METHOD_BODIES.fetch_add(1, SeqCst);
                if fail_at == Some((sweep, i)) {
                    panic!("injected failure at sweep {sweep}, cell {i}");
                }
                self.cells[i] = (before[i - 1] + 2 * before[i] + before[i + 1]) / 4;
            }
            self.sweeps += 1;
        }
    }
}

#[test]
fn a_nest_in_a_method_restores_self() {
    let path = fresh("nested.Heat.relax");
    let start = || Heat {
        cells: vec![0, 100, -40, 7, 1000, 3, 0, 0],
        sweeps: 0,
    };
    let mut uninterrupted = start();
    uninterrupted.relax(4, None);
    assert_eq!(take(&METHOD_BODIES), 24);
    let mut heat = start();
    panic_of(|| start().relax(4, Some((2, 3))));
    assert_eq!(take(&METHOD_BODIES), 6 + 6 + 3);
    assert_eq!(saved_index(&path), Some(6 + 6 + 2));
    heat.relax(4, None);
    assert_eq!(heat, uninterrupted);
    assert_eq!(take(&METHOD_BODIES), 24 - 14);
    assert!(!path.exists());
}

static GRID_BODIES: AtomicU64 = AtomicU64::new(0);

/// `skip(row)`: a reference declared between the loops is left out of the checkpoint (it is
/// computed again on resume, from the argument); the inner loop is a `while` over a cursor
/// declared between the loops.
#[resumable(every = 4, name = "nested-skip-while", inner = 'cells, skip(row, GRID_BODIES), key = ())]
fn weighted_sum(grid: &[Vec<u64>], fail_at: Option<(usize, usize)>) -> u64 {
    let mut total = 0;
    for (r, row) in grid.iter().enumerate() {
        let row: &Vec<u64> = row;
        let mut c = 0;
        'cells: while c < row.len() {
            GRID_BODIES.fetch_add(1, SeqCst);
            if fail_at == Some((r, c)) {
                panic!("injected failure at {r}, {c}");
            }
            total += row[c] * (c as u64 + 1);
            c += 1;
        }
    }
    total
}

#[test]
fn a_skipped_reference_and_a_while_inner_loop() {
    let path = fresh("nested-skip-while");
    let grid: Vec<Vec<u64>> = (0..5)
        .map(|r| (0..3 + r).map(|c| r * 10 + c).collect())
        .collect();
    let uninterrupted = weighted_sum(&grid, None);
    // Rows of 3, 4, 5, 6 and 7 cells.
    assert_eq!(take(&GRID_BODIES), 25);
    panic_of(|| weighted_sum(&grid, Some((2, 3))));
    assert_eq!(take(&GRID_BODIES), 3 + 4 + 4);
    // The index counts the inner `for` it runs as (`for _ in 0u64.. { if COND BODY else {
    // break } }`): the check that ends each row is an iteration too.
    assert_eq!(saved_index(&path), Some((3 + 1) + (4 + 1) + 3));
    assert_eq!(weighted_sum(&grid, None), uninterrupted);
    assert_eq!(take(&GRID_BODIES), 25 - 10);
    assert!(!path.exists());
}
