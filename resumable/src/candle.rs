//! candle's tensors as loop state and in saved bundles (the `candle` feature).
//!
//! A `#[resumable]` loop's state may be a `candle_core::Var` (a model's weights) or a
//! `candle_core::Tensor`: `let mut w = Var::zeros((16, 1), DType::F32, &dev)?` is saved at each
//! checkpoint and restored on resume bit for bit, with its dtype, shape and device. A `Var` is
//! restored **in place** (`Var::set`), so every clone of it (the one an optimizer holds, the
//! one a model's layer holds) sees the restored weights, as they would have seen the weights of
//! the uninterrupted run. A `Var` or `Tensor` declared without `mut` is not state: the loop
//! may read it, and its bytes are hashed at each checkpoint, so one the loop changes (through
//! `Var::set`) is refused at the next checkpoint, before it is saved: declare it `let mut`. A
//! tensor behind a `&mut` parameter is refused at compile time: a resume would have to decode
//! it whole, without the dtype and dims of a value to restore into.
//!
//! A state tensor's data is saved as the runtime's bulk path reads it back (an `f32` or `f64`
//! tensor as a `Vec` of its numbers, straight from the tensor's memory; any other dtype as its
//! bytes in safetensors' layout, the field's format for tensors: little-endian, in logical
//! order); its dtype and dims are in the checkpoint's shape text, so a checkpoint of a tensor
//! of another dtype or shape is refused before anything is read, and data of another length is
//! refused as a damaged checkpoint. A resume holds a `Var` about twice (its storage and the
//! decoded numbers, which `Var::set` copies in); a `Tensor` once.
//!
//! For a bundle saved with [`save`](crate::save) and [`load`](crate::load), a tensor field takes
//! `#[serde(with = "resumable::candle::tensor")]` (or `…::var` for a `Var`); it loads onto the
//! CPU.

use std::borrow::Cow;

use candle_core::{DType, Device, Tensor, Var};
use safetensors::View;

use crate::run::call::Restore;
use crate::run::save::Save;

/// A tensor in a bundle: its header and bytes, as one byte string: `(dtype, dims)` in
/// postcard, then the data.
fn encode(tensor: &Tensor) -> Vec<u8> {
    let header = postcard::to_allocvec(&(tensor.dtype().as_str(), tensor.dims()))
        .expect("a dtype name and a list of dims serialize");
    with_data(tensor, |data| {
        let mut bytes = Vec::with_capacity(header.len() + data.len());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(data);
        bytes
    })
}

/// `tensor`'s data in safetensors' layout, handed to `read`: the tensor's own memory where it
/// is that already (a contiguous tensor of plain numbers on the CPU of a little-endian
/// machine), else a copy (candle's `View::data`, which brings a tensor on a GPU over first).
fn with_data<R>(tensor: &Tensor, read: impl FnOnce(&[u8]) -> R) -> R {
    use candle_core::{CpuStorage, Storage};
    if cfg!(target_endian = "little") {
        let (storage, layout) = tensor.storage_and_layout();
        if let (Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets()) {
            let own: Option<&[u8]> = match cpu {
                CpuStorage::U8(v) => Some(&v[start..end]),
                CpuStorage::U32(v) => Some(bytemuck::cast_slice(&v[start..end])),
                CpuStorage::I16(v) => Some(bytemuck::cast_slice(&v[start..end])),
                CpuStorage::I32(v) => Some(bytemuck::cast_slice(&v[start..end])),
                CpuStorage::I64(v) => Some(bytemuck::cast_slice(&v[start..end])),
                CpuStorage::F32(v) => Some(bytemuck::cast_slice(&v[start..end])),
                CpuStorage::F64(v) => Some(bytemuck::cast_slice(&v[start..end])),
                _ => None,
            };
            if let Some(own) = own {
                return read(own);
            }
        }
    }
    let data: Cow<'_, [u8]> = View::data(&tensor);
    read(&data)
}

/// The tensor [`encode`] wrote, on `device`; the problem in words if the bytes do not hold one.
fn decode(bytes: &[u8], device: &Device) -> Result<Tensor, String> {
    let ((dtype, dims), data): ((String, Vec<usize>), _) = postcard::take_from_bytes(bytes)
        .map_err(|err| format!("a tensor's header does not decode ({err})"))?;
    let dtype: DType = dtype
        .parse()
        .map_err(|_| format!("a tensor's dtype `{dtype}` is not one candle knows"))?;
    let elements = dims
        .iter()
        .try_fold(1usize, |n, &dim| n.checked_mul(dim))
        .ok_or("a tensor's dims overflow")?;
    // Sub-byte dtypes (f4, f6) are stored one byte per element by candle.
    let expected = elements.checked_mul(dtype.size_in_bytes().max(1));
    if expected != Some(data.len()) {
        return Err(format!(
            "a tensor of dtype {} and dims {dims:?} is {} bytes, but {} were saved",
            dtype.as_str(),
            expected.map_or("too many".to_owned(), |n| n.to_string()),
            data.len()
        ));
    }
    Tensor::from_raw_buffer(data, dtype, &dims, device)
        .map_err(|err| format!("candle cannot make the saved tensor ({err})"))
}

/// A watched tensor's fingerprint: the hash of its dtype, dims and data (all of it: a `Var`
/// changed anywhere must not pass as unchanged).
pub(crate) fn fingerprint(tensor: &Tensor) -> u64 {
    use std::hash::Hasher as _;
    hasher_over(tensor).finish()
}

/// A tensor argument's part of the checkpoint's key: the same hash, 128 bits (its `Debug` text
/// shows only its dtype and dims, so two calls with other weights would share a key).
pub(crate) fn key_fingerprint(tensor: &Tensor) -> u128 {
    let mut hasher = hasher_over(tensor);
    std::hash::Hasher::write(&mut hasher, b"candle");
    hasher.finish128()
}

/// A hasher fed `tensor`'s dtype, dims and data.
fn hasher_over(tensor: &Tensor) -> crate::format::hash::Hash128 {
    use std::hash::Hasher as _;
    let mut hasher = crate::format::hash::Hash128::new();
    hasher.write(tensor.dtype().as_str().as_bytes());
    for dim in tensor.dims() {
        hasher.write(&dim.to_le_bytes());
    }
    with_data(tensor, |data| hasher.write(data));
    hasher
}

/// The structure a checkpoint records for a tensor binding: a checkpoint of a tensor of another
/// dtype or shape is refused as saved with different state, before anything is restored.
fn shape_text(kind: &str, tensor: Option<&Tensor>) -> String {
    match tensor {
        Some(tensor) => format!(
            "candle {kind}<{}>{:?}",
            tensor.dtype().as_str(),
            tensor.dims()
        ),
        None => format!("candle {kind}"),
    }
}

/// A state tensor's data, written as the runtime's bulk path reads it back: an `f32` or `f64`
/// tensor as a `Vec` of its numbers, any other as a `Vec<u8>` of its bytes. No header: the
/// checkpoint's shape text holds the dtype and dims (see `shape_text`), and a checkpoint of
/// others is refused before its state is read.
pub(crate) fn save_tensor(save: &mut Save<'_>, tensor: &Tensor) {
    match tensor.dtype() {
        DType::F32 => with_numbers::<f32>(tensor, |numbers| save.value(numbers)),
        DType::F64 => with_numbers::<f64>(tensor, |numbers| save.value(numbers)),
        _ => with_data(tensor, |bytes| save.value(bytes)),
    }
}

/// `tensor`'s numbers in order, handed to `read`: its own memory where it is contiguous on the
/// CPU, else a copy.
fn with_numbers<T: candle_core::WithDType>(tensor: &Tensor, read: impl FnOnce(&[T])) {
    {
        let (storage, layout) = tensor.storage_and_layout();
        if let (candle_core::Storage::Cpu(cpu), Some((start, end))) =
            (&*storage, layout.contiguous_offsets())
            && let Ok(numbers) = T::cpu_storage_as_slice(cpu)
        {
            return read(&numbers[start..end]);
        }
    }
    let numbers = tensor
        .flatten_all()
        .and_then(|flat| flat.to_vec1::<T>())
        .expect("a tensor's numbers can be read in its own dtype");
    read(&numbers);
}

/// The next value, `elements` numbers of an `f32` or `f64` tensor (read by the bulk path);
/// the damage `wrong` describes if there are not that many.
fn numbers<T: serde::de::DeserializeOwned>(
    restore: &mut Restore,
    elements: usize,
    wrong: &dyn Fn(usize, &str) -> String,
) -> Result<Vec<T>, crate::Error> {
    let numbers: Vec<T> = restore.value()?;
    if numbers.len() != elements {
        return Err(restore.damaged(wrong(numbers.len(), "numbers")));
    }
    Ok(numbers)
}

/// The tensor saved by [`save_tensor`], of `dtype` and `dims` (the checkpoint's shape text
/// matched them), on `device`.
fn read_data(
    restore: &mut Restore,
    dtype: DType,
    dims: &[usize],
    device: &Device,
) -> Result<Tensor, crate::Error> {
    let elements: usize = dims.iter().product();
    let wrong = |found: usize, unit: &str| {
        format!(
            "a tensor of dtype {} and dims {dims:?} has {elements} elements, but {found} {unit} \
             were saved",
            dtype.as_str()
        )
    };
    let made = match dtype {
        DType::F32 => Tensor::from_vec(numbers::<f32>(restore, elements, &wrong)?, dims, device),
        DType::F64 => Tensor::from_vec(numbers::<f64>(restore, elements, &wrong)?, dims, device),
        _ => {
            let bytes: Vec<u8> = restore.value()?;
            if Some(bytes.len()) != elements.checked_mul(dtype.size_in_bytes().max(1)) {
                return Err(restore.damaged(wrong(bytes.len(), "bytes")));
            }
            Tensor::from_raw_buffer(&bytes, dtype, dims, device)
        }
    };
    made.map_err(|err| restore.damaged(format!("candle cannot make the saved tensor ({err})")))
}

// What a `Tensor` or `Var` state binding's codec does (`__private::codecs` puts them together).

/// Restores a `Tensor` binding over `place`, of its dtype, dims and device.
pub(crate) fn load_tensor(restore: &mut Restore, place: &mut Tensor) -> Result<(), crate::Error> {
    let (dtype, dims, device) = (place.dtype(), place.dims().to_vec(), place.device().clone());
    *place = read_data(restore, dtype, &dims, &device)?;
    Ok(())
}

/// Restores a `Tensor` binding in place of `old`, which goes first: a resume holds the tensor
/// once.
pub(crate) fn take_tensor(restore: &mut Restore, old: Tensor) -> Result<Tensor, crate::Error> {
    let (dtype, dims, device) = (old.dtype(), old.dims().to_vec(), old.device().clone());
    drop(old);
    read_data(restore, dtype, &dims, &device)
}

/// The shape text of a `Tensor` binding.
pub(crate) fn tensor_shape(tensor: Option<&Tensor>) -> String {
    shape_text("Tensor", tensor)
}

/// Saves a `Var` binding.
pub(crate) fn save_var(save: &mut Save<'_>, var: &Var) {
    save_tensor(save, var.as_tensor());
}

/// Restores a `Var` binding in place, so its clones see the restored value.
pub(crate) fn load_var(restore: &mut Restore, place: &mut Var) -> Result<(), crate::Error> {
    set(restore, place)
}

/// [`load_var`] for a binding the function owns.
pub(crate) fn take_var(restore: &mut Restore, old: Var) -> Result<Var, crate::Error> {
    set(restore, &old)?;
    Ok(old)
}

/// The shape text of a `Var` binding.
pub(crate) fn var_shape(var: Option<&Var>) -> String {
    shape_text("Var", var.map(Var::as_tensor))
}

/// Decodes the saved tensor whole, then copies it into `var`'s storage.
fn set(restore: &mut Restore, var: &Var) -> Result<(), crate::Error> {
    let tensor = read_data(restore, var.dtype(), var.dims(), var.device())?;
    var.set(&tensor)
        .map_err(|err| restore.damaged(format!("the saved weights do not fit the `Var` ({err})")))
}

/// `#[serde(with = "resumable::candle::tensor")]`: a `Tensor` field of a bundle, as its dtype,
/// dims and safetensors bytes; it loads onto the CPU.
pub mod tensor {
    use candle_core::{Device, Tensor};
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    use crate::candle::{decode, encode};

    /// Writes `tensor` as one byte string.
    ///
    /// # Errors
    /// Only the serializer's own.
    pub fn serialize<S: Serializer>(tensor: &Tensor, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&encode(tensor))
    }

    /// Reads a tensor written by [`serialize`], onto the CPU.
    ///
    /// # Errors
    /// If the bytes do not hold a tensor (a header that does not parse, data of another length
    /// than its dtype and dims).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tensor, D::Error> {
        let bytes = deserializer.deserialize_byte_buf(Bytes)?;
        decode(&bytes, &Device::Cpu).map_err(serde::de::Error::custom)
    }

    /// A byte string, taken whole where the format has byte strings (postcard: one copy), else
    /// as a sequence of bytes (JSON's array of numbers).
    struct Bytes;

    impl<'de> Visitor<'de> for Bytes {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a tensor's bytes")
        }

        fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(byte) = seq.next_element()? {
                bytes.push(byte);
            }
            Ok(bytes)
        }
    }
}

/// `#[serde(with = "resumable::candle::var")]`: a `Var` field of a bundle, as
/// [`tensor`] writes it; it loads onto the CPU as a new `Var`.
pub mod var {
    use candle_core::Var;
    use serde::{Deserializer, Serializer};

    use crate::candle::tensor;

    /// Writes `var`'s tensor as one byte string.
    ///
    /// # Errors
    /// Only the serializer's own.
    pub fn serialize<S: Serializer>(var: &Var, serializer: S) -> Result<S::Ok, S::Error> {
        tensor::serialize(var.as_tensor(), serializer)
    }

    /// Reads a `Var` written by [`serialize`], onto the CPU.
    ///
    /// # Errors
    /// As [`tensor::deserialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Var, D::Error> {
        let tensor = tensor::deserialize(deserializer)?;
        Var::from_tensor(&tensor).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_comes_back_bit_for_bit_with_its_shape() {
        let base = Tensor::arange(0f32, 24., &Device::Cpu)
            .unwrap()
            .affine(0.37, -1.1)
            .unwrap()
            .reshape((2, 3, 4))
            .unwrap();
        for dtype in [
            DType::U8,
            DType::U32,
            DType::I64,
            DType::BF16,
            DType::F16,
            DType::F32,
            DType::F64,
        ] {
            let tensor = base.to_dtype(dtype).unwrap();
            let back = decode(&encode(&tensor), &Device::Cpu).unwrap();
            assert_eq!(back.dtype(), dtype);
            assert_eq!(back.dims(), &[2, 3, 4]);
            assert_eq!(View::data(&&back), View::data(&&tensor), "{dtype:?}");
        }
    }

    #[test]
    fn a_view_into_a_larger_tensor_saves_only_its_own_elements() {
        let whole = Tensor::arange(0f32, 12., &Device::Cpu)
            .unwrap()
            .reshape((4, 3))
            .unwrap();
        // Rows 1 and 2: contiguous, at an offset into the storage.
        let rows = whole.narrow(0, 1, 2).unwrap();
        let back = decode(&encode(&rows), &Device::Cpu).unwrap();
        assert_eq!(
            back.to_vec2::<f32>().unwrap(),
            vec![vec![3., 4., 5.], vec![6., 7., 8.]]
        );
        for dtype in [DType::BF16, DType::F16, DType::I64] {
            let typed = rows.to_dtype(dtype).unwrap();
            let back = decode(&encode(&typed), &Device::Cpu).unwrap();
            assert_eq!(View::data(&&back), View::data(&&typed), "{dtype:?}");
        }
    }

    #[test]
    fn a_non_contiguous_tensor_is_saved_in_its_logical_order() {
        let tensor = Tensor::arange(0f64, 6., &Device::Cpu)
            .unwrap()
            .reshape((2, 3))
            .unwrap()
            .t()
            .unwrap();
        let back = decode(&encode(&tensor), &Device::Cpu).unwrap();
        assert_eq!(
            back.to_vec2::<f64>().unwrap(),
            tensor.to_vec2::<f64>().unwrap()
        );
    }

    #[test]
    fn bytes_that_do_not_hold_a_tensor_are_refused() {
        let tensor = Tensor::ones((4, 4), DType::F32, &Device::Cpu).unwrap();
        let bytes = encode(&tensor);
        let short = decode(&bytes[..bytes.len() - 1], &Device::Cpu).unwrap_err();
        assert!(short.contains("is 64 bytes, but 63 were saved"), "{short}");
        let mut renamed = bytes.clone();
        // The dtype's name: its length byte, then `f32`.
        renamed[1..4].copy_from_slice(b"q32");
        let unknown = decode(&renamed, &Device::Cpu).unwrap_err();
        assert!(
            unknown.contains("`q32` is not one candle knows"),
            "{unknown}"
        );
        assert!(decode(&[], &Device::Cpu).unwrap_err().contains("header"));
    }
}
