//! `arg_max`/`arg_min` as one DataFusion aggregate that compares each row once: per group it
//! keeps the best value and position so far and where that row is (a batch it holds on to and
//! a row in it), and copies the returned columns of each group's row once, when it answers.
//!
//! Rows rank as the row engine's `AggState::Arg` folds them: a null value never beats a
//! non-null one, and ties (a group of only nulls too) keep the smallest position, the first row
//! in input order. A real's NaN ranks as null here: the row engine keeps a NaN only when it is
//! the group's first non-null value, which [`Rank::FirstNan`] finds beside it.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, StructArray,
    new_null_array,
};
use arrow_schema::{DataType, Field, FieldRef, Fields};
use datafusion::arrow::compute::interleave;
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr as DfExpr, GroupsAccumulator,
    Signature, Volatility,
};

/// Which row of a group an [`ArgBest`] picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Rank {
    /// The largest value's (`arg_max`).
    Max,
    /// The smallest value's (`arg_min`).
    Min,
    /// The first row with a non-null real value, answered only when that value is NaN: the row
    /// engine keeps it then, whatever follows.
    FirstNan,
}

/// The answer's field holding the picked row's position, null when the group picked none.
pub(super) const PICKED_AT: &str = "position";

/// The answer's field holding the `k`th returned column.
pub(super) fn row_field(k: usize) -> String {
    format!("c{k}")
}

/// The aggregate: arguments are the value (Int64, Float64 or Utf8), the position (Int64), then
/// the returned columns; the answer is a struct of [`PICKED_AT`] and each [`row_field`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ArgBest {
    rank: Rank,
    signature: Signature,
}

impl ArgBest {
    /// `rank`'s pick of each group, ranking rows by `value` and then `position`.
    pub(super) fn call(rank: Rank, value: DfExpr, position: DfExpr, row: Vec<DfExpr>) -> DfExpr {
        let udaf = ArgBest {
            rank,
            signature: Signature::variadic_any(Volatility::Immutable),
        };
        let mut args = vec![value, position];
        args.extend(row);
        AggregateUDF::new_from_impl(udaf).call(args)
    }

    /// The accumulator for arguments of `types`.
    fn picks(&self, types: &[DataType]) -> DfResult<Box<dyn GroupsAccumulator + Sync>> {
        let [value, _, row @ ..] = types else {
            return exec_err!("{} needs a value and a position", self.name());
        };
        let shape = Shape {
            max: self.rank == Rank::Max,
            value: value.clone(),
            row: row.to_vec(),
            answer: answer_fields(row),
        };
        Ok(match (self.rank, value) {
            (Rank::FirstNan, DataType::Float64) => Box::new(Picks::<FirstNan>::new(shape)),
            (Rank::FirstNan, _) => return exec_err!("NaN of a {value}"),
            (_, DataType::Int64) => Box::new(Picks::<Long>::new(shape)),
            (_, DataType::Float64) => Box::new(Picks::<Real>::new(shape)),
            (_, DataType::Utf8) => Box::new(Picks::<Text>::new(shape)),
            _ => return exec_err!("{} of a {value}", self.name()),
        })
    }
}

fn answer_fields(row: &[DataType]) -> Fields {
    let at = Field::new(PICKED_AT, DataType::Int64, true);
    std::iter::once(at)
        .chain(
            row.iter()
                .enumerate()
                .map(|(k, t)| Field::new(row_field(k), t.clone(), true)),
        )
        .collect()
}

impl AggregateUDFImpl for ArgBest {
    fn name(&self) -> &str {
        match self.rank {
            Rank::Max => "kql_arg_max",
            Rank::Min => "kql_arg_min",
            Rank::FirstNan => "kql_first_nan",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Struct(answer_fields(
            args.get(2..).unwrap_or(&[]),
        )))
    }
    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let types: Vec<_> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(Box::new(OneGroup(self.picks(&types)?)))
    }
    // The partial state is a row of the arguments: merging is folding those rows again.
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(args
            .input_fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let part = match i {
                    0 => "value".to_string(),
                    1 => PICKED_AT.to_string(),
                    k => row_field(k - 2),
                };
                let name = format_state_name(args.name, &part);
                Arc::new(Field::new(name, f.data_type().clone(), true))
            })
            .collect())
    }
    fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        let types: Vec<_> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(self.picks(&types)?)
    }
}

/// How one value type ranks.
trait Kind: Send + 'static {
    type Array: Array + Clone + 'static;
    /// What a pick keeps of its value to compare later rows with.
    type Kept: Copy + Send + 'static;
    fn array(a: &ArrayRef) -> Option<Self::Array>;
    /// Row `r`'s value as a pick keeps it; `None` when it ranks as null.
    fn kept(a: &Self::Array, r: usize) -> Option<Self::Kept>;
    /// Row `r`'s value against a pick's (`kept`, read from row `best.1` of `best.0`), both
    /// ranking as non-null.
    fn cmp(a: &Self::Array, r: usize, kept: Self::Kept, best: (&Self::Array, usize)) -> Ordering;
    /// Whether a group's pick at row `r` is its answer.
    fn answers(_: &Self::Array, _r: usize) -> bool {
        true
    }
}

/// Whole numbers, datetimes and timespans (ticks).
struct Long;
impl Kind for Long {
    type Array = Int64Array;
    type Kept = i64;
    fn array(a: &ArrayRef) -> Option<Int64Array> {
        a.as_primitive_opt::<Int64Type>().cloned()
    }
    fn kept(a: &Int64Array, r: usize) -> Option<i64> {
        a.is_valid(r).then(|| a.value(r))
    }
    fn cmp(a: &Int64Array, r: usize, kept: i64, _: (&Int64Array, usize)) -> Ordering {
        a.value(r).cmp(&kept)
    }
}

/// Reals: compared as the row engine does (`-0.0` ties `0.0`), NaN ranked as null.
struct Real;
impl Kind for Real {
    type Array = Float64Array;
    type Kept = f64;
    fn array(a: &ArrayRef) -> Option<Float64Array> {
        a.as_primitive_opt::<Float64Type>().cloned()
    }
    fn kept(a: &Float64Array, r: usize) -> Option<f64> {
        let v = a.value(r);
        (a.is_valid(r) && !v.is_nan()).then_some(v)
    }
    fn cmp(a: &Float64Array, r: usize, kept: f64, _: (&Float64Array, usize)) -> Ordering {
        a.value(r).partial_cmp(&kept).unwrap_or(Ordering::Equal)
    }
}

/// Strings, by their bytes; a pick's value is read from the batch holding it.
struct Text;
impl Kind for Text {
    type Array = StringArray;
    type Kept = ();
    fn array(a: &ArrayRef) -> Option<StringArray> {
        a.as_string_opt::<i32>().cloned()
    }
    fn kept(a: &StringArray, r: usize) -> Option<()> {
        a.is_valid(r).then_some(())
    }
    fn cmp(a: &StringArray, r: usize, _: (), best: (&StringArray, usize)) -> Ordering {
        a.value(r).cmp(best.0.value(best.1))
    }
}

/// Reals for [`Rank::FirstNan`]: every non-null value ties, so the first one is picked.
struct FirstNan;
impl Kind for FirstNan {
    type Array = Float64Array;
    type Kept = ();
    fn array(a: &ArrayRef) -> Option<Float64Array> {
        Real::array(a)
    }
    fn kept(a: &Float64Array, r: usize) -> Option<()> {
        a.is_valid(r).then_some(())
    }
    fn cmp(_: &Float64Array, _: usize, _: (), _: (&Float64Array, usize)) -> Ordering {
        Ordering::Equal
    }
    fn answers(a: &Float64Array, r: usize) -> bool {
        a.is_valid(r) && a.value(r).is_nan()
    }
}

/// A group's best row so far.
#[derive(Clone, Copy)]
struct Pick<T> {
    position: i64,
    /// Where its row is: a held batch and a row of it.
    batch: u32,
    row: u32,
    kept: Option<T>,
}

/// A batch some group's best row is in: its value and returned columns.
struct Held<A> {
    value: A,
    row: Vec<ArrayRef>,
}

/// The types an accumulator works on.
struct Shape {
    max: bool,
    value: DataType,
    row: Vec<DataType>,
    answer: Fields,
}

/// Held rows beyond twice the groups that are tolerated before the picks are copied into one
/// batch: a computed column's batches are not kept whole for a few picks in each.
const SPARE_ROWS: usize = 64 * 1024;

struct Picks<K: Kind> {
    shape: Shape,
    picks: Vec<Option<Pick<K::Kept>>>,
    held: Vec<Held<K::Array>>,
    held_rows: usize,
    held_bytes: usize,
}

fn too_large(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl<K: Kind> Picks<K> {
    fn new(shape: Shape) -> Self {
        Picks {
            shape,
            picks: Vec::new(),
            held: Vec::new(),
            held_rows: 0,
            held_bytes: 0,
        }
    }

    /// Ranks each row (value, position, returned columns) of `args` against its group's pick,
    /// skipping rows `filter` leaves out and rows without a position (a state's empty groups).
    fn fold(
        &mut self,
        args: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> DfResult<()> {
        let [value, position, row @ ..] = args else {
            return exec_err!("arg_max needs a value and a position");
        };
        let (Some(value), Some(position)) =
            (K::array(value), position.as_primitive_opt::<Int64Type>())
        else {
            return exec_err!(
                "arg_max of a {} at a {}",
                value.data_type(),
                position.data_type()
            );
        };
        if row.len() != self.shape.row.len() {
            return exec_err!("arg_max returns {} columns", self.shape.row.len());
        }
        self.picks.resize(total, None);
        let batch = u32::try_from(self.held.len()).map_err(too_large)?;
        let bytes = held_size(&value) + row.iter().map(|a| held_size(a.as_ref())).sum::<usize>();
        self.held.push(Held {
            value,
            row: row.to_vec(),
        });
        let (picks, held, max) = (&mut self.picks, &self.held, self.shape.max);
        let Some(this) = held.last() else {
            return exec_err!("arg_max lost its batch");
        };
        let mut used = false;
        for (r, &g) in groups.iter().enumerate() {
            if position.is_null(r) || filter.is_some_and(|f| !(f.is_valid(r) && f.value(r))) {
                continue;
            }
            let Some(slot) = picks.get_mut(g) else {
                return exec_err!("arg_max got group {g} of {total}");
            };
            let at = position.value(r);
            let kept = K::kept(&this.value, r);
            let better = match slot {
                None => true,
                Some(best) => match (kept, best.kept) {
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => at < best.position,
                    (Some(_), Some(b)) => {
                        let Some(other) = held.get(best.batch as usize) else {
                            return exec_err!("arg_max lost a batch");
                        };
                        match K::cmp(&this.value, r, b, (&other.value, best.row as usize)) {
                            Ordering::Equal => at < best.position,
                            o => (o == Ordering::Greater) == max,
                        }
                    }
                },
            };
            if better {
                let row = u32::try_from(r).map_err(too_large)?;
                *slot = Some(Pick {
                    position: at,
                    batch,
                    row,
                    kept,
                });
                used = true;
            }
        }
        if !used {
            self.held.pop();
            return Ok(());
        }
        self.held_rows += groups.len();
        self.held_bytes += bytes;
        if self.held_rows > 2 * self.picks.len() + SPARE_ROWS {
            self.compact()?;
        }
        Ok(())
    }

    /// Copies every group's picked row into one batch and drops the others.
    fn compact(&mut self) -> DfResult<()> {
        let indices = self.indices(&self.picks, false);
        let value = self.take(&indices, &self.shape.value, |h| Some(&h.value))?;
        let Some(value) = K::array(&value) else {
            return exec_err!("arg_max copied its values to a {}", value.data_type());
        };
        let row = self.row(&indices)?;
        for (g, pick) in self.picks.iter_mut().enumerate() {
            if let Some(p) = pick {
                p.batch = 0;
                p.row = u32::try_from(g).map_err(too_large)?;
            }
        }
        self.held_rows = self.picks.len();
        self.held_bytes =
            held_size(&value) + row.iter().map(|a| held_size(a.as_ref())).sum::<usize>();
        self.held = vec![Held { value, row }];
        Ok(())
    }

    /// Where each of `picks`' rows is among the held batches, a row of nulls past them for a
    /// group without one (or, when `answers`, whose pick is not its answer).
    fn indices(&self, picks: &[Option<Pick<K::Kept>>], answers: bool) -> Vec<(usize, usize)> {
        let none = (self.held.len(), 0);
        picks
            .iter()
            .map(|p| match p {
                Some(p)
                    if !answers
                        || self
                            .held
                            .get(p.batch as usize)
                            .is_some_and(|h| K::answers(&h.value, p.row as usize)) =>
                {
                    (p.batch as usize, p.row as usize)
                }
                _ => none,
            })
            .collect()
    }

    /// One column at `indices`, read from each held batch by `column`.
    fn take<'h>(
        &'h self,
        indices: &[(usize, usize)],
        ty: &DataType,
        column: impl Fn(&'h Held<K::Array>) -> Option<&'h dyn Array>,
    ) -> DfResult<ArrayRef> {
        let nulls = new_null_array(ty, 1);
        let Some(mut sources) = self.held.iter().map(column).collect::<Option<Vec<_>>>() else {
            return exec_err!("arg_max lost a returned column");
        };
        sources.push(nulls.as_ref());
        Ok(interleave(&sources, indices)?)
    }

    /// The returned columns at `indices`.
    fn row(&self, indices: &[(usize, usize)]) -> DfResult<Vec<ArrayRef>> {
        (self.shape.row.iter().enumerate())
            .map(|(k, ty)| self.take(indices, ty, |h| h.row.get(k).map(|a| a.as_ref())))
            .collect()
    }

    /// Each pick's position; null where `indices` read the row of nulls.
    fn positions(&self, picks: &[Option<Pick<K::Kept>>], indices: &[(usize, usize)]) -> ArrayRef {
        let none = self.held.len();
        Arc::new(
            picks
                .iter()
                .zip(indices)
                .map(|(p, &(b, _))| p.filter(|_| b != none).map(|p| p.position))
                .collect::<Int64Array>(),
        )
    }

    /// The columns `make` makes of the first groups `emit_to` names, which are removed; the
    /// held batches go with the last group.
    fn emit(
        &mut self,
        emit_to: EmitTo,
        make: impl FnOnce(&Self, &[Option<Pick<K::Kept>>]) -> DfResult<Vec<ArrayRef>>,
    ) -> DfResult<Vec<ArrayRef>> {
        let taken = emit_to.take_needed(&mut self.picks);
        let columns = make(self, &taken);
        if self.picks.is_empty() {
            self.held.clear();
            self.held_rows = 0;
            self.held_bytes = 0;
        }
        columns
    }
}

/// The bytes `a`'s rows take, not counting what the buffers it is a slice of hold beyond them.
fn held_size(a: &dyn Array) -> usize {
    a.to_data()
        .get_slice_memory_size()
        .unwrap_or_else(|_| a.get_array_memory_size())
}

impl<K: Kind> GroupsAccumulator for Picks<K> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> DfResult<()> {
        self.fold(values, groups, filter, total)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let columns = self.emit(emit_to, |this, picks| {
            let indices = this.indices(picks, true);
            let mut columns = vec![this.positions(picks, &indices)];
            columns.extend(this.row(&indices)?);
            Ok(columns)
        })?;
        let answer = StructArray::try_new(self.shape.answer.clone(), columns, None)?;
        Ok(Arc::new(answer))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        self.emit(emit_to, |this, picks| {
            let indices = this.indices(picks, false);
            let mut columns = vec![
                this.take(&indices, &this.shape.value, |h| Some(&h.value))?,
                this.positions(picks, &indices),
            ];
            columns.extend(this.row(&indices)?);
            Ok(columns)
        })
    }

    fn merge_batch(&mut self, states: &[ArrayRef], groups: &[usize], total: usize) -> DfResult<()> {
        self.fold(states, groups, None, total)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let mut state = values.to_vec();
        // A row the filter leaves out is a group that saw nothing: no position.
        if let (Some(f), Some(p)) = (filter, state.get_mut(1)) {
            let Some(positions) = p.as_primitive_opt::<Int64Type>() else {
                return exec_err!("arg_max at a {}", p.data_type());
            };
            let kept: Int64Array = positions
                .iter()
                .zip(f.iter())
                .map(|(at, pass)| at.filter(|_| pass == Some(true)))
                .collect();
            *p = Arc::new(kept);
        }
        Ok(state)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.picks.capacity() * std::mem::size_of::<Option<Pick<K::Kept>>>()
            + self.held.capacity() * std::mem::size_of::<Held<K::Array>>()
            + self.held_bytes
    }
}

/// The aggregate without keys (DataFusion runs it on a plain `Accumulator`): one group.
pub(super) struct OneGroup(pub(super) Box<dyn GroupsAccumulator + Sync>);

impl std::fmt::Debug for OneGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneGroup")
    }
}

/// The one group's value in `a`; a null of its type when no row came.
fn only(a: &ArrayRef) -> DfResult<ScalarValue> {
    if a.is_empty() {
        ScalarValue::try_new_null(a.data_type())
    } else {
        ScalarValue::try_from_array(a, 0)
    }
}

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let rows = values.first().map_or(0, |a| a.len());
        self.0.update_batch(values, &vec![0; rows], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let rows = states.first().map_or(0, |a| a.len());
        self.0.merge_batch(states, &vec![0; rows], 1)
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        self.0.state(EmitTo::All)?.iter().map(only).collect()
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        only(&self.0.evaluate(EmitTo::All)?)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.0.size()
    }
}
