//! The partial state of aggregates that keep a list of numbers for each group (`percentiles`
//! keeps the values, `dcount` their hashes): one `List` row a group, and the pieces of a
//! `GroupsAccumulator` that read and write it.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{Array, ArrayRef, BooleanArray, ListArray, PrimitiveArray};
use arrow_schema::{Field, FieldRef};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::common::{Result as DfResult, exec_err};

/// The `AggregateUDFImpl` methods of an aggregate whose accumulator is the `GroupsAccumulator`
/// `$make` builds (wrapped in `OneGroup` without keys), and whose state is one list of `$item`s
/// a group, named after `$part`.
macro_rules! list_state_methods {
    ($make:expr, $item:ty, $part:literal) => {
        fn accumulator(&self, _: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
            let make: fn(&Self) -> _ = $make;
            Ok(Box::new(OneGroup(Box::new(make(self)))))
        }
        fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
            true
        }
        fn create_groups_accumulator(
            &self,
            _: AccumulatorArgs,
        ) -> DfResult<Box<dyn GroupsAccumulator>> {
            let make: fn(&Self) -> _ = $make;
            Ok(Box::new(make(self)))
        }
        fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
            Ok(vec![Arc::new(Field::new(
                format_state_name(args.name, $part),
                DataType::List(super::group_lists::item::<$item>()),
                true,
            ))])
        }
    };
}
pub(super) use list_state_methods;

/// The field of the lists' items.
pub(super) fn item<T: ArrowPrimitiveType>() -> FieldRef {
    Arc::new(Field::new("item", T::DATA_TYPE, true))
}

/// Whether row `r` of `a` counts: not null, and passed by the filter if there is one.
fn kept(a: &dyn Array, filter: Option<&BooleanArray>, r: usize) -> bool {
    a.is_valid(r) && filter.is_none_or(|f| f.is_valid(r) && f.value(r))
}

/// Calls `f` with the group and the number (`numbers[r]`) of each row `r` of `a` that counts.
pub(super) fn each_row<N: Copy>(
    a: &dyn Array,
    groups: &[usize],
    filter: Option<&BooleanArray>,
    numbers: &[N],
    mut f: impl FnMut(usize, N),
) {
    let rows = groups.iter().zip(numbers);
    if a.null_count() == 0 && filter.is_none() {
        rows.for_each(|(&g, &n)| f(g, n));
    } else {
        for (r, (&g, &n)) in rows.enumerate() {
            if kept(a, filter, r) {
                f(g, n);
            }
        }
    }
}

/// The groups' numbers as one list a group, in order.
pub(super) fn lists<T, G>(groups: Vec<G>, len: impl Fn(&G) -> usize) -> DfResult<ArrayRef>
where
    T: ArrowPrimitiveType,
    G: IntoIterator<Item = T::Native>,
{
    let total: usize = groups.iter().map(&len).sum();
    if i32::try_from(total).is_err() {
        return exec_err!("an aggregate kept more than 2^31 values for its groups");
    }
    let offsets = OffsetBuffer::<i32>::from_lengths(groups.iter().map(len));
    // Sized once, each group freed as soon as it is copied.
    let mut all = Vec::with_capacity(total);
    for group in groups {
        all.extend(group);
    }
    let values = PrimitiveArray::<T>::from_iter_values(all);
    Ok(Arc::new(ListArray::try_new(
        item::<T>(),
        offsets,
        Arc::new(values),
        None,
    )?))
}

/// Each row of `a` as a state of its own: a list of `number(r)`, empty when the row is null or
/// the filter leaves it out.
pub(super) fn rows_as_lists<T: ArrowPrimitiveType>(
    a: &dyn Array,
    filter: Option<&BooleanArray>,
    number: impl Fn(usize) -> T::Native,
) -> DfResult<ArrayRef> {
    let rows = 0..a.len();
    let offsets =
        OffsetBuffer::<i32>::from_lengths(rows.clone().map(|r| usize::from(kept(a, filter, r))));
    let items =
        PrimitiveArray::<T>::from_iter_values(rows.filter(|&r| kept(a, filter, r)).map(number));
    Ok(Arc::new(ListArray::try_new(
        item::<T>(),
        offsets,
        Arc::new(items),
        None,
    )?))
}

/// Each non-null list of the state `states[0]`, with the group `groups` gives its row.
pub(super) fn each_list<'a, T: ArrowPrimitiveType>(
    states: &'a [ArrayRef],
    groups: &'a [usize],
) -> DfResult<impl Iterator<Item = (usize, &'a [T::Native])> + 'a> {
    let Some(lists) = states.first().and_then(|s| s.as_list_opt::<i32>()) else {
        return exec_err!("an aggregate's state is not its groups' lists");
    };
    let Some(items) = lists.values().as_primitive_opt::<T>() else {
        return exec_err!("an aggregate's state lists {}", lists.values().data_type());
    };
    let offsets = lists.value_offsets();
    Ok(groups
        .iter()
        .enumerate()
        .filter(|&(r, _)| lists.is_valid(r))
        .map(move |(r, &g)| {
            let (from, to) = (offsets[r] as usize, offsets[r + 1] as usize);
            (g, &items.values()[from..to])
        }))
}
