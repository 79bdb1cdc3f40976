//! `percentile`/`percentiles` of a whole-number column (int, long, datetime, timespan) as one
//! DataFusion aggregate answering every percentage at once (a struct of `p0`, `p1`, …): each
//! group keeps its values as plain `i64`s, not as the row engine's `Value`s, and answers each
//! percentage by the nearest rank, as the row engine's `weighted_percentile` does with weight 1.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, ListArray, StructArray};
use arrow_schema::{DataType, Field, FieldRef, Fields};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast as cast_array;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use crate::bind::expr::AggSpec;
use crate::exec::datafusion::udf::instance_name;

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
    fn fields(&self) -> Fields {
        (0..self.percents.len())
            .map(|k| Field::new(rank_field(k), DataType::Int64, true))
            .collect()
    }
}

fn item() -> FieldRef {
    Arc::new(Field::new("item", DataType::Int64, true))
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
    fn accumulator(&self, _: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(Ranks {
            percents: self.percents.clone(),
            fields: self.fields(),
            values: Vec::new(),
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "values"),
            DataType::List(item()),
            true,
        ))])
    }
}

#[derive(Debug)]
struct Ranks {
    percents: Vec<f64>,
    fields: Fields,
    values: Vec<i64>,
}

impl Ranks {
    fn extend(&mut self, a: &ArrayRef) -> DfResult<()> {
        let a = cast_array(a, &DataType::Int64)?;
        self.values
            .extend(a.as_primitive::<Int64Type>().iter().flatten());
        Ok(())
    }
}

impl Accumulator for Ranks {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        match values.first() {
            Some(a) => self.extend(a),
            None => exec_err!("percentiles need a value"),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let Some(lists) = states.first().and_then(|s| s.as_list_opt::<i32>()) else {
            return exec_err!("percentiles need their collected values");
        };
        for i in 0..lists.len() {
            if !lists.is_null(i) {
                self.extend(&lists.value(i))?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let Ok(n) = i32::try_from(self.values.len()) else {
            return exec_err!("percentiles collected too many values");
        };
        let values = std::mem::take(&mut self.values);
        let list = ListArray::try_new(
            item(),
            OffsetBuffer::new(vec![0, n].into()),
            Arc::new(Int64Array::from(values)),
            None,
        )?;
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        self.values.sort_unstable();
        let n = self.values.len();
        let columns: Vec<ArrayRef> = self
            .percents
            .iter()
            .map(|p| {
                // The nearest rank: the first value whose rank reaches p% of the count.
                let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
                let v = self.values.get(rank.min(n).saturating_sub(1)).copied();
                Arc::new(Int64Array::from(vec![v])) as ArrayRef
            })
            .collect();
        let row = StructArray::try_new(self.fields.clone(), columns, None)?;
        Ok(ScalarValue::Struct(Arc::new(row)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<i64>()
    }
}
