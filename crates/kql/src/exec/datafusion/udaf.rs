//! KQL aggregates DataFusion has no native form for, as one DataFusion UDAF over the row
//! engine's aggregate state (`AggState`): `make_set`, `make_list`, `make_bag`, `stdev`,
//! `variance`, `percentile`, `take_any`, … keep one definition, whichever engine runs them.
//!
//! A group's accumulator collects the values it sees; its partial state (for DataFusion's
//! two-phase aggregation across partitions) is that list, and the final value is what the row
//! engine's `AggState` makes of it. `*_if` forms get their predicate as DataFusion's `FILTER`.

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
    arg: ScalarType,
    ty: ScalarType,
    /// The constant arguments after the value (a `make_set` limit, …).
    consts: Vec<Value>,
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

impl PartialEq for KqlAggregate {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for KqlAggregate {}
impl std::hash::Hash for KqlAggregate {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl KqlAggregate {
    /// `name(value, consts…)` over `value` (of KQL type `arg`), answering `ty`.
    pub(super) fn call(
        value: DfExpr,
        name: &str,
        (arg, ty): (ScalarType, ScalarType),
        consts: Vec<Value>,
        predicate: bool,
        percents: Vec<f64>,
    ) -> DfExpr {
        let spec = Spec {
            name: name.to_string(),
            arg,
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
            signature: Signature::any(1, Volatility::Immutable),
        };
        AggregateUDF::new_from_impl(udaf).call(vec![value])
    }

    fn item(&self) -> FieldRef {
        Arc::new(Field::new("item", stored_type(self.spec.arg), true))
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
            item: self.item(),
            values: Vec::new(),
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "values"),
            DataType::List(self.item()),
            true,
        ))])
    }
}

#[derive(Debug)]
struct Collect {
    spec: Arc<Spec>,
    item: FieldRef,
    values: Vec<Value>,
}

impl Accumulator for Collect {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let Some(a) = values.first() else {
            return exec_err!("{} needs a value", self.spec.name);
        };
        self.values.extend(values_of(a.as_ref(), self.spec.arg));
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let Some(lists) = states.first().and_then(|s| s.as_list_opt::<i32>()) else {
            return exec_err!("{} needs its collected values", self.spec.name);
        };
        for i in 0..lists.len() {
            if !lists.is_null(i) {
                self.values
                    .extend(values_of(lists.value(i).as_ref(), self.spec.arg));
            }
        }
        Ok(())
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let n = i32::try_from(self.values.len());
        let Ok(n) = n else {
            return exec_err!("{} collected too many values", self.spec.name);
        };
        let list = ListArray::try_new(
            Arc::clone(&self.item),
            OffsetBuffer::new(vec![0, n].into()),
            array_of(&self.values, self.spec.arg)?,
            None,
        )?;
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let spec = &self.spec;
        let method = Method::of(&spec.name);
        let mut state = method.state();
        let mut args = Vec::with_capacity(spec.consts.len() + 2);
        for v in &self.values {
            crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
            args.clear();
            args.push(v.clone());
            args.extend(spec.consts.iter().cloned());
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
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<Value>()
    }
}
