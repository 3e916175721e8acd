//! ndarray arrays as loop state (issue 26, the `ndarray` feature): `Array<f32 | f64 | u8 | i8, D>`
//! resumes to the uninterrupted run's values bit for bit, restored in bulk and in its memory
//! order (column-major, axes permuted: ndarray's serde keeps no layout, and a resume that
//! brought it back row-major could make a sum round differently); an array in no order of its
//! axes (a reversed axis) is refused at its checkpoint.

mod common;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use common::{find_checkpoint, fresh, panic_of, scratch};
use ndarray::{Array, Array1, Array2, Array3, IxDyn, ShapeBuilder};
use resumable::__private::decode_in_pieces;
use resumable::resumable;

static MATRIX_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static MIXED_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static MATRIX_RUNS: AtomicU64 = AtomicU64::new(0);

/// The index of `name`'s checkpoint.
fn saved(name: &str) -> Option<u64> {
    common::saved_index(&find_checkpoint(std::path::Path::new(".resumable"), name)?)
}

/// Values whose sum depends on the order it is taken in (magnitudes 1e-3 to 1e6).
fn value(i: usize, j: usize) -> f64 {
    let x = (i * 7919 + j * 104_729) as f64;
    (x * 0.618_033_988_749_895).fract() * 10f64.powi(((i + 3 * j) % 10) as i32 - 3)
}

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|x| x.to_bits()).collect()
}

/// A row-major matrix and a running total of its sums (a reduction in memory order).
#[resumable(every = 5, name = "ndarray-matrix", skip(MATRIX_RUNS))]
fn evolve(n: u64) -> (Array2<f64>, f64) {
    let mut a = Array2::from_shape_fn((37, 23), |(i, j)| value(i, j));
    let mut total = 0.0f64;
    for i in 0..n {
        MATRIX_RUNS.fetch_add(1, SeqCst);
        if MATRIX_FAIL_AT.load(SeqCst) == i {
            panic!("failing iteration {i}");
        }
        a.mapv_inplace(|x| x * 1.000_000_1 + 0.1);
        total += a.sum();
    }
    (a, total)
}

#[test]
fn a_matrix_resumes_to_the_same_bits_in_the_same_layout() {
    fresh("ndarray-matrix");
    let (uninterrupted, total) = evolve(40);
    fresh("ndarray-matrix");
    MATRIX_FAIL_AT.store(22, SeqCst);
    let message = panic_of(|| evolve(40));
    assert!(message.contains("failing iteration 22"), "{message}");
    assert_eq!(saved("ndarray-matrix"), Some(22));
    MATRIX_FAIL_AT.store(u64::MAX, SeqCst);
    MATRIX_RUNS.store(0, SeqCst);
    let (resumed, resumed_total) = evolve(40);
    assert_eq!(MATRIX_RUNS.load(SeqCst), 18, "iterations 22 to 39 only");
    assert_eq!(bits(&resumed), bits(&uninterrupted));
    assert_eq!(resumed_total.to_bits(), total.to_bits());
    assert_eq!(resumed.strides(), uninterrupted.strides());
    assert_eq!(resumed.sum().to_bits(), uninterrupted.sum().to_bits());
}

static FORTRAN_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// A column-major matrix as state, summed in memory order at every iteration.
#[resumable(every = 5, name = "ndarray-fortran")]
fn evolve_fortran(n: u64) -> (f64, Vec<isize>) {
    let mut a = Array2::from_shape_fn((37, 23).f(), |(i, j)| value(i, j));
    let mut total = 0.0f64;
    for i in 0..n {
        if FORTRAN_FAIL_AT.load(SeqCst) == i {
            panic!("failing iteration {i}");
        }
        a.mapv_inplace(|x| x * 1.000_000_1 + 0.1);
        total += a.sum();
    }
    (total, a.strides().to_vec())
}

/// A column-major array comes back column-major: the same values row-major sum to other
/// bits, so a resume that brought it back row-major (all ndarray's serde can) would change
/// the result, and this test would fail.
#[test]
fn a_column_major_array_resumes_column_major_to_the_same_bits() {
    let fortran = Array2::from_shape_fn((37, 23).f(), |(i, j)| value(i, j));
    let row_major = fortran.as_standard_layout().into_owned();
    assert_eq!(fortran, row_major);
    assert_ne!(
        fortran.sum().to_bits(),
        row_major.sum().to_bits(),
        "the order matters for these values"
    );

    fresh("ndarray-fortran");
    let (total, strides) = evolve_fortran(12);
    assert_eq!(strides, [1, 37]);
    fresh("ndarray-fortran");
    FORTRAN_FAIL_AT.store(8, SeqCst);
    panic_of(|| evolve_fortran(12));
    FORTRAN_FAIL_AT.store(u64::MAX, SeqCst);
    assert_eq!(saved("ndarray-fortran"), Some(8));
    let (resumed, resumed_strides) = evolve_fortran(12);
    assert_eq!(resumed.to_bits(), total.to_bits());
    assert_eq!(resumed_strides, [1, 37]);
}

static TURNED_FAIL_AT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Row-major until iteration 7 turns its axes (`swap_axes`): checkpoint 5 is row-major, the
/// one at 10 in the turned order, and a resume from it goes on in that order.
#[resumable(every = 5, name = "ndarray-turned")]
fn turned(n: u64) -> (f64, Vec<isize>) {
    let mut a = Array3::from_shape_fn((9, 4, 7), |(i, j, k)| value(i * 4 + j, k));
    let mut total = 0.0f64;
    for i in 0..n {
        if TURNED_FAIL_AT.load(SeqCst) == i {
            panic!("failing iteration {i}");
        }
        if i == 7 {
            a.swap_axes(0, 2);
        }
        a.mapv_inplace(|x| x * 0.999_9 + 1.0);
        total += a.sum();
    }
    (total, a.strides().to_vec())
}

#[test]
fn an_array_whose_axes_turn_during_the_loop_resumes_in_the_turned_order() {
    fresh("ndarray-turned");
    let (total, strides) = turned(20);
    assert_eq!(strides, [1, 7, 28]);
    fresh("ndarray-turned");
    TURNED_FAIL_AT.store(13, SeqCst);
    panic_of(|| turned(20));
    TURNED_FAIL_AT.store(u64::MAX, SeqCst);
    assert_eq!(saved("ndarray-turned"), Some(13));
    let (resumed, resumed_strides) = turned(20);
    assert_eq!(resumed.to_bits(), total.to_bits());
    assert_eq!(resumed_strides, strides);
}

/// A reversed axis: the memory holds the elements in no order of the axes, so the array is
/// refused at its checkpoint, with how to make it row-major.
#[resumable(every = 5, name = "ndarray-reversed")]
fn reversed(n: u64) -> f64 {
    let mut a = Array1::from_shape_fn(50, |i| value(i, 1));
    a.invert_axis(ndarray::Axis(0));
    for _ in 0..n {
        a.mapv_inplace(|x| x + 1.0);
    }
    a.sum()
}

#[test]
fn an_array_with_a_reversed_axis_is_refused_at_its_checkpoint() {
    fresh("ndarray-reversed");
    let text = panic_of(|| reversed(12));
    assert!(
        text.contains("state `a` does not survive its own checkpoint"),
        "{text}"
    );
    assert!(text.contains("other than row-major"), "{text}");
    assert!(text.contains("as_standard_layout"), "{text}");
    assert_eq!(saved("ndarray-reversed"), None, "nothing was written");
}

/// A column-major array of `u32`: its elements are not read in bulk, where the memory order
/// is restored, so it is refused at its checkpoint as before.
#[resumable(every = 5, name = "ndarray-fortran-u32")]
fn fortran_counts(n: u64) -> u32 {
    let mut a = Array2::from_shape_fn((4, 3).f(), |(i, j)| (i * 3 + j) as u32);
    for _ in 0..n {
        a.mapv_inplace(|x| x.wrapping_mul(3));
    }
    a.sum()
}

#[test]
fn a_column_major_array_of_other_elements_is_refused_at_its_checkpoint() {
    fresh("ndarray-fortran-u32");
    let text = panic_of(|| fortran_counts(12));
    assert!(text.contains("column-major (Fortran) order"), "{text}");
    assert_eq!(saved("ndarray-fortran-u32"), None, "nothing was written");
}

/// An `Array1<f32>` (2.4 MB: its checkpoints go out in several data frames), an
/// `Array<u8, IxDyn>` and an `Array3<i8>` as state.
#[resumable(every = 4, name = "ndarray-mixed")]
fn mixed(n: u64) -> (Array1<f32>, Array<u8, IxDyn>, Array3<i8>) {
    let mut floats = Array1::from_shape_fn(600_000, |i| i as f32 * 0.25);
    let mut bytes = Array::from_shape_fn(IxDyn(&[3, 4, 5, 2]), |ix| (ix[0] * 40 + ix[3]) as u8);
    let mut small = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i + j + k) as i8 - 4);
    for i in 0..n {
        if MIXED_FAIL_AT.load(SeqCst) == i {
            panic!("failing iteration {i}");
        }
        floats.mapv_inplace(|x| x.mul_add(1.001, f32::EPSILON));
        bytes.mapv_inplace(|b| b.wrapping_mul(31).wrapping_add(i as u8));
        small.mapv_inplace(|v| v.wrapping_mul(3).wrapping_sub(1));
    }
    (floats, bytes, small)
}

#[test]
fn arrays_of_f32_u8_and_i8_of_any_dimension_resume_to_the_same_values() {
    fresh("ndarray-mixed");
    let uninterrupted = mixed(30);
    fresh("ndarray-mixed");
    MIXED_FAIL_AT.store(17, SeqCst);
    let message = panic_of(|| mixed(30));
    assert!(message.contains("failing iteration 17"), "{message}");
    assert_eq!(saved("ndarray-mixed"), Some(17));
    MIXED_FAIL_AT.store(u64::MAX, SeqCst);
    let resumed = mixed(30);
    let float_bits = |a: &Array1<f32>| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(float_bits(&resumed.0), float_bits(&uninterrupted.0));
    assert_eq!(resumed.1, uninterrupted.1);
    assert_eq!(resumed.1.shape(), [3, 4, 5, 2]);
    assert_eq!(resumed.2, uninterrupted.2);
    assert!(resumed.1.is_standard_layout() && resumed.2.is_standard_layout());
}

#[test]
fn arrays_are_saved_and_loaded_and_a_load_as_another_type_is_refused() {
    let dir = scratch("ndarray-save-load");
    let path = dir.join("arrays.ckpt");
    let floats = Array1::from_shape_fn(100_000, |i| (i as f32).sqrt());
    resumable::save(&path, &floats).unwrap();
    let back: Array1<f32> = resumable::load(&path).unwrap().unwrap();
    assert_eq!(back, floats);

    let dynamic = Array::from_shape_fn(IxDyn(&[2, 3, 4]), |ix| (ix[0] + ix[1] * ix[2]) as u8);
    resumable::save(&path, &dynamic).unwrap();
    assert_eq!(
        resumable::load::<Array<u8, IxDyn>>(&path).unwrap(),
        Some(dynamic)
    );
    let err = resumable::load::<Array<i8, IxDyn>>(&path).unwrap_err();
    assert!(
        err.to_string().contains("was saved with different state"),
        "{err}"
    );

    let matrix = Array2::from_shape_fn((5, 7), |(i, j)| value(i, j));
    resumable::save(&path, &matrix).unwrap();
    let err = resumable::load::<Array2<f32>>(&path).unwrap_err();
    assert!(
        err.to_string().contains("was saved with different state"),
        "{err}"
    );
    let err = resumable::load::<Array3<f64>>(&path).unwrap_err();
    assert!(
        err.to_string().contains("was saved with different state"),
        "{err}"
    );
    let back: Array2<f64> = resumable::load(&path).unwrap().unwrap();
    assert_eq!(bits(&back), bits(&matrix));

    // A file cut short is refused, never read as a shorter array.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 9]).unwrap();
    assert!(resumable::load::<Array2<f64>>(&path).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

/// A checkpoint written before the bulk decode (ndarray's serde through postcard, the bytes
/// every save still writes) decodes in bulk to what postcard decodes, whatever pieces the file
/// is read in; cut, damaged or followed by a byte, it is refused, never read as another array.
#[test]
fn bytes_written_by_ndarray_serde_decode_as_before_and_damaged_ones_are_refused() {
    let matrix = Array2::from_shape_fn((64, 33), |(i, j)| value(i, j));
    let payload = postcard::to_allocvec(&matrix).unwrap();
    let old: Array2<f64> = postcard::from_bytes(&payload).unwrap();
    for piece_len in [1, 3, 7, 64, 4096, payload.len()] {
        let back: Array2<f64> = decode_in_pieces(&payload, piece_len).unwrap();
        assert_eq!(bits(&back), bits(&old), "pieces of {piece_len}");
        assert_eq!(back.strides(), old.strides());
    }
    let cube = Array3::from_shape_fn((4, 5, 6), |(i, j, k)| (i * 30 + j * 6 + k) as i8);
    let cube_bytes = postcard::to_allocvec(&cube).unwrap();
    assert_eq!(
        decode_in_pieces::<Array3<i8>>(&cube_bytes, 5).unwrap(),
        cube
    );

    let cut = &payload[..payload.len() - 1];
    assert!(decode_in_pieces::<Array2<f64>>(cut, 64).is_err());
    let mut longer = payload.clone();
    longer.push(0);
    assert!(decode_in_pieces::<Array2<f64>>(&longer, 64).is_err());
    // `dim` (64, 33) made (64, 34): the data no longer matches it.
    let mut wrong_dim = payload.clone();
    assert_eq!(wrong_dim[..3], [1, 64, 33]);
    wrong_dim[2] = 34;
    assert!(decode_in_pieces::<Array2<f64>>(&wrong_dim, 64).is_err());
    // A format version ndarray does not know.
    let mut version = payload.clone();
    version[0] = 2;
    assert!(decode_in_pieces::<Array2<f64>>(&version, 64).is_err());
}
