//! Tables: named, typed columns and rows of values.

use crate::value::{ScalarType, Value};

/// A column's name and type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ScalarType,
}

impl Column {
    /// A column of the given name and type.
    pub fn new(name: impl Into<String>, ty: ScalarType) -> Column {
        Column {
            name: name.into(),
            ty,
        }
    }
}

/// A table: every row has exactly one value per column, each null or of the column's type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with the given columns.
    pub fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// The index of a column by exact (case-sensitive, as in Kusto) name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Copies of the rows at `picked`, in its order (of every row when `None`).
pub(crate) fn rows_at(rows: &[Vec<Value>], picked: Option<&[usize]>) -> Vec<Vec<Value>> {
    match picked {
        None => rows.to_vec(),
        Some(picked) => picked
            .iter()
            .filter_map(|&i| rows.get(i).cloned())
            .collect(),
    }
}
