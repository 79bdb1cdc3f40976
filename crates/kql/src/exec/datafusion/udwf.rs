//! A bound KQL expression that reads neighbouring rows (`prev`/`next` of another type than their
//! default, the running values `row_cumsum`, `row_rank_*`, `row_window_session`,
//! `row_number(start, restart)`) as one DataFusion window function over the whole serialized
//! input, evaluated by the row engine's evaluator: one definition of each, whichever engine runs
//! it. The simple forms are native window functions instead (`lower/window.rs`).

use std::ops::Range;

use arrow_array::ArrayRef;
use arrow_schema::{Field, FieldRef};
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Expr as DfExpr, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::udf::{RowExpr, evaluate_rows};
use crate::bind::expr::CExpr;
use crate::storage::layout::stored_type;
use crate::value::ScalarType;

/// A bound expression over some columns, evaluated on every row of the serialized input with
/// all the input's rows in reach.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct SerialUdwf(RowExpr);

impl std::ops::Deref for SerialUdwf {
    type Target = RowExpr;
    fn deref(&self) -> &RowExpr {
        &self.0
    }
}

impl SerialUdwf {
    /// `expr` reads only `Col(0..args.len())`; the window is the whole input (no partition, no
    /// order: the input's order is the serialized order).
    pub(super) fn call(expr: CExpr, args: Vec<(DfExpr, ScalarType)>, ty: ScalarType) -> DfExpr {
        let udwf = SerialUdwf(RowExpr::new(
            "kql_serial",
            expr,
            &args,
            ty,
            Volatility::Immutable,
        ));
        WindowUDF::new_from_impl(udwf).call(args.into_iter().map(|(e, _)| e).collect())
    }
}

impl WindowUDFImpl for SerialUdwf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> DfResult<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(SerialEvaluator {
            expr: self.expr.clone(),
            args: self.args.clone(),
            ty: self.ty,
        }))
    }
    fn field(&self, field_args: WindowUDFFieldArgs) -> DfResult<FieldRef> {
        Ok(Field::new(field_args.name(), stored_type(self.ty), true).into())
    }
}

#[derive(Debug)]
struct SerialEvaluator {
    expr: CExpr,
    args: Vec<ScalarType>,
    ty: ScalarType,
}

impl PartitionEvaluator for SerialEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> DfResult<ArrayRef> {
        evaluate_rows(&self.expr, values, &self.args, num_rows, self.ty)
    }

    // Only `evaluate_all` is used: the window has no frame and needs the whole input.
    fn evaluate(&mut self, _: &[ArrayRef], _: &Range<usize>) -> DfResult<ScalarValue> {
        exec_err!("a serialized KQL expression is evaluated over the whole input at once")
    }
}
