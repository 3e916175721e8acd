//! polars' `DataFrame` as loop state (the `polars` feature).
//!
//! A `#[resumable]` loop's state may be a `polars::prelude::DataFrame` that grows by rows
//! (`df.vstack_mut(&batch)?`, `df = df.vstack(&batch)?`): each checkpoint writes only the rows
//! added since the one before, as a growing `Vec` writes only its new elements, with nothing to
//! declare. `#[resumable(append(df))]` declares it, as for a `Vec`.
//!
//! # What is checked
//!
//! Found (no declaration): every checkpoint checks that the rows it saved before are still
//! there as they were, at memory speed (a 128-bit hash of each column's values, bit for bit, and
//! of where its nulls are), and that the columns' names, dtypes and order and the chunks over
//! the saved rows are the same. If anything differs (a saved row changed, a column dropped,
//! reordered or of another dtype, the frame shorter, `rechunk`), that checkpoint writes the
//! frame whole; a frame found changed at two checkpoints in a row is saved whole from then on,
//! unhashed. Never a wrong resume, at the cost of one pass over the saved rows per checkpoint.
//!
//! Declared (`append(df)`): each checkpoint checks, in O(new rows), that the columns are the
//! same (names, dtypes, order), that the frame did not shrink and that the last saved row did
//! not change; a violation stops the run with an error naming the binding, and the checkpoint
//! on disk stays as it was. As for a `Vec`, a change to an earlier row is not seen: declare only
//! a frame the loop appends to.
//!
//! Columns of nested, categorical, enum or object dtype are not hashed: a frame holding one is
//! saved whole at every checkpoint.
//!
//! # The chunks
//!
//! `vstack` appends the other frame's chunks rather than copying the rows into one buffer, and
//! some polars results depend on where the chunks are: a float column's `sum` adds each chunk's
//! sum, so the same numbers in other chunks can round differently. A restore therefore brings
//! every column back in the same chunks as the frame that was saved (the chunks' lengths are
//! saved with its rows; polars' serde alone merges small chunks), and a `sum` of a resumed
//! frame is the uninterrupted one's, bit for bit. The chunks' buffers are not the same: a
//! restored column's chunks are slices of one buffer per checkpoint (`rechunk` still makes
//! one chunk of them).
//!
//! # In the file
//!
//! The binding is saved as a sequence of pieces: each record appends one, the rows it added
//! (their chunks' lengths, then the rows in polars' own serde bytes: Arrow IPC), and a whole
//! save writes one piece of every row. Polars' sorted flags travel with the rows, as in polars'
//! serde. A checkpoint whose pieces do not decode, or do not join up (other columns, chunks
//! that do not add up to the rows), is refused as damaged, naming the file.

use std::any::Any;
use std::hash::Hasher as _;
use std::ops::Range;

use ::polars::prelude::{Column, DataFrame, Series};
use polars_arrow::array::{Array, BinaryViewArray, BooleanArray, PrimitiveArray, Utf8ViewArray};
use polars_arrow::datatypes::{PhysicalType, PrimitiveType};
use polars_arrow::types::NativeType;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::format::encode::VecFlavor;
use crate::format::hash::Hash128;
use crate::run::call::Restore;
use crate::run::save::Save;

/// What a save keeps of the frame it saved, to check the next save against.
struct Saved {
    /// The columns' names and dtypes, in order.
    schema: ::polars::prelude::SchemaRef,
    rows: usize,
    /// Per column, its chunks' lengths (empty chunks left out).
    chunks: Vec<Vec<u64>>,
    /// Two per column (its values, where its nulls are): found, of every saved row; declared,
    /// of the last one. `None` where a column's dtype is not hashed: saved whole next time.
    digests: Option<Vec<u128>>,
    /// Found: this save found the rows saved before it changed.
    missed: bool,
    /// Found changed at two saves in a row: saved whole from then on, unhashed.
    changing: bool,
}

/// One record's rows, as written: their chunks' lengths per column, then the rows (polars'
/// serde bytes of them, as `DataFrame`'s `Serialize` writes them).
struct PieceOut<'a> {
    chunks: &'a [Vec<u64>],
    frame: &'a DataFrame,
}

thread_local! {
    /// The buffer polars writes a piece's bytes into, kept between checkpoints: a fresh one
    /// each time (polars' `Serialize`) costs its growth and page faults again.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A scratch buffer bigger than this is let go after its piece (a whole save of a big frame).
const SCRATCH_KEPT: usize = 16 << 20;

impl Serialize for PieceOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeStruct as _};
        /// Bytes written as serde's byte string (what polars' `Serialize` writes).
        struct Bytes<'a>(&'a [u8]);
        impl Serialize for Bytes<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
        SCRATCH.with_borrow_mut(|bytes| {
            bytes.clear();
            self.frame
                .clone()
                .serialize_into_writer(bytes)
                .map_err(S::Error::custom)?;
            let mut piece = serializer.serialize_struct("PieceOut", 2)?;
            piece.serialize_field("chunks", self.chunks)?;
            piece.serialize_field("frame", &Bytes(bytes))?;
            let done = piece.end();
            if bytes.capacity() > SCRATCH_KEPT {
                *bytes = Vec::new();
            }
            done
        })
    }
}

/// [`PieceOut`] read back.
#[derive(Deserialize)]
struct Piece {
    chunks: Vec<Vec<u64>>,
    frame: DataFrame,
}

/// Saves a frame found growing (see the module docs).
pub(crate) fn save_frame(save: &mut Save<'_>, frame: &DataFrame) {
    save_rows(save, frame, false);
}

/// Saves a frame declared in `append(...)`.
pub(crate) fn save_appended(save: &mut Save<'_>, frame: &DataFrame) {
    save_rows(save, frame, true);
}

fn save_rows(save: &mut Save<'_>, frame: &DataFrame, declared: bool) {
    let height = frame.height();
    let mut hashers = vec![Hash128::default(); 2 * frame.width()];
    // Rows fed to `hashers` so far (found only).
    let mut hashed = 0;
    let (mut missed, mut changing) = (false, false);
    let previous = save
        .previous_rows()
        .and_then(|(pieces, check)| Some((pieces, check.downcast_ref::<Saved>()?)));
    // (pieces kept, rows kept): what this record continues.
    let kept = match previous {
        None => None,
        Some((_, saved)) if saved.changing => {
            changing = true;
            None
        }
        Some((pieces, saved)) if declared => {
            if let Some(problem) = not_appended(frame, saved) {
                return save.refuse_append(problem);
            }
            (saved.digests.is_some() && same_chunks(frame, saved)).then_some((pieces, saved.rows))
        }
        Some((pieces, saved)) => {
            let unchanged = **frame.schema() == *saved.schema
                && height >= saved.rows
                && same_chunks(frame, saved)
                && saved.digests.as_ref().is_some_and(|digests| {
                    feed(frame, 0..saved.rows, &mut hashers) && finish(&hashers) == *digests
                });
            if unchanged {
                hashed = saved.rows;
                Some((pieces, saved.rows))
            } else {
                hashers.fill(Hash128::default());
                missed = true;
                changing = saved.missed;
                None
            }
        }
    };
    // A new file holds every binding whole.
    let (from, rows) = match kept {
        Some(kept) if !save.starts_whole() => kept,
        _ => (0, 0),
    };
    let digests = if changing {
        None
    } else if declared {
        let mut last = vec![Hash128::default(); 2 * frame.width()];
        let fed = height == 0 || feed(frame, height - 1..height, &mut last);
        fed.then(|| finish(&last))
    } else {
        feed(frame, hashed..height, &mut hashers).then(|| finish(&hashers))
    };
    // A whole save writes one piece, even of no rows (it holds the columns); else one piece
    // of the new rows, if there are any.
    let to = if from == 0 || height > rows {
        from + 1
    } else {
        from
    };
    let chunks = chunk_lengths(frame, 0..height);
    let new_chunks = chunk_lengths(frame, rows..height);
    let new_rows = frame.slice(rows as i64, height - rows);
    let encode = |range: Range<usize>, out: &mut Vec<u8>| {
        if range.is_empty() {
            return Ok(());
        }
        let piece = PieceOut {
            chunks: &new_chunks,
            frame: &new_rows,
        };
        postcard::serialize_with_flavor(&piece, VecFlavor(out))
    };
    let check = Saved {
        schema: frame.schema().clone(),
        rows: height,
        chunks,
        digests,
        missed,
        changing,
    };
    save.pieces((from, to), Box::new(check), &encode);
}

/// Why a frame declared append-only is not the one saved before plus rows, if it is not.
fn not_appended(frame: &DataFrame, saved: &Saved) -> Option<String> {
    if **frame.schema() != *saved.schema {
        return Some(format!(
            "its columns changed: {} when it was saved, {} now",
            columns_text(&saved.schema),
            columns_text(frame.schema())
        ));
    }
    let height = frame.height();
    if height < saved.rows {
        return Some(format!("it shrank from {} to {height} rows", saved.rows));
    }
    let digests = saved.digests.as_ref()?;
    if saved.rows == 0 {
        return None;
    }
    let mut last = vec![Hash128::default(); 2 * frame.width()];
    let unchanged = feed(frame, saved.rows - 1..saved.rows, &mut last) && finish(&last) == *digests;
    (!unchanged).then(|| {
        format!(
            "its row {} changed after it was saved (only rows may be added to a frame in \
             `append(...)`)",
            saved.rows - 1
        )
    })
}

/// `[name: dtype, …]`.
fn columns_text(schema: &::polars::prelude::Schema) -> String {
    let columns: Vec<String> = schema
        .iter()
        .map(|(name, dtype)| format!("{name}: {dtype}"))
        .collect();
    format!("[{}]", columns.join(", "))
}

/// Whether every column's chunks over the rows `saved` holds are the ones it saved, and end
/// where those rows end (so the next rows start a chunk of their own).
fn same_chunks(frame: &DataFrame, saved: &Saved) -> bool {
    frame.width() == saved.chunks.len()
        && frame
            .columns()
            .iter()
            .zip(&saved.chunks)
            .all(|(column, lengths)| {
                let mut at = 0;
                let mut kept = 0;
                for len in column.as_materialized_series().chunk_lengths() {
                    if at == saved.rows {
                        break;
                    }
                    if len == 0 {
                        continue;
                    }
                    if lengths.get(kept) != Some(&(len as u64)) {
                        return false;
                    }
                    kept += 1;
                    at += len;
                }
                at == saved.rows && kept == lengths.len()
            })
}

/// Per column, the lengths of its chunks' parts within `rows` (empty ones left out).
fn chunk_lengths(frame: &DataFrame, rows: Range<usize>) -> Vec<Vec<u64>> {
    frame
        .columns()
        .iter()
        .map(|column| {
            let mut at = 0;
            let mut lengths = Vec::new();
            for len in column.as_materialized_series().chunk_lengths() {
                let part = (at + len).min(rows.end).saturating_sub(at.max(rows.start));
                if part > 0 {
                    lengths.push(part as u64);
                }
                at += len;
            }
            lengths
        })
        .collect()
}

/// The digests `feed` made.
fn finish(hashers: &[Hash128]) -> Vec<u128> {
    hashers.iter().map(Hash128::finish128).collect()
}

/// Feeds rows `rows` of every column to `hashers`, two per column: its values, bit for bit, in
/// row order whatever the chunks, and the rows where it is null. `false` if a column's dtype is
/// not hashed (nested, categorical, enum, object).
fn feed(frame: &DataFrame, rows: Range<usize>, hashers: &mut [Hash128]) -> bool {
    for (column, pair) in frame.columns().iter().zip(hashers.chunks_exact_mut(2)) {
        let dtype = column.dtype();
        if dtype.is_nested() || dtype.is_categorical() || dtype.is_enum() || dtype.is_object() {
            return false;
        }
        let [values, nulls] = pair else {
            unreachable!("chunks of two")
        };
        let part = column
            .as_materialized_series()
            .slice(rows.start as i64, rows.len());
        let mut row = rows.start as u64;
        for array in part.to_physical_repr().chunks() {
            if !feed_array(&**array, row, values, nulls) {
                return false;
            }
            row += array.len() as u64;
        }
    }
    true
}

/// Feeds one chunk, whose first row is `first_row` of the column.
fn feed_array(
    array: &dyn Array,
    first_row: u64,
    values: &mut Hash128,
    nulls: &mut Hash128,
) -> bool {
    if let Some(validity) = array.validity()
        && validity.unset_bits() > 0
    {
        for (i, valid) in validity.iter().enumerate() {
            if !valid {
                nulls.write(&(first_row + i as u64).to_le_bytes());
            }
        }
    }
    match array.dtype().to_physical_type() {
        PhysicalType::Null => true,
        PhysicalType::Boolean => {
            let Some(array) = array.as_any().downcast_ref::<BooleanArray>() else {
                return false;
            };
            let mut buf = Vec::with_capacity(BUF);
            for bit in array.values().iter() {
                buf.push(u8::from(bit));
                if buf.len() == BUF {
                    values.write(&buf);
                    buf.clear();
                }
            }
            values.write(&buf);
            true
        }
        PhysicalType::Primitive(primitive) => feed_primitive(array, primitive, values),
        PhysicalType::Utf8View => array
            .as_any()
            .downcast_ref::<Utf8ViewArray>()
            .is_some_and(|array| feed_bytes(array.values_iter().map(str::as_bytes), values)),
        PhysicalType::BinaryView => array
            .as_any()
            .downcast_ref::<BinaryViewArray>()
            .is_some_and(|array| feed_bytes(array.values_iter(), values)),
        _ => false,
    }
}

/// Bytes gathered before a hasher sees them: one call per buffer, not per value.
const BUF: usize = 1 << 16;

/// Each value's length, then its bytes.
fn feed_bytes<'a>(items: impl Iterator<Item = &'a [u8]>, values: &mut Hash128) -> bool {
    let mut buf = Vec::with_capacity(BUF);
    for item in items {
        buf.extend_from_slice(&(item.len() as u64).to_le_bytes());
        buf.extend_from_slice(item);
        if buf.len() >= BUF {
            values.write(&buf);
            buf.clear();
        }
    }
    values.write(&buf);
    true
}

fn feed_primitive(array: &dyn Array, primitive: PrimitiveType, values: &mut Hash128) -> bool {
    fn numbers<T: NativeType + bytemuck::Pod>(array: &dyn Array, values: &mut Hash128) -> bool {
        let Some(array) = array.as_any().downcast_ref::<PrimitiveArray<T>>() else {
            return false;
        };
        // The machine's byte order: digests are compared within a process only.
        values.write(bytemuck::cast_slice::<T, u8>(array.values()));
        true
    }
    match primitive {
        PrimitiveType::Int8 => numbers::<i8>(array, values),
        PrimitiveType::Int16 => numbers::<i16>(array, values),
        PrimitiveType::Int32 => numbers::<i32>(array, values),
        PrimitiveType::Int64 => numbers::<i64>(array, values),
        PrimitiveType::Int128 => numbers::<i128>(array, values),
        PrimitiveType::UInt8 => numbers::<u8>(array, values),
        PrimitiveType::UInt16 => numbers::<u16>(array, values),
        PrimitiveType::UInt32 => numbers::<u32>(array, values),
        PrimitiveType::UInt64 => numbers::<u64>(array, values),
        PrimitiveType::Float32 => numbers::<f32>(array, values),
        PrimitiveType::Float64 => numbers::<f64>(array, values),
        _ => false,
    }
}

/// The frame's pieces decoded and put back together, and how many there were.
struct Pieces {
    frame: DataFrame,
    count: u64,
}

impl<'de> Deserialize<'de> for Pieces {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Of;
        impl<'de> Visitor<'de> for Of {
            type Value = Pieces;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a polars DataFrame's pieces of rows")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pieces, A::Error> {
                use serde::de::Error as _;
                let mut frame = DataFrame::empty();
                let mut count = 0;
                // One piece at a time: each is appended, and its bytes freed, before the next.
                while let Some(piece) = seq.next_element::<Piece>()? {
                    let rows = rebuilt(piece).map_err(A::Error::custom)?;
                    frame.vstack_mut_owned(rows).map_err(A::Error::custom)?;
                    count += 1;
                }
                Ok(Pieces { frame, count })
            }
        }
        deserializer.deserialize_seq(Of)
    }
}

/// A piece's rows with each column in the chunks it was saved in: polars' serde merges small
/// chunks, so a column that came back otherwise is made one buffer, then sliced.
fn rebuilt(piece: Piece) -> Result<DataFrame, String> {
    let Piece { chunks, frame } = piece;
    let height = frame.height();
    if chunks.len() != frame.width() {
        return Err(format!(
            "a piece of rows has {} columns and the chunks of {}",
            frame.width(),
            chunks.len()
        ));
    }
    let mut columns = Vec::with_capacity(chunks.len());
    for (column, lengths) in frame.into_columns().into_iter().zip(chunks) {
        if lengths.iter().sum::<u64>() != height as u64 {
            return Err(format!(
                "a piece of {height} rows has chunks of {} rows",
                lengths.iter().sum::<u64>()
            ));
        }
        let series = column.take_materialized_series();
        let now: Vec<u64> = series
            .chunk_lengths()
            .filter(|&len| len > 0)
            .map(|len| len as u64)
            .collect();
        if now == lengths || lengths.is_empty() {
            columns.push(series.into());
            continue;
        }
        let whole = series.rechunk();
        let mut at = 0;
        let mut parts: Option<Series> = None;
        for len in lengths {
            let part = whole.slice(at as i64, len as usize);
            at += len;
            match &mut parts {
                None => parts = Some(part),
                Some(parts) => {
                    parts.append(&part).map_err(|err| err.to_string())?;
                }
            }
        }
        columns.push(Column::from(parts.expect("at least one chunk")));
    }
    DataFrame::new(height, columns).map_err(|err| err.to_string())
}

/// Restores a frame found growing over `place`.
pub(crate) fn load_frame(restore: &mut Restore, place: &mut DataFrame) -> Result<(), crate::Error> {
    *place = restored(restore, false)?;
    Ok(())
}

/// [`load_frame`] for a binding the function owns: the prelude's frame dropped first.
pub(crate) fn take_frame(restore: &mut Restore, old: DataFrame) -> Result<DataFrame, crate::Error> {
    drop(old);
    restored(restore, false)
}

/// [`load_frame`] as a value of its own (a binding behind the caller's `&mut`).
pub(crate) fn fresh_frame(restore: &mut Restore) -> Result<DataFrame, crate::Error> {
    restored(restore, false)
}

/// Restores a frame declared in `append(...)` over `place`.
pub(crate) fn load_appended(
    restore: &mut Restore,
    place: &mut DataFrame,
) -> Result<(), crate::Error> {
    *place = restored(restore, true)?;
    Ok(())
}

/// Decodes the frame and tells the run what was saved of it: the next save appends a piece,
/// after checking the rows (all of them, or the last if `declared`) against the restored ones.
fn restored(restore: &mut Restore, declared: bool) -> Result<DataFrame, crate::Error> {
    let Pieces { frame, count } = restore.value::<Pieces>()?;
    let height = frame.height();
    let mut hashers = vec![Hash128::default(); 2 * frame.width()];
    let rows = if declared {
        height.saturating_sub(1)..height
    } else {
        0..height
    };
    let digests = feed(&frame, rows, &mut hashers).then(|| finish(&hashers));
    let check = Saved {
        schema: frame.schema().clone(),
        rows: height,
        chunks: chunk_lengths(&frame, 0..height),
        digests,
        missed: false,
        changing: false,
    };
    restore.rows_restored(count, Box::new(check) as Box<dyn Any + Send + Sync>);
    Ok(frame)
}

/// The checkpoint's shape text of a frame binding: the format, and the columns of the frame on
/// entry, so that a checkpoint of a frame with other columns is refused before it is read.
pub(crate) fn frame_shape(frame: Option<&DataFrame>) -> String {
    match frame {
        Some(frame) if frame.width() > 0 => {
            format!("polars DataFrame by rows {}", columns_text(frame.schema()))
        }
        _ => "polars DataFrame by rows".into(),
    }
}

/// At the run's first checkpoint: the frame's first rows go through a piece's bytes and back
/// and must come back the same (dtypes, names, values bit for bit, chunks), or the save is
/// refused: a dtype polars' serde does not bring back would resume as something else.
pub(crate) fn check_frame(save: &mut Save<'_>, frame: &DataFrame) {
    let head = frame.slice(0, frame.height().min(64));
    if let Some(problem) = not_round_trip(&head) {
        save.refuse_round_trip(problem);
    }
}

fn not_round_trip(head: &DataFrame) -> Option<String> {
    let chunks = chunk_lengths(head, 0..head.height());
    let piece = PieceOut {
        chunks: &chunks,
        frame: head,
    };
    let bytes = match postcard::to_allocvec(&piece) {
        Ok(bytes) => bytes,
        Err(err) => return Some(format!("polars could not serialize it: {err}")),
    };
    let back = match postcard::from_bytes::<Piece>(&bytes)
        .map_err(|err| err.to_string())
        .and_then(rebuilt)
    {
        Ok(back) => back,
        Err(err) => return Some(format!("its rows do not decode: {err}")),
    };
    if back.schema() != head.schema() {
        return Some(format!(
            "its columns come back as {}, not {}",
            columns_text(back.schema()),
            columns_text(head.schema())
        ));
    }
    let digests = |frame: &DataFrame| {
        let mut hashers = vec![Hash128::default(); 2 * frame.width()];
        feed(frame, 0..frame.height(), &mut hashers).then(|| finish(&hashers))
    };
    if digests(&back) != digests(head) || chunk_lengths(&back, 0..back.height()) != chunks {
        return Some("its first rows come back with other values".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use ::polars::prelude::NamedFrom;

    use super::*;

    fn frame(ids: &[i64], x: &[f64], tags: &[Option<&str>]) -> DataFrame {
        DataFrame::new(
            ids.len(),
            vec![
                Column::new("id".into(), ids),
                Column::new("x".into(), x),
                Column::new("tag".into(), tags),
            ],
        )
        .unwrap()
    }

    /// Rows `from..to` of a test frame, in one chunk.
    fn rows(from: usize, to: usize) -> DataFrame {
        let ids: Vec<i64> = (from..to).map(|r| r as i64).collect();
        let x: Vec<f64> = (from..to).map(|r| r as f64 / 3.0).collect();
        let tags: Vec<Option<&str>> = (from..to)
            .map(|r| (r % 3 != 0).then_some(["a", "bb", "a longer text than twelve"][r % 3]))
            .collect();
        frame(&ids, &x, &tags)
    }

    fn digests(frame: &DataFrame, rows: Range<usize>) -> Option<Vec<u128>> {
        let mut hashers = vec![Hash128::default(); 2 * frame.width()];
        feed(frame, rows, &mut hashers).then(|| finish(&hashers))
    }

    fn chunked(pieces: &[(usize, usize)]) -> DataFrame {
        let mut df = DataFrame::empty();
        for &(from, to) in pieces {
            df.vstack_mut_owned(rows(from, to)).unwrap();
        }
        df
    }

    #[test]
    fn digests_follow_the_values_not_the_chunks() {
        let one = rows(0, 100);
        let three = chunked(&[(0, 10), (10, 55), (55, 100)]);
        assert_eq!(three.column("x").unwrap().n_chunks(), 3);
        assert_eq!(digests(&one, 0..100), digests(&three, 0..100));
        assert_eq!(digests(&one, 7..61), digests(&three, 7..61));
        // Fed in two parts, the same as in one: a save goes on from where it checked.
        let mut hashers = vec![Hash128::default(); 6];
        assert!(feed(&three, 0..40, &mut hashers) && feed(&three, 40..100, &mut hashers));
        assert_eq!(Some(finish(&hashers)), digests(&one, 0..100));
    }

    #[test]
    fn digests_see_every_bit_and_every_null() {
        let base = frame(&[1, 2], &[0.0, 1.0], &[Some("a"), None]);
        let negative_zero = frame(&[1, 2], &[-0.0, 1.0], &[Some("a"), None]);
        let null_moved = frame(&[1, 2], &[0.0, 1.0], &[None, Some("a")]);
        let text = frame(&[1, 2], &[0.0, 1.0], &[Some("b"), None]);
        let d = |df: &DataFrame| digests(df, 0..2).unwrap();
        assert_ne!(d(&base), d(&negative_zero), "0.0 and -0.0 differ");
        assert_ne!(d(&base), d(&null_moved));
        assert_ne!(d(&base), d(&text));
        assert_eq!(d(&base), d(&base.clone()));
    }

    #[test]
    fn nested_columns_are_not_hashed() {
        let lists = DataFrame::new(
            1,
            vec![Column::new(
                "l".into(),
                [Series::new("".into(), [1i64, 2])].as_slice(),
            )],
        )
        .unwrap();
        assert_eq!(digests(&lists, 0..1), None);
    }

    #[test]
    fn chunk_lengths_within_rows() {
        let df = chunked(&[(0, 10), (10, 55), (55, 100)]);
        assert_eq!(chunk_lengths(&df, 0..100)[0], [10, 45, 45]);
        assert_eq!(chunk_lengths(&df, 5..60)[1], [5, 45, 5]);
        assert_eq!(chunk_lengths(&df, 10..55)[2], [45]);
    }

    /// Pieces as a checkpoint holds them (a postcard sequence), decoded as a resume does.
    fn through_pieces(pieces: &[DataFrame]) -> Result<Pieces, postcard::Error> {
        let mut bytes = Vec::new();
        crate::format::encode::push_varint(&mut bytes, pieces.len() as u128);
        for piece in pieces {
            let chunks = chunk_lengths(piece, 0..piece.height());
            let out = PieceOut {
                chunks: &chunks,
                frame: piece,
            };
            postcard::serialize_with_flavor(&out, VecFlavor(&mut bytes))?;
        }
        postcard::from_bytes(&bytes)
    }

    #[test]
    fn pieces_come_back_as_one_frame_in_the_chunks_saved() {
        let first = chunked(&[(0, 10), (10, 30), (30, 31)]);
        let second = chunked(&[(31, 40), (40, 90)]);
        let back = through_pieces(&[DataFrame::empty(), first.clone(), second.clone()]);
        let Pieces { frame, count } = back.unwrap();
        assert_eq!(count, 3);
        let mut expected = first;
        expected.vstack_mut_owned(second).unwrap();
        assert!(frame.equals_missing(&expected));
        assert_eq!(frame.schema(), expected.schema());
        for (column, wanted) in frame.columns().iter().zip(expected.columns()) {
            let got: Vec<usize> = column.as_materialized_series().chunk_lengths().collect();
            let want: Vec<usize> = wanted.as_materialized_series().chunk_lengths().collect();
            assert_eq!(got, want, "{}", column.name());
        }
        assert_eq!(digests(&frame, 0..90), digests(&expected, 0..90));
    }

    #[test]
    fn a_frame_of_no_rows_keeps_its_columns() {
        let empty = rows(0, 0);
        let Pieces { frame, count } = through_pieces(std::slice::from_ref(&empty)).unwrap();
        assert_eq!(count, 1);
        assert_eq!(frame.schema(), empty.schema());
        assert_eq!(frame.height(), 0);
    }

    #[test]
    fn chunks_that_do_not_add_up_are_refused() {
        let piece = Piece {
            chunks: vec![vec![3], vec![2], vec![3]],
            frame: rows(0, 3),
        };
        let err = rebuilt(piece).unwrap_err();
        assert!(
            err.contains("a piece of 3 rows has chunks of 2 rows"),
            "{err}"
        );
        let piece = Piece {
            chunks: vec![vec![3]],
            frame: rows(0, 3),
        };
        assert!(
            rebuilt(piece)
                .unwrap_err()
                .contains("3 columns and the chunks of 1")
        );
    }

    #[test]
    fn the_round_trip_check_passes_the_usual_dtypes() {
        assert_eq!(not_round_trip(&chunked(&[(0, 10), (10, 64)])), None);
        assert_eq!(not_round_trip(&DataFrame::empty()), None);
    }
}
