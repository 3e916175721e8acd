//! `#[resumable]` on async fns: the body may `.await`, a panic or `?` inside it saves as in a
//! sync loop, and the next call resumes. Runs under tokio (also spawned on a multi-threaded
//! runtime, so the future is `Send`) and under a minimal executor of the test's own.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};

use common::{fresh, panic_of, saved_index, take};
use resumable::resumable;

static FETCH_RUNS: AtomicU64 = AtomicU64::new(0);

/// Pretends to fetch page `i`: yields to the executor and sleeps, as network code would.
async fn fetch(i: u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_micros(10)).await;
    Ok(i * 3)
}

#[resumable(every = 5, name = "async-crawl", key = (), skip(FETCH_RUNS))]
async fn crawl(n: u64, panic_at: Option<u64>, fail_at: Option<u64>) -> Result<Vec<u64>, String> {
    let mut pages = Vec::new();
    for i in 0..n {
        FETCH_RUNS.fetch_add(1, SeqCst);
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        if fail_at == Some(i) {
            return Err(format!("page {i} is unreachable"));
        }
        let page = fetch(i).await?;
        pages.push(page);
    }
    Ok(pages)
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn an_async_fn_resumes_after_a_panic_and_after_an_error() {
    let path = fresh("async-crawl");
    let runtime = tokio_runtime();
    // Spawned: the future is `Send`.
    let uninterrupted = runtime
        .block_on(runtime.spawn(crawl(30, None, None)))
        .unwrap()
        .unwrap();
    assert_eq!(take(&FETCH_RUNS), 30);

    let text = panic_of(|| runtime.block_on(crawl(30, Some(12), None)));
    assert_eq!(text, "injected failure at 12");
    assert_eq!(take(&FETCH_RUNS), 13);
    assert_eq!(saved_index(&path), Some(12));

    let error = runtime.block_on(crawl(30, None, Some(20))).unwrap_err();
    assert_eq!(error, "page 20 is unreachable");
    assert_eq!(take(&FETCH_RUNS), 9, "12..=20");
    assert_eq!(saved_index(&path), Some(20));

    assert_eq!(
        runtime.block_on(crawl(30, None, None)).unwrap(),
        uninterrupted
    );
    assert_eq!(take(&FETCH_RUNS), 10, "20..30");
    assert!(!path.exists());
}

static SUM_RUNS: AtomicU64 = AtomicU64::new(0);

/// Yields with a future of its own, no runtime needed.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[resumable(every = 4, name = "async-any-executor", key = (), skip(SUM_RUNS))]
async fn slow_sum(n: u64, panic_at: Option<u64>) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        SUM_RUNS.fetch_add(1, SeqCst);
        YieldOnce(false).await;
        if panic_at == Some(i) {
            panic!("injected failure at {i}");
        }
        sum += i;
    }
    sum
}

/// A minimal executor: polls on this thread, parking between wake-ups.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::park();
    }
}

#[test]
fn an_async_fn_runs_and_resumes_under_any_executor() {
    let path = fresh("async-any-executor");
    let uninterrupted = block_on(slow_sum(20, None));
    assert_eq!(take(&SUM_RUNS), 20);
    panic_of(|| block_on(slow_sum(20, Some(9))));
    assert_eq!(take(&SUM_RUNS), 10);
    assert_eq!(saved_index(&path), Some(9));
    assert_eq!(block_on(slow_sum(20, None)), uninterrupted);
    assert_eq!(take(&SUM_RUNS), 11);
    assert!(!path.exists());
}
