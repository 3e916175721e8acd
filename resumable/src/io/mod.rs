//! Files a `#[resumable]` loop reads and writes, which resume where the checkpoint left them.
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
//! - [`Output`]: a file written like a [`BufWriter`](std::io::BufWriter) of a
//!   [`File`](std::fs::File), whose length each checkpoint saves (and makes durable with it):
//!   a resume cuts the file back to that length and writes on, so the output is the
//!   uninterrupted run's byte for byte.
//!
//! The readers use nothing of the checkpoint machinery but [`Error`](crate::Error) and the
//! [`Position`](crate::Position) trait. `Output` is state like any other binding (serde); the
//! runtime tells it when a restore is replacing it and collects its file for the checkpoint's
//! sync (`run::outputs`).

#[cfg(feature = "csv")]
mod csv;
mod lines;
mod output;
mod records;
mod split;
#[cfg(test)]
mod temp;

#[cfg(feature = "csv")]
pub use self::csv::{Csv, CsvPosition};
pub use lines::{Lines, LinesPosition};
pub use output::Output;
pub use records::Records;
pub use split::FilePosition;
