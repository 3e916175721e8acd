//! The memory order of an ndarray array as loop state. Its serde writes the elements in logical
//! order and no strides, and a restore builds a row-major array; an array in another order
//! would come back with the same values in another order in memory, and whatever goes through
//! its memory in order (`sum`, `fold`, `Zip`, `as_slice_memory_order`) could round or run
//! differently after a resume. So an array whose memory is its elements in some order of its
//! axes (column-major, axes permuted) is saved with that order ([`memory_order`], the format's
//! `PERMUTED_VERSION`) and restored in it ([`back_in_order`]); one in no such order (a reversed
//! axis, gaps), or whose elements are not read in bulk, is refused at its checkpoint.

use serde::Serialize;
use serde::ser::SerializeStruct;

/// A row-major array's elements and shape, serialized to the bytes ndarray's serde writes for
/// it (postcard keeps no names: the fields in order), from the slice of its elements rather
/// than through ndarray's element iterator: a checkpoint of 100 MB of `f32` then takes as long
/// as a `Vec`'s.
pub(crate) struct RowMajor<'a, A, D> {
    pub(crate) dim: D,
    pub(crate) data: &'a [A],
}

impl<A, D: Serialize> RowMajor<'_, A, D> {
    /// The bytes before the elements: the format version, the shape, the elements' count.
    pub(crate) fn head(&self) -> postcard::Result<Vec<u8>> {
        let mut head = postcard::to_allocvec(&(ARRAY_FORMAT_VERSION, &self.dim))?;
        crate::format::encode::push_varint(&mut head, self.data.len() as u128);
        Ok(head)
    }
}

/// ndarray's serde format version (`ARRAY_FORMAT_VERSION`, private to it); a test checks the
/// bytes are ndarray's.
const ARRAY_FORMAT_VERSION: u8 = 1;

impl<A: Serialize, D: Serialize> Serialize for RowMajor<'_, A, D> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut array = serializer.serialize_struct("Array", 3)?;
        array.serialize_field("v", &ARRAY_FORMAT_VERSION)?;
        array.serialize_field("dim", &self.dim)?;
        array.serialize_field("data", self.data)?;
        array.end()
    }
}

/// Why an array of this shape and these strides would not come back as it is, if it would
/// not: its strides differ from a row-major array's on an axis longer than 1 (an axis of
/// length 1, or an array with no elements, has no order in memory to lose).
pub(crate) fn not_row_major(shape: &[usize], strides: &[isize]) -> Option<String> {
    if shape.contains(&0) {
        return None;
    }
    let mut row_major = vec![0isize; shape.len()];
    let mut step = 1isize;
    for (axis, &len) in shape.iter().enumerate().rev() {
        row_major[axis] = step;
        step = step.saturating_mul(isize::try_from(len).unwrap_or(isize::MAX));
    }
    let kept = shape
        .iter()
        .zip(strides.iter().zip(&row_major))
        .all(|(&len, (stride, row_major))| len <= 1 || stride == row_major);
    if kept {
        return None;
    }
    let order = if shape.len() > 1
        && strides
            .iter()
            .zip(shape)
            .all(|(&s, &len)| len <= 1 || s > 0)
        && strides.first() == Some(&1)
    {
        "column-major (Fortran) order"
    } else {
        "a memory order other than row-major"
    };
    Some(format!(
        "it is an ndarray array in {order} (shape {shape:?}, strides {strides:?}), which a \
         resume would bring back row-major (strides {row_major:?}): a sum or any pass over its \
         memory could then round differently. Keep it row-major: `Array::zeros(shape)` rather \
         than `shape.f()`, and `.as_standard_layout().into_owned()` after `reversed_axes`, \
         `swap_axes` or `t().to_owned()`"
    ))
}

/// The order of an array's axes in memory, outermost first, if its elements fill its memory
/// in that order: the array over its axes in this order is then row-major, and its memory is
/// its data as it is. `None` for a reversed axis or gaps between elements.
pub(crate) fn memory_order(shape: &[usize], strides: &[isize]) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..shape.len()).collect();
    // Longest stride outermost; where an axis of length 1 lands does not matter.
    order.sort_by_key(|&axis| std::cmp::Reverse(strides[axis]));
    let shape: Vec<usize> = order.iter().map(|&axis| shape[axis]).collect();
    let strides: Vec<isize> = order.iter().map(|&axis| strides[axis]).collect();
    not_row_major(&shape, &strides).is_none().then_some(order)
}

/// `D`'s value holding `axes`.
pub(crate) fn axes<D: ndarray::Dimension>(axes: &[usize]) -> D {
    let mut dim = D::zeros(axes.len());
    for (at, &axis) in axes.iter().enumerate() {
        dim[at] = axis;
    }
    dim
}

/// The array `saved` (row-major over the axes in the memory `order` it was saved with) over
/// its own axes again, in the memory order it had; the problem in words if `order` is not an
/// order of its axes (a damaged checkpoint).
pub(crate) fn back_in_order<S: ndarray::RawData, D: ndarray::Dimension>(
    saved: ndarray::ArrayBase<S, D>,
    order: &[usize],
) -> Result<ndarray::ArrayBase<S, D>, String> {
    let mut inverse = vec![usize::MAX; order.len()];
    for (at, &axis) in order.iter().enumerate() {
        match inverse.get_mut(axis) {
            Some(slot) if *slot == usize::MAX => *slot = at,
            _ => break,
        }
    }
    if order.len() != saved.ndim() || inverse.contains(&usize::MAX) {
        return Err(format!(
            "an array of {} axes was saved in the memory order {order:?}, which is not an \
             order of its axes",
            saved.ndim()
        ));
    }
    Ok(saved.permuted_axes(axes::<D>(&inverse)))
}

#[cfg(test)]
mod tests {
    use ndarray::{Array, Array0, Array1, Array2, Array3, IxDyn};

    use super::*;

    /// The bytes ndarray's serde writes, and the same shape with another element type.
    #[test]
    fn a_row_major_array_is_written_as_ndarray_writes_it() {
        fn same<A: Serialize + Clone, D: ndarray::Dimension + Serialize>(array: &Array<A, D>) {
            let ours = RowMajor {
                dim: array.raw_dim(),
                data: array.as_slice().unwrap(),
            };
            let bytes = postcard::to_allocvec(array).unwrap();
            assert_eq!(postcard::to_allocvec(&ours).unwrap(), bytes);
            let mut head = ours.head().unwrap();
            head.extend(postcard::to_allocvec(&crate::run::growth::Elements(ours.data)).unwrap());
            assert_eq!(head, bytes);
        }
        same(&Array1::from_shape_fn(300, |i| i as f32 / 7.0));
        same(&Array2::from_shape_fn((3, 200), |(i, j)| {
            (i * j) as f64 - 0.5
        }));
        same(&Array3::from_shape_fn((2, 0, 4), |(i, _, _)| i as u8));
        same(&Array::from_shape_fn(IxDyn(&[2, 3, 4, 5]), |ix| {
            ix[3] as i8 - 2
        }));
        same(&Array0::from_elem((), 2.5f64));
        same(&Array1::from_vec(vec![u32::MAX, 7]));
    }

    #[test]
    fn only_row_major_arrays_are_kept() {
        assert_eq!(not_row_major(&[3, 4], &[4, 1]), None);
        assert_eq!(not_row_major(&[5], &[1]), None);
        assert_eq!(not_row_major(&[], &[]), None);
        assert_eq!(not_row_major(&[0, 4], &[1, 0]), None, "no elements");
        assert_eq!(not_row_major(&[3, 1], &[1, 7]), None, "an axis of length 1");
        let fortran = not_row_major(&[3, 4], &[1, 3]).unwrap();
        assert!(fortran.contains("column-major (Fortran)"), "{fortran}");
        assert!(fortran.contains("strides [4, 1]"), "{fortran}");
        let reversed = not_row_major(&[4], &[-1]).unwrap();
        assert!(reversed.contains("other than row-major"), "{reversed}");
        assert!(
            not_row_major(&[2, 3, 4], &[12, 1, 3]).is_some(),
            "axes swapped"
        );
    }

    #[test]
    fn an_array_in_an_order_of_its_axes_is_kept_in_it() {
        use ndarray::ShapeBuilder;
        let fortran = Array2::from_shape_fn((3, 4).f(), |(i, j)| (i * 4 + j) as f32);
        let order = memory_order(fortran.shape(), fortran.strides()).unwrap();
        assert_eq!(order, [1, 0]);
        let permuted = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f64)
            .permuted_axes([2, 0, 1]);
        let order = memory_order(permuted.shape(), permuted.strides()).unwrap();
        // Saved as the row-major array over those axes: the memory as it is.
        let view = permuted.view().permuted_axes(axes::<ndarray::Ix3>(&order));
        assert!(view.is_standard_layout());
        assert_eq!(
            view.as_slice().unwrap(),
            permuted.as_slice_memory_order().unwrap()
        );
        let back = back_in_order(view.to_owned(), &order).unwrap();
        assert_eq!(back, permuted);
        assert_eq!(back.strides(), permuted.strides(), "the same memory order");
        // A reversed axis, or gaps: no order of the axes gives the memory.
        let mut reversed = Array1::from_vec(vec![1f32, 2., 3.]);
        reversed.invert_axis(ndarray::Axis(0));
        assert_eq!(memory_order(reversed.shape(), reversed.strides()), None);
        assert_eq!(memory_order(&[3, 4], &[8, 1]), None, "every other row");
        // A damaged order.
        let row_major = Array2::<f32>::zeros((2, 3));
        assert!(back_in_order(row_major.clone(), &[0, 0]).is_err());
        assert!(back_in_order(row_major.clone(), &[1]).is_err());
        assert!(back_in_order(row_major, &[2, 0]).is_err());
    }
}
