//! KQL aggregates DataFusion has no native form for, as one DataFusion UDAF over the row
//! engine's aggregate state (`AggState`): `make_set`, `make_list`, `make_bag`, `stdev`,
//! `variance`, `percentile`, `take_any`, … keep one definition, whichever engine runs them.
//!
//! A group's accumulator collects the values it sees (of each column argument: `covariance(x,
//! y)`, `percentilesw(v, w, 50)`); its partial state (for DataFusion's two-phase aggregation
//! across partitions) is a list per column, and the final value is what the row engine's
//! `AggState` makes of them. `*_if` forms get their predicate as DataFusion's `FILTER`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, ListArray};
use arrow_schema::{DataType, Field, FieldRef};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Expr as DfExpr, Signature, Volatility,
};

use crate::functions::aggregate::Method;
use crate::storage::arrow_table::{array_of, values_of};
use crate::storage::layout::stored_type;
use crate::value::convert::coerce;
use crate::value::{ScalarType, Value};

/// One KQL aggregate with its constant arguments.
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    name: String,
    /// The KQL type of each column argument, in the order they are passed.
    columns: Vec<ScalarType>,
    ty: ScalarType,
    /// The arguments after the value: a constant (a `make_set` limit, …), or `None` for the
    /// next column argument (`covariance`'s second value, a weight).
    consts: Vec<Option<Value>>,
    /// Whether it is a `*_if` form (its predicate, applied as `FILTER`, is passed on as true).
    predicate: bool,
    percents: Vec<f64>,
}

#[derive(Debug)]
pub(super) struct KqlAggregate {
    key: String,
    /// Unique per key: DataFusion names expressions after their function and arguments.
    name: String,
    spec: Arc<Spec>,
    signature: Signature,
}

super::udf::keyed!(KqlAggregate);

impl KqlAggregate {
    /// `name(value, consts…)` over the column arguments `values` (each with its KQL type, the
    /// value first), answering `ty`.
    pub(super) fn call(
        values: Vec<(DfExpr, ScalarType)>,
        name: &str,
        ty: ScalarType,
        consts: Vec<Option<Value>>,
        predicate: bool,
        percents: Vec<f64>,
    ) -> DfExpr {
        let (values, columns): (Vec<DfExpr>, Vec<ScalarType>) = values.into_iter().unzip();
        let spec = Spec {
            name: name.to_string(),
            columns,
            ty,
            consts,
            predicate,
            percents,
        };
        let key = format!("{spec:?}");
        let udaf = KqlAggregate {
            name: super::udf::instance_name(&format!("kql_{name}"), &key),
            key,
            spec: Arc::new(spec),
            signature: Signature::any(values.len(), Volatility::Immutable),
        };
        AggregateUDF::new_from_impl(udaf).call(values)
    }

    fn items(&self) -> Vec<FieldRef> {
        let item = |ty| Arc::new(Field::new("item", stored_type(ty), true));
        self.spec.columns.iter().map(|&ty| item(ty)).collect()
    }
}

impl AggregateUDFImpl for KqlAggregate {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(stored_type(self.spec.ty))
    }
    fn accumulator(&self, _: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(Collect {
            spec: Arc::clone(&self.spec),
            items: self.items(),
            values: vec![Vec::new(); self.spec.columns.len()],
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        let list = |(i, item)| {
            let name = format_state_name(args.name, &format!("values{i}"));
            Arc::new(Field::new(name, DataType::List(item), true))
        };
        Ok(self.items().into_iter().enumerate().map(list).collect())
    }
}

#[derive(Debug)]
struct Collect {
    spec: Arc<Spec>,
    items: Vec<FieldRef>,
    /// Each column argument's values, row by row (the columns of equal length).
    values: Vec<Vec<Value>>,
}

impl Accumulator for Collect {
    fn update_batch(&mut self, arrays: &[ArrayRef]) -> DfResult<()> {
        if arrays.len() != self.values.len() {
            return exec_err!("{} needs {} values", self.spec.name, self.values.len());
        }
        for ((values, a), &ty) in self.values.iter_mut().zip(arrays).zip(&self.spec.columns) {
            values.extend(values_of(a.as_ref(), ty));
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        if states.len() != self.values.len() {
            return exec_err!("{} needs its collected values", self.spec.name);
        }
        for ((values, state), &ty) in self.values.iter_mut().zip(states).zip(&self.spec.columns) {
            let Some(lists) = state.as_list_opt::<i32>() else {
                return exec_err!("{} needs its collected values", self.spec.name);
            };
            for i in 0..lists.len() {
                if !lists.is_null(i) {
                    values.extend(values_of(lists.value(i).as_ref(), ty));
                }
            }
        }
        Ok(())
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let mut lists = Vec::with_capacity(self.values.len());
        for ((values, item), &ty) in self.values.iter().zip(&self.items).zip(&self.spec.columns) {
            let Ok(n) = i32::try_from(values.len()) else {
                return exec_err!("{} collected too many values", self.spec.name);
            };
            let list = ListArray::try_new(
                Arc::clone(item),
                OffsetBuffer::new(vec![0, n].into()),
                array_of(values, ty)?,
                None,
            )?;
            lists.push(ScalarValue::List(Arc::new(list)));
        }
        Ok(lists)
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let spec = &self.spec;
        let method = Method::of(&spec.name);
        let mut state = method.state();
        let mut args = Vec::with_capacity(spec.consts.len() + 2);
        let rows = self.values.first().map_or(0, Vec::len);
        for row in 0..rows {
            crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
            let mut column =
                (self.values.iter()).map(|values| values.get(row).cloned().unwrap_or(Value::Null));
            args.clear();
            args.extend(column.next());
            for c in &spec.consts {
                args.push(match c {
                    Some(v) => v.clone(),
                    None => column.next().unwrap_or(Value::Null),
                });
            }
            if spec.predicate {
                args.push(Value::Bool(true));
            }
            state.update(&method, &args, &[]);
        }
        let finished = state.finish(spec.ty, &spec.percents, 1);
        let v = coerce(finished.into_iter().next().unwrap_or(Value::Null), spec.ty);
        ScalarValue::try_from_array(&array_of(&[v], spec.ty)?, 0)
    }

    fn size(&self) -> usize {
        let values: usize = self.values.iter().map(Vec::capacity).sum();
        std::mem::size_of_val(self) + values * std::mem::size_of::<Value>()
    }
}
