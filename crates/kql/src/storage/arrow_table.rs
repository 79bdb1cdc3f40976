//! Tables as Arrow batches in the stored layout (the one Parquet files written by the catalog
//! use): bool → Boolean, int → Int32, long/datetime/timespan → Int64 (ticks), real/decimal →
//! Float64, string/guid/dynamic → Utf8 (dynamic as JSON text). Column types stay KQL types,
//! carried beside the batches.

use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;

use datafusion::common::{DataFusionError, Result as DfResult, exec_err};

use super::layout::{stored_array, stored_type};
use crate::budget::QueryBudget;
use crate::value::size::{LARGE, value_bytes};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value, null_of};

use crate::error::KqlError;

/// Rows per DataFusion batch (and per batch made of a row table).
pub(crate) const BATCH_ROWS: usize = 8 * 1024;

/// Tables with at least this many rows are scanned in parallel partitions; smaller ones in one,
/// which keeps their row order (and the order of groups) as the row engine gives it.
pub(crate) const PARALLEL_ROWS: usize = 256 * 1024;

/// A table as Arrow batches.
pub struct ArrowTable {
    pub(crate) columns: Vec<Column>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    rows: usize,
    provider: OnceLock<Arc<MemTable>>,
    /// Each column's longest text in bytes (0 for other types), found once.
    longest: OnceLock<Vec<usize>>,
}

impl std::fmt::Debug for ArrowTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowTable")
            .field("columns", &self.columns)
            .field("rows", &self.rows)
            .finish()
    }
}

/// The Arrow schema of columns in the stored layout.
pub(crate) fn schema_of(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name.clone(), stored_type(c.ty), true))
            .collect::<Vec<_>>(),
    ))
}

impl ArrowTable {
    /// Batches already in the stored layout of `columns`.
    pub fn new(columns: Vec<Column>, batches: Vec<RecordBatch>) -> ArrowTable {
        let schema = schema_of(&columns);
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        ArrowTable {
            columns,
            schema,
            batches,
            rows,
            provider: OnceLock::new(),
            longest: OnceLock::new(),
        }
    }

    /// A row table as batches.
    pub fn from_table(table: &Table) -> ArrowTable {
        let schema = schema_of(&table.columns);
        let batches = table
            .rows
            .chunks(BATCH_ROWS)
            .filter_map(|chunk| {
                let arrays = (0..table.columns.len())
                    .map(|i| {
                        stored_array(
                            chunk.iter().map(|r| r.get(i).unwrap_or(&Value::Null)),
                            table.columns[i].ty,
                        )
                    })
                    .collect();
                RecordBatch::try_new(Arc::clone(&schema), arrays).ok()
            })
            .collect();
        ArrowTable::new(table.columns.clone(), batches)
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The batches as a row table.
    pub fn to_table(&self) -> Table {
        batches_to_table(&self.columns, &self.batches)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// The longest text in column `name` in bytes, `None` if there is no such text column.
    /// Read from the offsets of every batch once, then kept: a bound on what a row of the table
    /// holds there that costs nothing per query.
    pub(crate) fn longest_text(&self, name: &str) -> Option<usize> {
        let i = self.columns.iter().position(|c| c.name == name)?;
        if stored_type(self.columns[i].ty) != DataType::Utf8 {
            return None;
        }
        let longest = self.longest.get_or_init(|| {
            crate::budget::outside_query(|| {
                (0..self.columns.len())
                    .map(|c| {
                        self.batches
                            .iter()
                            .filter_map(|b| b.column(c).as_string_opt::<i32>())
                            .map(|t| longest_step(t.value_offsets()))
                            .max()
                            .unwrap_or(0)
                    })
                    .collect()
            })
        });
        longest.get(i).copied()
    }

    /// A DataFusion table over the batches (made once): one partition for small tables, one per
    /// core for large ones.
    pub(crate) fn provider(&self) -> Result<Arc<MemTable>, String> {
        if let Some(p) = self.provider.get() {
            return Ok(Arc::clone(p));
        }
        let partitions = self
            .partitions()
            .into_iter()
            .map(|p| p.into_iter().map(|(b, _)| b).collect())
            .collect();
        let table =
            MemTable::try_new(Arc::clone(&self.schema), partitions).map_err(|e| e.to_string())?;
        Ok(Arc::clone(self.provider.get_or_init(|| Arc::new(table))))
    }

    /// The batches as DataFusion partitions read them: one partition for small tables, one per
    /// core for large ones, batches dealt round-robin so a filtered table keeps its partitions
    /// even. Each batch comes with the table row it starts at; a partition yields its batches
    /// in table order.
    pub(crate) fn partitions(&self) -> Vec<Vec<(RecordBatch, usize)>> {
        let parts = if self.rows >= PARALLEL_ROWS {
            parallelism()
        } else {
            1
        };
        let mut partitions = vec![Vec::new(); parts];
        let mut start = 0;
        for (i, b) in self.batches.iter().enumerate() {
            partitions[i % parts].push((b.clone(), start));
            start += b.num_rows();
        }
        partitions
    }

    /// The Arrow schema of the batches.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

/// Batches (in the stored layout of `columns`) as a row table.
pub(crate) fn batches_to_table(columns: &[Column], batches: &[RecordBatch]) -> Table {
    rows_of_batches(columns, batches, || Ok(())).unwrap_or_default()
}

/// [`batches_to_table`] for a query: its budget is checked after each batch.
pub(crate) fn batches_to_query_table(
    columns: &[Column],
    batches: &[RecordBatch],
) -> Result<Table, KqlError> {
    rows_of_batches(columns, batches, crate::budget::check)
}

fn rows_of_batches(
    columns: &[Column],
    batches: &[RecordBatch],
    mut check: impl FnMut() -> Result<(), KqlError>,
) -> Result<Table, KqlError> {
    let mut rows: Vec<Vec<Value>> = Vec::new();
    for batch in batches {
        check()?;
        let values: Vec<Vec<Value>> = columns
            .iter()
            .zip(batch.columns())
            .map(|(c, a)| values_of(a.as_ref(), c.ty))
            .collect();
        let first = rows.len();
        rows.extend((0..batch.num_rows()).map(|_| Vec::with_capacity(columns.len())));
        for column in values {
            for (row, v) in rows[first..].iter_mut().zip(column) {
                row.push(v);
            }
        }
    }
    Ok(Table {
        columns: columns.to_vec(),
        rows,
    })
}

/// An array in the stored layout of `ty` as values (other layouts are cast first; what cannot be
/// read is null).
pub(crate) fn values_of(array: &dyn Array, ty: ScalarType) -> Vec<Value> {
    let want = stored_type(ty);
    let cast;
    let array: &dyn Array = if *array.data_type() == want {
        array
    } else {
        match datafusion::arrow::compute::cast(array, &want) {
            Ok(a) => {
                cast = a;
                cast.as_ref()
            }
            Err(_) => return vec![Value::Null; array.len()],
        }
    };
    let n = array.len();
    let null = || null_of(ty);
    match want {
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        null()
                    } else {
                        Value::Bool(a.value(i))
                    }
                })
                .collect()
        }
        DataType::Int32 => primitive::<Int32Type>(array, null, Value::Int),
        DataType::Int64 => primitive::<Int64Type>(
            array,
            null,
            match ty {
                ScalarType::DateTime => Value::DateTime,
                ScalarType::TimeSpan => Value::TimeSpan,
                _ => Value::Long,
            },
        ),
        DataType::Float64 => primitive::<Float64Type>(
            array,
            null,
            if ty == ScalarType::Decimal {
                Value::decimal
            } else {
                Value::Real
            },
        ),
        _ => {
            let a = array.as_string::<i32>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        return null();
                    }
                    let s = a.value(i);
                    match ty {
                        ScalarType::Guid => uuid::Uuid::parse_str(s)
                            .map(Value::Guid)
                            .unwrap_or(Value::Null),
                        ScalarType::Dynamic => serde_json::from_str(s)
                            .map(Value::dynamic)
                            .unwrap_or(Value::Null),
                        _ => Value::str(s),
                    }
                })
                .collect()
        }
    }
}

/// A primitive array's values through `make` (nulls through `null`).
fn primitive<T: arrow_array::ArrowPrimitiveType>(
    array: &dyn Array,
    null: impl Fn() -> Value,
    make: impl Fn(T::Native) -> Value,
) -> Vec<Value> {
    let a = array.as_primitive::<T>();
    (0..a.len())
        .map(|i| {
            if a.is_null(i) {
                null()
            } else {
                make(a.value(i))
            }
        })
        .collect()
}

/// The largest step between consecutive offsets: the longest value (or list) they delimit.
/// A fold over `i32`s, which the compiler vectorises.
pub(crate) fn longest_step(offsets: &[i32]) -> usize {
    let steps = offsets
        .iter()
        .zip(offsets.iter().skip(1))
        .map(|(a, b)| b - a);
    steps.fold(0, i32::max) as usize
}

/// The widest value (or row) DataFusion may copy into every row of a batch (a constant, a
/// row a join or mv-expand repeats): a quarter of the query's budget over a batch's rows. The
/// row engine shares one copy of a value between rows; in DataFusion each row gets its own.
pub(crate) fn copy_limit(budget: &QueryBudget) -> usize {
    (budget.limit() / (4 * BATCH_ROWS)).max(1024)
}

/// Values of type `ty` as an array in its stored layout, for the query the current thread works
/// for: when the values are large, the bytes copied are reserved from its budget first.
pub(crate) fn array_of(values: &[Value], ty: ScalarType) -> DfResult<ArrayRef> {
    reserve_copy(values, false)?;
    Ok(stored_array(values.iter(), ty))
}

/// [`array_of`] for values rows may share (the row engine's evaluator gives every row the same
/// copy of a constant): when they would take more than a quarter of the budget in one batch,
/// the query is left to the row engine, which keeps the one copy.
pub(crate) fn shared_array_of(values: &[Value], ty: ScalarType) -> DfResult<ArrayRef> {
    reserve_copy(values, true)?;
    Ok(stored_array(values.iter(), ty))
}

fn reserve_copy(values: &[Value], shared: bool) -> DfResult<()> {
    let total = values
        .iter()
        .fold(0usize, |acc, v| acc.saturating_add(value_bytes(v)));
    if total < LARGE {
        return Ok(());
    }
    if shared
        && (!crate::budget::fits(total)
            || crate::budget::current().is_some_and(|b| total > b.limit() / 4))
    {
        return exec_err!("{total} bytes of values in one batch: left to the row engine");
    }
    crate::budget::reserve(total).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// Threads DataFusion runs a large table's partitions on.
pub(crate) fn parallelism() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}
