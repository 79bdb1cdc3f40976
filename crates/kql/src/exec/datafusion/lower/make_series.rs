//! `make-series … from … to … step … by …` (and `… in range(from, to, step)`) as two DataFusion
//! aggregates: the rows inside the range summarized by the keys and their bin number, then each
//! group's bins gathered into the series arrays, empty bins holding the aggregate's default, as
//! the row engine's `make_series` answers. A series without `from` and `to` (whose range the
//! data decides) stays on the row engine.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ListArray};
use arrow_schema::DataType;
use datafusion::common::{DataFusionError, Result as DfResult, exec_err};
use datafusion::functions::core::expr_fn::named_struct;
use datafusion::functions_aggregate::expr_fn::{array_agg, count};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::bind::expr::CExpr;
use crate::exec::datafusion::udf::instance_name;
use crate::exec::rows::ops::{Out, Summary};
use crate::exec::rows::summarize::{SeriesBinding, series_axis, series_bins, series_number};
use crate::storage::arrow_table::{array_of, values_of};
use crate::syntax::ast::MakeSeries;
use crate::value::convert::dyn_json;

use super::*;

/// The bin number's column between the two aggregates.
const BIN: &str = "__bin";

impl<'a> Lowering<'_, 'a> {
    /// `make-series` with a constant `from` and `to`.
    pub(super) fn make_series(
        &mut self,
        p: Plan,
        op: &'a Operator,
        ms: &'a MakeSeries,
    ) -> Result<Plan, Fallback> {
        let (Some(from), Some(to)) = (&ms.from, &ms.to) else {
            return Err("make-series without from and to".into());
        };
        // The output's names and types, and the binder's errors, are the row engine's own (on
        // no rows, which also checks the step).
        let shape = self
            .engine
            .operator(Table::new(p.columns.clone()), op, &self.env)
            .map_err(|e| e.to_string())?;
        let (axis, axis_ty) = self.bind(&ms.axis, &p.columns)?;
        if !matches!(
            axis_ty,
            ScalarType::DateTime
                | ScalarType::TimeSpan
                | ScalarType::Long
                | ScalarType::Int
                | ScalarType::Real
        ) {
            return Err(format!("make-series on a {axis_ty} axis"));
        }
        let mut number = |e: &'a Expr| -> Result<f64, Fallback> {
            let v = self
                .engine
                .constant(e, &self.env)
                .map_err(|e| e.to_string())?;
            series_number(&v).ok_or_else(|| "a make-series bound that is not a number".into())
        };
        let (from, to, step) = (number(from)?, number(to)?, number(&ms.step)?);
        let bins = series_bins(from, to, step);

        // The rows inside the range, with their bin as the row engine computes it (in f64).
        let x = cast(self.expr(&axis, axis_ty, &p.columns)?, DataType::Float64);
        let inside = x
            .clone()
            .gt_eq(lit(from))
            .and(x.clone().lt(lit(from + step * bins as f64)));
        let bin = cast((x - lit(from)) / lit(step), DataType::Int64);
        let last = lit(bins.saturating_sub(1) as i64);
        let bin = datafusion::logical_expr::when(bin.clone().gt(last.clone()), last)
            .otherwise(bin)
            .map_err(|e| e.to_string())?;
        let (mut cols, mut exprs) = as_is(&p.columns);
        set_column(
            &mut cols,
            &mut exprs,
            Column::new(BIN, ScalarType::Long),
            bin.alias(BIN),
        );
        let binned = self.build(
            cols.clone(),
            p.parallel,
            |b| b.filter(inside)?.project(exprs),
            p.plan,
        )?;

        // One row per group and bin: the keys, the bin, each output expression.
        let extra = (
            CExpr::Col(cols.len() - 1),
            Column::new(BIN, ScalarType::Long),
        );
        let SeriesBinding {
            key_exprs,
            key_cols,
            specs,
            outs,
        } = self
            .engine
            .bind_series(op, ms, &cols, Some(extra), &self.env)
            .map_err(|e| e.to_string())?;
        let keys = ms.by.len();
        let series = |i: usize| format!("__s{i}");
        let mut out_cols = key_cols.clone();
        out_cols.extend(
            outs.iter()
                .enumerate()
                .map(|(i, (_, ty))| Column::new(series(i), *ty)),
        );
        let mut defaults = Vec::new();
        for ((_, d), (_, ty)) in ms.aggs.iter().zip(&outs) {
            let v = match d {
                Some(d) => self
                    .engine
                    .constant(d, &self.env)
                    .map_err(|e| e.to_string())?,
                None => Value::Long(0),
            };
            defaults.push((coerce(v, *ty), *ty));
        }
        let summary = Summary {
            key_exprs,
            key_cols,
            specs,
            outs: outs.into_iter().map(|(c, ty)| Out::Expr(c, ty)).collect(),
            out_cols,
        };
        let cells = self.summarize(binned, summary)?;

        // One row per group: each output's (bin, value) pairs, made into its series.
        let group: Vec<DfExpr> = shape.columns[..keys]
            .iter()
            .map(|c| column(&c.name))
            .collect();
        let mut aggs: Vec<DfExpr> = (0..defaults.len())
            .map(|i| {
                array_agg(named_struct(vec![
                    lit("b"),
                    column(BIN),
                    lit("v"),
                    column(&series(i)),
                ]))
                .alias(series(i))
            })
            .collect();
        aggs.push(count(lit(1)).alias("__n"));
        // Without keys an aggregate answers one row even over no rows: the row engine answers
        // none then, but for `kind=nonempty`.
        let empty_row = keys == 0 && !ms.nonempty;
        let axis_text = Value::dynamic(serde_json::Value::Array(series_axis(
            from, step, bins, axis_ty,
        )));
        let axis_name = shape.columns.last().ok_or("make-series without an axis")?;
        let mut exprs: Vec<DfExpr> = shape.columns[..keys]
            .iter()
            .map(|c| column(&c.name))
            .collect();
        for (i, ((default, ty), col)) in
            defaults.into_iter().zip(&shape.columns[keys..]).enumerate()
        {
            exprs.push(
                SeriesUdf::call(column(&series(i)), bins, default, ty).alias(col.name.clone()),
            );
        }
        exprs.push(constant(&axis_text, ScalarType::Dynamic).alias(axis_name.name.clone()));
        self.build(
            shape.columns.clone(),
            p.parallel,
            |b| {
                let b = b.aggregate(group, aggs)?;
                let b = if empty_row {
                    b.filter(column("__n").gt(lit(0i64)))?
                } else {
                    b
                };
                b.project(exprs)
            },
            cells.plan,
        )
    }
}

/// A group's series: `bins` values, each the value given for that bin (a list of
/// `{b: bin, v: value}`) or the default.
#[derive(Debug)]
struct SeriesUdf {
    key: String,
    name: String,
    bins: usize,
    default: serde_json::Value,
    ty: ScalarType,
    signature: Signature,
}

super::super::udf::keyed!(SeriesUdf);

impl SeriesUdf {
    fn call(cells: DfExpr, bins: usize, default: Value, ty: ScalarType) -> DfExpr {
        let default = dyn_json(&default);
        let key = format!("{bins}|{default}|{ty:?}");
        let udf = SeriesUdf {
            name: instance_name("kql_series", &key),
            key,
            bins,
            default,
            ty,
            signature: Signature::any(1, Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![cells])
    }
}

impl ScalarUDFImpl for SeriesUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(stored_type(ScalarType::Dynamic))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let Some(cells) = args.args.into_iter().next() else {
            return exec_err!("kql_series needs one argument");
        };
        let cells = cells.into_array(n)?;
        let Some(lists) = cells.as_any().downcast_ref::<ListArray>() else {
            return exec_err!("kql_series of a {}", cells.data_type());
        };
        let mut out = Vec::with_capacity(lists.len());
        for i in 0..lists.len() {
            crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
            let mut series = vec![self.default.clone(); self.bins];
            if lists.is_valid(i) {
                let pairs = lists.value(i);
                let pairs = pairs.as_struct();
                let at = pairs.column(0).as_primitive::<Int64Type>();
                let values = values_of(pairs.column(1).as_ref(), self.ty);
                for (b, v) in at.iter().zip(&values) {
                    if let Some(slot) = b.and_then(|b| series.get_mut(usize::try_from(b).ok()?)) {
                        *slot = dyn_json(v);
                    }
                }
            }
            out.push(Value::dynamic(serde_json::Value::Array(series)));
        }
        Ok(ColumnarValue::Array(array_of(&out, ScalarType::Dynamic)?))
    }
}
