//! Parquet files: reading any Arrow schema, and writing tables (the cache of JSONL and CSV files)
//! so that every KQL type survives the round trip.
//!
//! A written column carries its KQL type in the field metadata `kql.type`; datetimes and timespans
//! are stored as Int64 ticks, dynamic values as JSON text and guids as text.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, DurationSecondType,
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value as Json;

use super::{LoadError, TIME_GENERATED, transpose};
use crate::storage::layout::{stored_array, stored_as, stored_type};
use crate::value::table::{Column, Table};
use crate::value::time::parse_file_datetime;
use crate::value::{ScalarType, TICKS_PER_SECOND, Value, null_of};

const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;
/// Field metadata key holding a column's KQL type name.
const KQL_TYPE: &str = "kql.type";
/// Rows per written record batch and row group.
const BATCH_ROWS: usize = 64 * 1024;

/// A Parquet file opened for reading: its columns with their KQL types.
struct Opened {
    file: String,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    columns: Vec<Column>,
    /// The KQL type this module wrote for each column, when the stored layout fits it.
    declared: Vec<Option<ScalarType>>,
}

impl Opened {
    fn open(path: &Path) -> Result<Opened, LoadError> {
        let file = path.display().to_string();
        let handle = File::open(path).map_err(|source| LoadError::Read {
            file: file.clone(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(handle)
            .map_err(|e| parquet_error(&file, e.to_string()))?;
        let schema = Arc::clone(builder.schema());
        let mut columns = Vec::with_capacity(schema.fields().len());
        let mut declared = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let unsupported = || LoadError::UnsupportedColumn {
                file: file.clone(),
                column: field.name().clone(),
                data_type: field.data_type().to_string(),
            };
            let physical = arrow_type(field.data_type()).ok_or_else(unsupported)?;
            // A type this module wrote wins when the stored layout fits it.
            let kql = field
                .metadata()
                .get(KQL_TYPE)
                .and_then(|name| ScalarType::from_name(name))
                .filter(|&ty| stored_as(ty) == physical);
            declared.push(kql);
            let ty = if field.name() == TIME_GENERATED {
                ScalarType::DateTime
            } else {
                kql.unwrap_or(physical)
            };
            columns.push(Column::new(field.name().clone(), ty));
        }
        // DataFusion's batch size: 1,024-row batches (the reader's default) cost it per batch.
        let reader = builder
            .with_batch_size(8 * 1024)
            .build()
            .map_err(|e| parquet_error(&file, e.to_string()))?;
        Ok(Opened {
            file,
            reader,
            columns,
            declared,
        })
    }

    /// Column `c` of a batch as values of the column's type.
    fn values(
        &self,
        c: usize,
        array: &dyn Array,
        first_row: usize,
    ) -> Result<Vec<Value>, LoadError> {
        let column = &self.columns[c];
        let column_error = |problem: String| {
            parquet_error(&self.file, format!("column `{}`: {problem}", column.name))
        };
        let converted = arrow_column(array).map_err(column_error)?;
        let converted = match self.declared[c] {
            Some(ty) => restore(converted, ty).map_err(column_error)?,
            None => converted,
        };
        if column.name == TIME_GENERATED {
            time_generated_from_arrow(&self.file, first_row, converted)
        } else {
            Ok(converted)
        }
    }
}

fn parquet_error(file: &str, problem: String) -> LoadError {
    LoadError::Parquet {
        file: file.to_string(),
        problem,
    }
}

/// Reads a Parquet file as a table.
pub(super) fn read(path: &Path) -> Result<Table, LoadError> {
    let mut opened = Opened::open(path)?;
    let mut rows: Vec<Vec<Value>> = Vec::new();
    while let Some(batch) = opened.reader.next() {
        let batch = batch.map_err(|e| parquet_error(&opened.file, e.to_string()))?;
        let first_row = rows.len();
        let values = (0..opened.columns.len())
            .map(|c| opened.values(c, batch.column(c).as_ref(), first_row))
            .collect::<Result<Vec<_>, _>>()?;
        rows.extend(transpose(values, batch.num_rows()));
    }
    Ok(Table {
        columns: opened.columns,
        rows,
    })
}

/// Reads a Parquet file as record batches in the stored layout (the DataFusion engine's), without
/// a row copy: columns already in that layout are taken as they are.
#[cfg(feature = "datafusion")]
pub fn read_arrow(path: &Path) -> Result<(Vec<Column>, Vec<RecordBatch>), LoadError> {
    let mut opened = Opened::open(path)?;
    let schema = Arc::new(Schema::new(
        opened
            .columns
            .iter()
            .map(|c| Field::new(c.name.clone(), stored_type(c.ty), true))
            .collect::<Vec<_>>(),
    ));
    let mut batches = Vec::new();
    let mut first_row = 0;
    while let Some(batch) = opened.reader.next() {
        let batch = batch.map_err(|e| parquet_error(&opened.file, e.to_string()))?;
        let mut arrays = Vec::with_capacity(opened.columns.len());
        for (c, column) in opened.columns.iter().enumerate() {
            let array = batch.column(c);
            let as_stored = opened.declared[c].is_some() || stored_as(column.ty) == column.ty;
            if as_stored && *array.data_type() == stored_type(column.ty) {
                arrays.push(Arc::clone(array));
            } else {
                let values = opened.values(c, array.as_ref(), first_row)?;
                arrays.push(stored_array(values.iter(), column.ty));
            }
        }
        first_row += batch.num_rows();
        batches.push(
            RecordBatch::try_new(Arc::clone(&schema), arrays)
                .map_err(|e| parquet_error(&opened.file, e.to_string()))?,
        );
    }
    Ok((opened.columns, batches))
}

/// A TimeGenerated column from Parquet: timestamps as they are, text parsed.
fn time_generated_from_arrow(
    file: &str,
    first_row: usize,
    values: Vec<Value>,
) -> Result<Vec<Value>, LoadError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::DateTime(_) | Value::Null => Ok(v),
            Value::String(ref s) if s.is_empty() => Ok(Value::Null),
            Value::String(ref s) => {
                parse_file_datetime(s)
                    .map(Value::DateTime)
                    .ok_or_else(|| LoadError::NotDatetime {
                        file: file.to_string(),
                        at: format!("row {}", first_row + i + 1),
                        value: format!("{s:?}"),
                    })
            }
            other => Err(LoadError::NotDatetime {
                file: file.to_string(),
                at: format!("row {}", first_row + i + 1),
                value: format!(
                    "{other} ({})",
                    other.scalar_type().map_or("null", ScalarType::name)
                ),
            }),
        })
        .collect()
}

/// The KQL type of an Arrow column, `None` when there is none.
fn arrow_type(dt: &DataType) -> Option<ScalarType> {
    use DataType as D;
    Some(match dt {
        D::Boolean => ScalarType::Bool,
        D::Int8 | D::Int16 | D::Int32 => ScalarType::Int,
        D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => ScalarType::Long,
        D::Float16 | D::Float32 | D::Float64 => ScalarType::Real,
        D::Decimal32(..) | D::Decimal64(..) | D::Decimal128(..) | D::Decimal256(..) => {
            ScalarType::Decimal
        }
        D::Utf8 | D::LargeUtf8 | D::Utf8View | D::Null => ScalarType::String,
        D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => ScalarType::String,
        D::Timestamp(..) | D::Date32 | D::Date64 => ScalarType::DateTime,
        D::Duration(_) | D::Time32(_) | D::Time64(_) => ScalarType::TimeSpan,
        D::List(_) | D::LargeList(_) | D::FixedSizeList(..) | D::Struct(_) | D::Map(..) => {
            ScalarType::Dynamic
        }
        D::Dictionary(_, values) => return arrow_type(values),
        _ => return None,
    })
}

/// Every cell of an Arrow column as a KQL value of the column's [`arrow_type`].
fn arrow_column(a: &dyn Array) -> Result<Vec<Value>, String> {
    if let Some(dict) = a.as_any_dictionary_opt() {
        let values = arrow_column(dict.values().as_ref())?;
        let null = arrow_type(a.data_type()).map_or(Value::Null, null_of);
        return Ok(dict
            .normalized_keys()
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                if a.is_null(i) {
                    null.clone()
                } else {
                    values.get(k).cloned().unwrap_or(Value::Null)
                }
            })
            .collect());
    }
    (0..a.len()).map(|i| arrow_cell(a, i)).collect()
}

fn prim<T: ArrowPrimitiveType>(a: &dyn Array) -> Result<&PrimitiveArray<T>, String> {
    a.as_primitive_opt::<T>()
        .ok_or_else(|| format!("unexpected layout for {}", a.data_type()))
}

fn layout(a: &dyn Array) -> String {
    format!("unexpected layout for {}", a.data_type())
}

/// A Parquet decimal, exact: `unscaled / 10^scale`, from its digits.
fn decimal(unscaled: impl std::fmt::Display, scale: i8) -> Value {
    crate::value::Decimal::parse(&format!("{unscaled}e{}", -i32::from(scale)))
        .map_or(Value::Null, Value::Decimal)
}

/// One cell of an Arrow array.
fn arrow_cell(a: &dyn Array, i: usize) -> Result<Value, String> {
    use DataType as D;
    let ty =
        arrow_type(a.data_type()).ok_or_else(|| format!("{} is not supported", a.data_type()))?;
    if a.is_null(i) || matches!(a.data_type(), D::Null) {
        return Ok(null_of(ty));
    }
    let tick = |units_per_second: i64, v: i64| {
        if units_per_second >= TICKS_PER_SECOND {
            v.div_euclid(units_per_second / TICKS_PER_SECOND)
        } else {
            v.saturating_mul(TICKS_PER_SECOND / units_per_second)
        }
    };
    let per_second = |unit: &TimeUnit| match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    Ok(match a.data_type() {
        D::Boolean => Value::Bool(a.as_boolean_opt().ok_or_else(|| layout(a))?.value(i)),
        D::Int8 => Value::Int(i32::from(prim::<Int8Type>(a)?.value(i))),
        D::Int16 => Value::Int(i32::from(prim::<Int16Type>(a)?.value(i))),
        D::Int32 => Value::Int(prim::<Int32Type>(a)?.value(i)),
        D::Int64 => Value::Long(prim::<Int64Type>(a)?.value(i)),
        D::UInt8 => Value::Long(i64::from(prim::<UInt8Type>(a)?.value(i))),
        D::UInt16 => Value::Long(i64::from(prim::<UInt16Type>(a)?.value(i))),
        D::UInt32 => Value::Long(i64::from(prim::<UInt32Type>(a)?.value(i))),
        D::UInt64 => {
            i64::try_from(prim::<UInt64Type>(a)?.value(i)).map_or(Value::Null, Value::Long)
        }
        D::Float16 => Value::Real(f64::from(prim::<Float16Type>(a)?.value(i))),
        D::Float32 => Value::Real(f64::from(prim::<Float32Type>(a)?.value(i))),
        D::Float64 => Value::Real(prim::<Float64Type>(a)?.value(i)),
        D::Decimal32(_, scale) => decimal(prim::<Decimal32Type>(a)?.value(i), *scale),
        D::Decimal64(_, scale) => decimal(prim::<Decimal64Type>(a)?.value(i), *scale),
        D::Decimal128(_, scale) => decimal(prim::<Decimal128Type>(a)?.value(i), *scale),
        D::Decimal256(_, scale) => decimal(prim::<Decimal256Type>(a)?.value(i), *scale),
        D::Utf8 => Value::str(a.as_string_opt::<i32>().ok_or_else(|| layout(a))?.value(i)),
        D::LargeUtf8 => Value::str(a.as_string_opt::<i64>().ok_or_else(|| layout(a))?.value(i)),
        D::Utf8View => Value::str(a.as_string_view_opt().ok_or_else(|| layout(a))?.value(i)),
        D::Binary => Value::str(hex(a
            .as_binary_opt::<i32>()
            .ok_or_else(|| layout(a))?
            .value(i))),
        D::LargeBinary => Value::str(hex(a
            .as_binary_opt::<i64>()
            .ok_or_else(|| layout(a))?
            .value(i))),
        D::BinaryView => Value::str(hex(a
            .as_binary_view_opt()
            .ok_or_else(|| layout(a))?
            .value(i))),
        D::FixedSizeBinary(_) => Value::str(hex(a
            .as_fixed_size_binary_opt()
            .ok_or_else(|| layout(a))?
            .value(i))),
        D::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => prim::<TimestampSecondType>(a)?.value(i),
                TimeUnit::Millisecond => prim::<TimestampMillisecondType>(a)?.value(i),
                TimeUnit::Microsecond => prim::<TimestampMicrosecondType>(a)?.value(i),
                TimeUnit::Nanosecond => prim::<TimestampNanosecondType>(a)?.value(i),
            };
            Value::DateTime(tick(per_second(unit), v))
        }
        D::Date32 => Value::DateTime(
            i64::from(prim::<Date32Type>(a)?.value(i)).saturating_mul(TICKS_PER_DAY),
        ),
        D::Date64 => Value::DateTime(tick(1_000, prim::<Date64Type>(a)?.value(i))),
        D::Duration(unit) => {
            let v = match unit {
                TimeUnit::Second => prim::<DurationSecondType>(a)?.value(i),
                TimeUnit::Millisecond => prim::<DurationMillisecondType>(a)?.value(i),
                TimeUnit::Microsecond => prim::<DurationMicrosecondType>(a)?.value(i),
                TimeUnit::Nanosecond => prim::<DurationNanosecondType>(a)?.value(i),
            };
            Value::TimeSpan(tick(per_second(unit), v))
        }
        D::Time32(unit) => {
            let v = match unit {
                TimeUnit::Millisecond => prim::<Time32MillisecondType>(a)?.value(i),
                _ => prim::<Time32SecondType>(a)?.value(i),
            };
            Value::TimeSpan(tick(per_second(unit), i64::from(v)))
        }
        D::Time64(unit) => {
            let v = match unit {
                TimeUnit::Nanosecond => prim::<Time64NanosecondType>(a)?.value(i),
                _ => prim::<Time64MicrosecondType>(a)?.value(i),
            };
            Value::TimeSpan(tick(per_second(unit), v))
        }
        _ => Value::dynamic(arrow_json(a, i)?),
    })
}

/// One cell of a nested Arrow value as JSON.
fn arrow_json(a: &dyn Array, i: usize) -> Result<Json, String> {
    use DataType as D;
    if a.is_null(i) || matches!(a.data_type(), D::Null) {
        return Ok(Json::Null);
    }
    let list = |items: &dyn Array| -> Result<Json, String> {
        (0..items.len())
            .map(|j| arrow_json(items, j))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array)
    };
    match a.data_type() {
        D::List(_) => list(
            a.as_list_opt::<i32>()
                .ok_or_else(|| layout(a))?
                .value(i)
                .as_ref(),
        ),
        D::LargeList(_) => list(
            a.as_list_opt::<i64>()
                .ok_or_else(|| layout(a))?
                .value(i)
                .as_ref(),
        ),
        D::FixedSizeList(..) => list(
            a.as_fixed_size_list_opt()
                .ok_or_else(|| layout(a))?
                .value(i)
                .as_ref(),
        ),
        D::Struct(fields) => {
            let s = a.as_struct_opt().ok_or_else(|| layout(a))?;
            let mut obj = serde_json::Map::new();
            for (field, column) in fields.iter().zip(s.columns()) {
                obj.insert(field.name().clone(), arrow_json(column.as_ref(), i)?);
            }
            Ok(Json::Object(obj))
        }
        D::Map(..) => {
            let entries = a.as_map_opt().ok_or_else(|| layout(a))?.value(i);
            let (keys, values) = match entries.columns() {
                [k, v] => (k, v),
                _ => return Err(layout(a)),
            };
            let mut obj = serde_json::Map::new();
            for j in 0..entries.len() {
                let key = match arrow_json(keys.as_ref(), j)? {
                    Json::String(s) => s,
                    other => other.to_string(),
                };
                obj.insert(key, arrow_json(values.as_ref(), j)?);
            }
            Ok(Json::Object(obj))
        }
        D::Dictionary(..) => {
            let dict = a.as_any_dictionary_opt().ok_or_else(|| layout(a))?;
            let key = dict
                .normalized_keys()
                .get(i)
                .copied()
                .ok_or_else(|| layout(a))?;
            arrow_json(dict.values().as_ref(), key)
        }
        _ => arrow_cell(a, i).map(|v| v.to_json()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Turns stored values back into `ty` (ticks into datetimes, JSON text into dynamic values, …).
fn restore(values: Vec<Value>, ty: ScalarType) -> Result<Vec<Value>, String> {
    values
        .into_iter()
        .map(|v| {
            Ok(match (ty, v) {
                (_, Value::Null) => null_of(ty),
                (ScalarType::DateTime, Value::Long(t)) => Value::DateTime(t),
                (ScalarType::TimeSpan, Value::Long(t)) => Value::TimeSpan(t),
                (ScalarType::Decimal, Value::Real(x)) => Value::decimal(x),
                (ScalarType::Guid | ScalarType::Dynamic, Value::String(s)) if s.is_empty() => {
                    Value::Null
                }
                (ScalarType::Guid, Value::String(s)) => uuid::Uuid::parse_str(&s)
                    .map(Value::Guid)
                    .map_err(|e| format!("{s:?} is not a guid: {e}"))?,
                (ScalarType::Dynamic, Value::String(s)) => serde_json::from_str::<Json>(&s)
                    .map(Value::dynamic)
                    .map_err(|e| format!("{s:?} is not JSON: {e}"))?,
                (_, v) => v,
            })
        })
        .collect()
}

/// Writes `table` as a Parquet file (Snappy) that [`read`] turns back into the same table.
pub fn write_parquet(table: &Table, path: &Path) -> Result<(), LoadError> {
    let file = path.display().to_string();
    let write_error = |problem: String| LoadError::Write {
        file: file.clone(),
        problem,
    };
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| {
            let physical = stored_type(c.ty);
            let metadata = HashMap::from([(KQL_TYPE.to_string(), c.ty.name().to_string())]);
            Field::new(c.name.clone(), physical, true).with_metadata(metadata)
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let handle = File::create(path).map_err(|e| write_error(e.to_string()))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(BATCH_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(handle, Arc::clone(&schema), Some(props))
        .map_err(|e| write_error(e.to_string()))?;
    for chunk in table.rows.chunks(BATCH_ROWS) {
        let arrays: Vec<ArrayRef> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                stored_array(chunk.iter().map(|r| r.get(i).unwrap_or(&Value::Null)), c.ty)
            })
            .collect();
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)
            .map_err(|e| write_error(e.to_string()))?;
        writer
            .write(&batch)
            .map_err(|e| write_error(e.to_string()))?;
    }
    writer.close().map_err(|e| write_error(e.to_string()))?;
    Ok(())
}
