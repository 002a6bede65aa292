//! How many bytes each row of an Arrow array holds, measured from offsets and lengths without
//! touching the values: the measure the value guards and the result caps compare with limits.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, OffsetSizeTrait};
use datafusion::arrow::datatypes::{ArrowNativeType, DataType};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::ColumnarValue;

/// Bytes of each row of `array`: the length of a string or binary value, the contents of a list
/// (plus one byte per element, so that a list of a million empty strings is not free), the sum of
/// a struct's fields, the width of a fixed-size value. A null string counts its (empty) slot.
pub(crate) fn row_sizes(array: &dyn Array) -> Vec<usize> {
    let rows = array.len();
    match array.data_type() {
        DataType::Utf8 => offset_sizes(array.as_string::<i32>().value_offsets()),
        DataType::LargeUtf8 => offset_sizes(array.as_string::<i64>().value_offsets()),
        DataType::Binary => offset_sizes(array.as_binary::<i32>().value_offsets()),
        DataType::LargeBinary => offset_sizes(array.as_binary::<i64>().value_offsets()),
        DataType::Utf8View => array.as_string_view().lengths().map(|len| len as usize).collect(),
        DataType::BinaryView => array.as_binary_view().lengths().map(|len| len as usize).collect(),
        DataType::FixedSizeBinary(width) => vec![usize::try_from(*width).unwrap_or(0); rows],
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            list_sizes(list.value_offsets(), list.values())
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            list_sizes(list.value_offsets(), list.values())
        }
        DataType::Map(_, _) => {
            let map = array.as_map();
            let entries: ArrayRef = std::sync::Arc::new(map.entries().clone());
            list_sizes(map.value_offsets(), &entries)
        }
        DataType::FixedSizeList(_, _) => {
            let list = array.as_fixed_size_list();
            let width = list.value_length().max(0) as usize;
            let starts: Vec<usize> = (0..=rows).map(|row| list.offset() * width + row * width).collect();
            ranges_sizes(&starts, list.values())
        }
        DataType::Struct(_) => {
            let mut sizes = vec![0usize; rows];
            for column in array.as_struct().columns() {
                for (total, size) in sizes.iter_mut().zip(row_sizes(column.as_ref())) {
                    *total = total.saturating_add(size);
                }
            }
            sizes
        }
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let value_sizes = row_sizes(dictionary.values().as_ref());
            dictionary.normalized_keys().into_iter().map(|key| value_sizes.get(key).copied().unwrap_or(0)).collect()
        }
        DataType::Boolean => vec![1; rows],
        DataType::Null => vec![0; rows],
        other => match other.primitive_width() {
            Some(width) => vec![width; rows],
            // Unions, run-end encoding, list views: an even share of the buffers, which errs on
            // the large side for sliced arrays.
            None => vec![array.get_array_memory_size() / rows.max(1); rows],
        },
    }
}

/// Sizes of the values of a [`ColumnarValue`]: one entry for a scalar, one per row for an array.
pub(crate) fn value_sizes(value: &ColumnarValue) -> Vec<usize> {
    match value {
        ColumnarValue::Array(array) => row_sizes(array.as_ref()),
        ColumnarValue::Scalar(scalar) => vec![scalar_size(scalar)],
    }
}

/// The size of one scalar, measured as [`row_sizes`] measures a row.
pub(crate) fn scalar_size(scalar: &ScalarValue) -> usize {
    match scalar {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.len(),
        ScalarValue::Binary(Some(b)) | ScalarValue::LargeBinary(Some(b)) | ScalarValue::BinaryView(Some(b)) => b.len(),
        other => match other.to_array() {
            Ok(array) => row_sizes(array.as_ref()).first().copied().unwrap_or(0),
            Err(_) => other.size(),
        },
    }
}

/// Size of row `row` in `sizes`, where a scalar's single entry stands for every row.
pub(crate) fn at(sizes: &[usize], row: usize) -> usize {
    if sizes.len() == 1 { sizes[0] } else { sizes.get(row).copied().unwrap_or(0) }
}

/// The sum of `sizes` over `rows` rows, a scalar's single entry counted once per row.
pub(crate) fn total(sizes: &[usize], rows: usize) -> usize {
    if sizes.len() == 1 { sizes[0].saturating_mul(rows) } else { sizes.iter().fold(0, |a, b| a.saturating_add(*b)) }
}

/// Number of elements in each row of a list (0 for non-lists and nulls' empty slots).
pub(crate) fn list_lengths(value: &ColumnarValue) -> Vec<usize> {
    let array = match value {
        ColumnarValue::Array(array) => array.clone(),
        ColumnarValue::Scalar(scalar) => match scalar.to_array() {
            Ok(array) => array,
            Err(_) => return vec![0],
        },
    };
    let lengths = |offsets: Vec<usize>| offsets.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>();
    match array.data_type() {
        DataType::List(_) => lengths(array.as_list::<i32>().value_offsets().iter().map(|o| o.as_usize()).collect()),
        DataType::LargeList(_) => {
            lengths(array.as_list::<i64>().value_offsets().iter().map(|o| o.as_usize()).collect())
        }
        DataType::FixedSizeList(_, width) => vec![(*width).max(0) as usize; array.len()],
        _ => vec![0; array.len()],
    }
}

fn offset_sizes<O: OffsetSizeTrait>(offsets: &[O]) -> Vec<usize> {
    offsets.windows(2).map(|pair| (pair[1] - pair[0]).as_usize()).collect()
}

fn list_sizes<O: OffsetSizeTrait>(offsets: &[O], values: &ArrayRef) -> Vec<usize> {
    let starts: Vec<usize> = offsets.iter().map(|offset| offset.as_usize()).collect();
    ranges_sizes(&starts, values)
}

/// Row `i` spans child rows `starts[i]..starts[i + 1]`.
fn ranges_sizes(starts: &[usize], values: &ArrayRef) -> Vec<usize> {
    let fixed = match values.data_type() {
        DataType::Boolean => Some(1),
        DataType::Null => Some(0),
        other => other.primitive_width(),
    };
    if let Some(width) = fixed {
        // Lists of numbers: no per-element vector, which for a large list would itself be large.
        return starts.windows(2).map(|pair| (pair[1] - pair[0]).saturating_mul(width + 1)).collect();
    }
    let child = row_sizes(values.as_ref());
    let mut prefix = Vec::with_capacity(child.len() + 1);
    prefix.push(0usize);
    for size in &child {
        prefix.push(prefix.last().copied().unwrap_or(0).saturating_add(size + 1));
    }
    let end = prefix.len() - 1;
    starts.windows(2).map(|pair| prefix[pair[1].min(end)].saturating_sub(prefix[pair[0].min(end)])).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, ListArray, StringArray, StringViewArray};
    use datafusion::arrow::datatypes::Int64Type;

    use super::*;

    #[test]
    fn strings_measure_their_bytes_and_lists_their_contents() {
        let strings = StringArray::from(vec![Some("abc"), None, Some("")]);
        assert_eq!(row_sizes(&strings), [3, 0, 0]);
        assert_eq!(row_sizes(&strings.slice(1, 2)), [0, 0]);
        let views = StringViewArray::from(vec!["a string longer than twelve bytes", "x"]);
        assert_eq!(row_sizes(&views), [33, 1]);
        let numbers =
            ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1), Some(2)]), None, Some(vec![])]);
        assert_eq!(row_sizes(&numbers), [18, 0, 0]);
        let nested = ListArray::new(
            Arc::new(datafusion::arrow::datatypes::Field::new_list_field(numbers.data_type().clone(), true)),
            datafusion::arrow::buffer::OffsetBuffer::from_lengths([3]),
            Arc::new(numbers),
            None,
        );
        assert_eq!(row_sizes(&nested), [21]);
        assert_eq!(row_sizes(&Int64Array::from(vec![1, 2])), [8, 8]);
    }
}
