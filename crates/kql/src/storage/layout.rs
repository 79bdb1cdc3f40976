//! The stored layout: the Arrow type each KQL type is kept as, in the Parquet files the catalog
//! writes and in the batches DataFusion runs on.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray};
use arrow_schema::DataType;

use crate::value::{ScalarType, Value};

/// The KQL type whose Arrow layout stores values of `ty` in files this module writes.
pub(crate) fn stored_as(ty: ScalarType) -> ScalarType {
    match ty {
        ScalarType::DateTime | ScalarType::TimeSpan => ScalarType::Long,
        ScalarType::Decimal => ScalarType::Real,
        ScalarType::Guid | ScalarType::Dynamic => ScalarType::String,
        other => other,
    }
}

/// The Arrow type values of `ty` are stored as.
pub(crate) fn stored_type(ty: ScalarType) -> DataType {
    match stored_as(ty) {
        ScalarType::Bool => DataType::Boolean,
        ScalarType::Int => DataType::Int32,
        ScalarType::Long => DataType::Int64,
        ScalarType::Real => DataType::Float64,
        _ => DataType::Utf8,
    }
}

/// Values of type `ty` in their stored layout (also the DataFusion engine's layout); a value of
/// another type is written as null.
pub(crate) fn stored_array<'v>(cells: impl Iterator<Item = &'v Value>, ty: ScalarType) -> ArrayRef {
    match stored_as(ty) {
        ScalarType::Bool => Arc::new(
            cells
                .map(|v| match v {
                    Value::Bool(b) => Some(*b),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        ScalarType::Int => Arc::new(
            cells
                .map(|v| match v {
                    Value::Int(n) => Some(*n),
                    _ => None,
                })
                .collect::<Int32Array>(),
        ),
        ScalarType::Long => Arc::new(
            cells
                .map(|v| match v {
                    Value::Long(n) | Value::DateTime(n) | Value::TimeSpan(n) => Some(*n),
                    _ => None,
                })
                .collect::<Int64Array>(),
        ),
        ScalarType::Real => Arc::new(
            cells
                .map(|v| match v {
                    Value::Real(x) => Some(*x),
                    Value::Decimal(d) => Some(d.to_f64()),
                    _ => None,
                })
                .collect::<Float64Array>(),
        ),
        _ => Arc::new(
            cells
                .map(|v| match v {
                    Value::Null => None,
                    Value::String(s) if ty != ScalarType::Dynamic => Some(s.to_string()),
                    v if ty == ScalarType::Dynamic => Some(v.to_json().to_string()),
                    v => Some(v.to_string()),
                })
                .collect::<StringArray>(),
        ),
    }
}
