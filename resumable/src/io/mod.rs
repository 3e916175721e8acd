//! Files a `#[resumable]` loop reads, which resume with one seek instead of reading again.
//!
//! - [`Lines`]: the lines of a file, like [`BufRead::lines`](std::io::BufRead::lines).
//! - [`Records`]: the records of a file separated by a delimiter byte (`\0`, `\x1e`, …), like
//!   [`BufRead::split`](std::io::BufRead::split).
//! - `Csv` (the `csv` feature): the records of a CSV file, deserialized by the `csv` crate.
//!
//! Each has a [`Position`](crate::Position): a byte offset, the number of lines or records
//! before it and a fingerprint of the bytes before it (a [`FilePosition`]), which resumes in
//! O(1) and notices a file truncated or edited where it looks.
//!
//! This module owns its files and hashes; it uses nothing of the checkpoint machinery but
//! [`Error`](crate::Error) and the [`Position`](crate::Position) trait.

#[cfg(feature = "csv")]
mod csv;
mod lines;
mod records;
mod split;

#[cfg(feature = "csv")]
pub use self::csv::{Csv, CsvPosition};
pub use lines::{Lines, LinesPosition};
pub use records::Records;
pub use split::FilePosition;
