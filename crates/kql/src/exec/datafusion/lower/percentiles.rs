//! `percentile`/`percentiles` of a whole-number column (int, long, datetime, timespan) as one
//! DataFusion aggregate answering every percentage at once (a struct of `p0`, `p1`, …): each
//! group keeps its values as plain `i64`s, not as the row engine's `Value`s, and answers each
//! percentage by the nearest rank, as the row engine's `weighted_percentile` does with weight 1.
//! It accumulates every group of a batch in one pass (a `GroupsAccumulator`: DataFusion's
//! adapter for plain accumulators copied each group's rows out of the batch first) and finds
//! each rank by selection, without sorting the group.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, BooleanArray, Int64Array, StructArray};
use arrow_schema::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

use crate::bind::expr::AggSpec;
use crate::exec::datafusion::arg_best::OneGroup;
use crate::exec::datafusion::udf::instance_name;

use super::group_lists::{each_list, each_row, list_state_methods, lists, rows_as_lists};

use super::expressions::type_of;
use super::*;

/// The struct field holding the `k`th percentage's value.
pub(super) fn rank_field(k: usize) -> String {
    format!("p{k}")
}

impl<'a> Lowering<'_, 'a> {
    /// The aggregate for `spec` when it is an unweighted percentile of a whole-number column.
    pub(super) fn nearest_ranks(
        &mut self,
        spec: &AggSpec,
        columns: &[Column],
    ) -> Result<Option<DfExpr>, Fallback> {
        if !matches!(spec.name.as_str(), "percentile" | "percentiles") || spec.args.len() != 1 {
            return Ok(None);
        }
        let t = type_of(&spec.args[0], columns);
        if !matches!(
            t,
            ScalarType::Int | ScalarType::Long | ScalarType::DateTime | ScalarType::TimeSpan
        ) || stored_type(spec.ty) != DataType::Int64
        {
            return Ok(None);
        }
        let x = cast(self.expr(&spec.args[0], t, columns)?, DataType::Int64);
        let key = format!("{:?}", spec.percents);
        let udaf = NearestRanks {
            name: instance_name("kql_percentiles", &key),
            key,
            percents: spec.percents.clone(),
            signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        };
        Ok(Some(AggregateUDF::new_from_impl(udaf).call(vec![x])))
    }
}

#[derive(Debug)]
struct NearestRanks {
    key: String,
    name: String,
    percents: Vec<f64>,
    signature: Signature,
}

super::super::udf::keyed!(NearestRanks);

impl NearestRanks {
    fn ranks(&self) -> Ranks {
        Ranks::new(self.percents.clone())
    }

    fn fields(&self) -> Fields {
        answer_fields(self.percents.len())
    }
}

/// The answer's struct: one long per percentage.
fn answer_fields(percentages: usize) -> Fields {
    (0..percentages)
        .map(|k| Field::new(rank_field(k), DataType::Int64, true))
        .collect()
}

impl AggregateUDFImpl for NearestRanks {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Struct(self.fields()))
    }
    list_state_methods!(Self::ranks, Int64Type, "values");
}

/// Each group's values, as plain `i64`s.
#[derive(Debug)]
struct Ranks {
    percents: Vec<f64>,
    fields: Fields,
    groups: Vec<Vec<i64>>,
    /// The bytes the groups' vectors hold (their capacities), kept as they grow.
    held: usize,
}

impl Ranks {
    fn new(percents: Vec<f64>) -> Ranks {
        Ranks {
            fields: answer_fields(percents.len()),
            percents,
            groups: Vec::new(),
            held: 0,
        }
    }

    fn push(&mut self, group: usize, v: i64) {
        let values = &mut self.groups[group];
        let before = values.capacity();
        values.push(v);
        self.held += (values.capacity() - before) * std::mem::size_of::<i64>();
    }

    fn extend(&mut self, group: usize, values: &[i64]) {
        let into = &mut self.groups[group];
        let before = into.capacity();
        into.extend_from_slice(values);
        self.held += (into.capacity() - before) * std::mem::size_of::<i64>();
    }

    /// The groups `emit_to` hands over, taken out of the accumulator.
    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<i64>> {
        let taken = emit_to.take_needed(&mut self.groups);
        let freed: usize = taken.iter().map(Vec::capacity).sum();
        self.held -= freed * std::mem::size_of::<i64>();
        taken
    }

    /// The nearest rank of each percentage: the first value whose rank reaches p% of the
    /// count. Each is found by selection, not by sorting the group: the ranks are visited in
    /// order, each selected among the values above the one before.
    fn answers(&self, values: &mut [i64]) -> Vec<Option<i64>> {
        let n = values.len();
        if n == 0 {
            return vec![None; self.percents.len()];
        }
        let at = |p: f64| (((p / 100.0) * n as f64).ceil().max(1.0) as usize).min(n) - 1;
        let mut order: Vec<usize> = (0..self.percents.len()).collect();
        order.sort_by_key(|&k| at(self.percents[k]));
        let mut answers = vec![None; self.percents.len()];
        let mut from = 0;
        for k in order {
            let i = at(self.percents[k]);
            if i >= from {
                values[from..].select_nth_unstable(i - from);
                from = i + 1;
            }
            answers[k] = Some(values[i]);
        }
        answers
    }
}

impl GroupsAccumulator for Ranks {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> DfResult<()> {
        let Some(a) = values
            .first()
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
        else {
            return exec_err!("percentiles need a long value");
        };
        self.groups.resize_with(total, Vec::new);
        each_row(a, groups, filter, a.values(), |g, v| self.push(g, v));
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], groups: &[usize], total: usize) -> DfResult<()> {
        self.groups.resize_with(total, Vec::new);
        for (g, values) in each_list::<Int64Type>(states, groups)? {
            self.extend(g, values);
        }
        Ok(())
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        Ok(vec![lists::<Int64Type, _>(self.take(emit_to), Vec::len)?])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let groups = self.take(emit_to);
        let mut columns: Vec<Vec<Option<i64>>> =
            vec![Vec::with_capacity(groups.len()); self.percents.len()];
        for mut values in groups {
            for (column, answer) in columns.iter_mut().zip(self.answers(&mut values)) {
                column.push(answer);
            }
        }
        let columns = columns
            .into_iter()
            .map(|c| Arc::new(Int64Array::from(c)) as ArrayRef)
            .collect();
        Ok(Arc::new(StructArray::try_new(
            self.fields.clone(),
            columns,
            None,
        )?))
    }

    /// Each row as a group's state of its own: a list of its value, empty when it is null
    /// or the filter leaves it out.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let Some(a) = values
            .first()
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
        else {
            return exec_err!("percentiles need a long value");
        };
        Ok(vec![rows_as_lists::<Int64Type>(a, filter, |r| a.value(r))?])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<Vec<i64>>()
            + self.held
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;

    use super::*;

    /// Each group's answers (`p0`, `p1`, …) as rows.
    fn rows(answer: &ArrayRef) -> Vec<Vec<Option<i64>>> {
        let s = answer.as_struct();
        (0..s.len())
            .map(|r| {
                s.columns()
                    .iter()
                    .map(|c| {
                        let c = c.as_primitive::<Int64Type>();
                        c.is_valid(r).then(|| c.value(r))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rows_folded_or_turned_into_states_and_merged_answer_the_same_nearest_ranks() {
        let values: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(5),
            None,
            Some(3),
            Some(9),
            Some(1),
            Some(7),
            Some(3),
        ]));
        let groups = [0, 0, 1, 0, 1, 1, 2];
        let filter = BooleanArray::from(vec![
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            Some(true),
            Some(true),
            None,
        ]);
        // Group 0 keeps 5 (a null, and 9 filtered out), group 1 keeps 1, 3 and 7, group 2
        // nothing. Percentages out of order: 95% is rank 3 of 3, 0% rank 1, 50% rank 2.
        let want = vec![
            vec![Some(5), Some(5), Some(5)],
            vec![Some(7), Some(1), Some(3)],
            vec![None, None, None],
        ];
        let percents = vec![95.0, 0.0, 50.0];

        let mut folded = Ranks::new(percents.clone());
        folded
            .update_batch(std::slice::from_ref(&values), &groups, Some(&filter), 3)
            .unwrap();
        assert!(folded.size() >= 5 * std::mem::size_of::<i64>());
        assert_eq!(rows(&folded.evaluate(EmitTo::All).unwrap()), want);
        assert_eq!(folded.held, 0);

        let mut merged = Ranks::new(percents.clone());
        let states = merged.convert_to_state(&[values], Some(&filter)).unwrap();
        merged.merge_batch(&states, &groups, 3).unwrap();
        // Group 0's state handed over first (the others move up), then merged back in as a
        // new third group.
        let first = merged.state(EmitTo::First(1)).unwrap();
        assert_eq!(merged.groups.len(), 2);
        merged.merge_batch(&first, &[2], 3).unwrap();
        let moved = [want[1].clone(), want[2].clone(), want[0].clone()];
        assert_eq!(rows(&merged.evaluate(EmitTo::All).unwrap()), moved);
    }
}
