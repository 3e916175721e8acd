//! Files a `#[resumable]` loop reads, which resume with one seek instead of reading again.
//!
//! - [`Lines`]: the lines of a file, like [`BufRead::lines`](std::io::BufRead::lines), with a
//!   [`Position`](crate::Position) (a byte offset, the line number and a fingerprint of the
//!   bytes before it) that resumes in O(1) and notices a file truncated or edited where it
//!   looks.
//!
//! This module owns its files and hashes; it uses nothing of the checkpoint machinery but
//! [`Error`](crate::Error) and the [`Position`](crate::Position) trait.

mod lines;

pub use lines::{Lines, LinesPosition};
