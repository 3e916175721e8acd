//! The progress bar of the `progress` feature: an [indicatif] bar on stderr with the position,
//! the total when the iterator knows it, the rate, the ETA and where the run resumed. It is
//! drawn only when stderr is a terminal, and updated at iteration boundaries only: with a bar,
//! the loop stops at a boundary at least every 1/500 of the total (or every 100 iterations
//! when the total is unknown), without saving there. Without the feature, or without a
//! terminal, every method is an empty inline function and boundaries come only when a
//! checkpoint is due.

#[cfg(feature = "progress")]
pub(crate) use with_bar::Progress;

#[cfg(not(feature = "progress"))]
pub(crate) use without_bar::Progress;

/// The progress line's word on the store after `completed` iterations, given what
/// [`Uploads::on_store`](crate::store::remote::Uploads::on_store) says: how far behind it is.
#[cfg(feature = "progress")]
pub(crate) fn store_text(completed: u64, (on_store, unreachable): (Option<u64>, bool)) -> String {
    let lag = match on_store {
        Some(index) => format!("store {} behind", completed.saturating_sub(index)),
        None => "store: nothing uploaded yet".to_owned(),
    };
    if unreachable {
        format!("{lag}, unreachable")
    } else {
        lag
    }
}

#[cfg(feature = "progress")]
mod with_bar {
    use std::io::IsTerminal as _;

    use std::sync::Arc;

    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    use crate::store::remote::Uploads;

    /// Boundaries per run when the bar's total is known.
    const UPDATES: u64 = 500;
    /// Iterations between boundaries when it is not.
    const UNKNOWN_TOTAL_STRIDE: u64 = 100;

    pub(crate) struct Progress {
        /// `None` when stderr is not a terminal.
        bar: Option<ProgressBar>,
        total: Option<u64>,
        /// "(resumed at N)", or empty.
        resumed: String,
        /// With a store: its lag is shown after `resumed`.
        store: Option<Arc<Uploads>>,
    }

    impl Progress {
        pub(crate) fn start(function: &str, resumed_at: Option<u64>) -> Progress {
            if !std::io::stderr().is_terminal() {
                return Progress {
                    bar: None,
                    total: None,
                    resumed: String::new(),
                    store: None,
                };
            }
            // Hidden until `set_total` says whether it has a length, and so which style.
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            bar.set_prefix(function.to_owned());
            let resumed = resumed_at.map_or_else(String::new, |index| {
                bar.set_position(index);
                bar.reset_eta();
                format!("(resumed at {index})")
            });
            bar.set_message(resumed.clone());
            Progress {
                bar: Some(bar),
                total: None,
                resumed,
                store: None,
            }
        }

        /// Shows how far the store is behind the loop, after each update.
        pub(crate) fn watch_store(&mut self, uploads: Arc<Uploads>) {
            if self.bar.is_some() {
                self.store = Some(uploads);
            }
        }

        /// The iterator's remaining length after `completed` iterations, if it knows it. The bar
        /// is drawn from here on, with its length (or none).
        pub(crate) fn set_total(&mut self, completed: u64, remaining: (usize, Option<usize>)) {
            let (lower, upper) = remaining;
            if upper == Some(lower) {
                self.total = Some(completed.saturating_add(lower as u64));
            }
            if let Some(bar) = &self.bar {
                // Without a total, no bar, length or ETA: the position and the rate.
                let template = match self.total {
                    Some(_) => {
                        "{prefix} [{bar:30}] {human_pos}/{human_len} {per_sec} ETA {eta} {msg}"
                    }
                    None => "{prefix} {human_pos} iterations {per_sec} {msg}",
                };
                let style = ProgressStyle::with_template(template)
                    .expect("a valid template")
                    .progress_chars("=> ");
                bar.set_style(style);
                bar.set_draw_target(ProgressDrawTarget::stderr());
                match self.total {
                    Some(total) => bar.set_length(total),
                    None => bar.tick(),
                }
            }
        }

        /// Iterations between boundaries, for a checkpoint every `every`.
        pub(crate) fn stride(&self, every: u64) -> u64 {
            if self.bar.is_none() {
                return every;
            }
            let step = match self.total {
                Some(total) => (total / UPDATES).max(1),
                None => UNKNOWN_TOTAL_STRIDE,
            };
            every.min(step)
        }

        #[inline]
        pub(crate) fn set(&self, completed: u64) {
            if let Some(bar) = &self.bar {
                bar.set_position(completed);
                if let Some(store) = &self.store {
                    let lag = super::store_text(completed, store.on_store());
                    let gap = if self.resumed.is_empty() { "" } else { " " };
                    bar.set_message(format!("{}{gap}{lag}", self.resumed));
                }
            }
        }

        pub(crate) fn finish(&mut self) {
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
            }
        }
    }
}

#[cfg(not(feature = "progress"))]
mod without_bar {
    /// No bar: the feature is off.
    pub(crate) struct Progress;

    impl Progress {
        #[inline(always)]
        pub(crate) fn start(_function: &str, _resumed_at: Option<u64>) -> Progress {
            Progress
        }

        #[inline(always)]
        pub(crate) fn set_total(&mut self, _completed: u64, _remaining: (usize, Option<usize>)) {}

        #[inline(always)]
        pub(crate) fn stride(&self, every: u64) -> u64 {
            every
        }

        #[inline(always)]
        pub(crate) fn set(&self, _completed: u64) {}

        #[inline(always)]
        pub(crate) fn watch_store(
            &mut self,
            _uploads: std::sync::Arc<crate::store::remote::Uploads>,
        ) {
        }

        #[inline(always)]
        pub(crate) fn finish(&mut self) {}
    }
}

#[cfg(all(test, feature = "progress"))]
mod tests {
    use super::store_text;

    #[test]
    fn the_store_lag_reads_as_iterations_behind_the_loop() {
        assert_eq!(store_text(5_000, (Some(3_000), false)), "store 2000 behind");
        assert_eq!(
            store_text(5_000, (Some(3_000), true)),
            "store 2000 behind, unreachable"
        );
        assert_eq!(store_text(10, (None, false)), "store: nothing uploaded yet");
    }
}
