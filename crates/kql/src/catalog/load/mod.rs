//! Tables from exported files: one table per file in a directory, named by the file's stem.
//!
//! `<Table>.jsonl` (one JSON object per line), `<Table>.csv` (a header row) and
//! `<Table>.parquet`. Column types come from the Parquet schema, or are inferred from the values
//! of JSONL and CSV files; for the documented Sentinel and Defender XDR tables (`SigninLogs`, …; see
//! [`crate::catalog::schemas`]) the documented column types win whenever every value fits them, so
//! `ResultType` stays a string even in a CSV file.
//! `TimeGenerated` is always a datetime.

#[cfg(feature = "parquet")]
mod parquet_file;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::catalog::Catalog;
use crate::catalog::schemas;
use crate::value::table::{Column, Table};
use crate::value::time::parse_file_datetime;
use crate::value::{ScalarType, Value, null_of};

#[cfg(feature = "datafusion")]
pub use parquet_file::read_arrow;
#[cfg(feature = "parquet")]
pub use parquet_file::write_parquet;

/// Bumped when the parsing rules change, so older cached copies are not used.
#[cfg(feature = "parquet")]
const CACHE_VERSION: u32 = 1;
const TIME_GENERATED: &str = "TimeGenerated";

/// Why a data directory could not be loaded. Each message names the file and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "cannot list the data directory {dir}: {source}; check that the path exists and is readable"
    )]
    Dir { dir: String, source: std::io::Error },
    #[error("cannot read {file}: {source}; check that the file is readable")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "{file}, line {line}: {problem}; every non-empty line of a .jsonl file must be one JSON object"
    )]
    Jsonl {
        file: String,
        line: usize,
        problem: String,
    },
    #[error(
        "{file}, line {line}: {problem}; fix the row so it is valid CSV with one field per header column"
    )]
    Csv {
        file: String,
        line: u64,
        problem: String,
    },
    #[error("{file}: {problem}; give every column a unique, non-empty name in the header")]
    Header { file: String, problem: String },
    #[error(
        "{file} is not a readable Parquet file ({problem}); re-export it or check that it is complete"
    )]
    Parquet { file: String, problem: String },
    #[error(
        "{file}: this build of sentinel-mcp reads no Parquet files (it was built without the `parquet` feature, as the Azure-only image is); export the table as .jsonl or .csv, or use the full build"
    )]
    NoParquet { file: String },
    #[error(
        "{file}: column `{column}` has Arrow type {data_type}, which has no KQL equivalent; cast it to a string, number, timestamp, list or struct column"
    )]
    UnsupportedColumn {
        file: String,
        column: String,
        data_type: String,
    },
    #[error(
        "{file}, {at}: TimeGenerated {value} is not a datetime; write it in ISO 8601, such as 2024-05-01T12:00:00Z"
    )]
    NotDatetime {
        file: String,
        at: String,
        value: String,
    },
    #[error(
        "cannot write {file}: {problem}; check the free space and that the directory is writable"
    )]
    Write { file: String, problem: String },
    #[error("table {table} is defined by both {first} and {second}; keep one file per table")]
    DuplicateTable {
        table: String,
        first: String,
        second: String,
    },
}

/// How to load a data directory.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Where to keep Parquet copies of JSONL and CSV files so that the next load reads those
    /// instead of parsing again; `None` turns the cache off, and so does a build without the
    /// `parquet` feature. A copy is used only while its source file keeps its path, size and
    /// modification time. Failing to write a copy is not an error.
    pub cache_dir: Option<PathBuf>,
}

/// Loads every `.jsonl`, `.csv` and `.parquet` file in `dir` (not its subdirectories) as a table
/// named by the file's stem. Other files, and hidden files, are ignored.
pub fn load_dir(dir: &Path) -> Result<Catalog, LoadError> {
    load_dir_with(dir, &LoadOptions::default())
}

/// [`load_dir`] with options (a Parquet cache for JSONL and CSV files).
pub fn load_dir_with(dir: &Path, options: &LoadOptions) -> Result<Catalog, LoadError> {
    let dir_error = |source| LoadError::Dir {
        dir: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(dir_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(dir_error)?;
    paths.sort();
    let mut catalog = Catalog::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in paths {
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let format = ext.to_ascii_lowercase();
        let known = matches!(format.as_str(), "jsonl" | "csv" | "parquet");
        if !known || stem.is_empty() || stem.starts_with('.') || !path.is_file() {
            continue;
        }
        if let Some(first) = seen.insert(stem.to_string(), path.clone()) {
            return Err(LoadError::DuplicateTable {
                table: stem.to_string(),
                first: first.display().to_string(),
                second: path.display().to_string(),
            });
        }
        let table = if format == "parquet" {
            read_parquet(&path)?
        } else {
            load_text(&path, stem, &format, options)?
        };
        catalog.insert(stem, table);
    }
    Ok(catalog)
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path) -> Result<Table, LoadError> {
    parquet_file::read(path)
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(path: &Path) -> Result<Table, LoadError> {
    Err(LoadError::NoParquet {
        file: path.display().to_string(),
    })
}

/// A JSONL or CSV file: parsed, or its cached Parquet copy read instead.
#[cfg(feature = "parquet")]
fn load_text(
    path: &Path,
    stem: &str,
    format: &str,
    options: &LoadOptions,
) -> Result<Table, LoadError> {
    let cached = options
        .cache_dir
        .as_deref()
        .and_then(|c| cache_path(c, path, stem));
    if let Some(table) = cached.as_deref().and_then(|c| parquet_file::read(c).ok()) {
        return Ok(table);
    }
    let table = parse_text(path, stem, format)?;
    if let Some(cache) = &cached {
        store_in_cache(&table, cache, stem);
    }
    Ok(table)
}

/// A JSONL or CSV file, parsed (without the `parquet` feature there is no cache).
#[cfg(not(feature = "parquet"))]
fn load_text(
    path: &Path,
    stem: &str,
    format: &str,
    _options: &LoadOptions,
) -> Result<Table, LoadError> {
    parse_text(path, stem, format)
}

fn parse_text(path: &Path, stem: &str, format: &str) -> Result<Table, LoadError> {
    if format == "csv" {
        load_csv(path, stem)
    } else {
        load_jsonl(path, stem)
    }
}

/// `<cache_dir>/<stem>-<16 hex digits>.parquet`, the digits a hash of the source's identity.
#[cfg(feature = "parquet")]
fn cache_path(cache_dir: &Path, source: &Path, stem: &str) -> Option<PathBuf> {
    let meta = std::fs::metadata(source).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let absolute = std::fs::canonicalize(source).ok()?;
    let identity = format!(
        "{CACHE_VERSION}|{}|{}|{}",
        absolute.display(),
        meta.len(),
        modified.as_nanos()
    );
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = identity.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Some(cache_dir.join(format!("{stem}-{hash:016x}.parquet")))
}

/// Writes the cached copy (via a temporary file, so a reader never sees half of one) and removes
/// older copies of the same table. Best effort: the cache only saves time.
#[cfg(feature = "parquet")]
fn store_in_cache(table: &Table, cache: &Path, stem: &str) {
    let Some(dir) = cache.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let temp = cache.with_extension(format!("tmp{}", std::process::id()));
    if write_parquet(table, &temp).is_err() || std::fs::rename(&temp, cache).is_err() {
        let _ = std::fs::remove_file(&temp);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = path != cache
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|name| {
                    name.strip_prefix(stem)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .and_then(|rest| rest.strip_suffix(".parquet"))
                        .is_some_and(|hash| {
                            hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
                        })
                });
        if stale {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One cell before its column's type is known.
enum Raw<'a> {
    Json(&'a Json),
    Text(&'a str),
}

/// Values a column's cells can take, and the line each row came from.
struct RawTable<'a> {
    file: String,
    table: &'a str,
    names: Vec<String>,
    /// `cells[column][row]`
    cells: Vec<Vec<Raw<'a>>>,
    lines: Vec<u64>,
}

fn load_jsonl(path: &Path, table: &str) -> Result<Table, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        file: file.clone(),
        source,
    })?;
    // Windows tools often start UTF-8 text with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // Columns in the order keys first appear in the file. Rows of an export share one key order,
    // so a key is usually found at its own position without hashing.
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut columns: Vec<Vec<Json>> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields = match serde_json::from_str::<OrderedObject>(line) {
            Ok(OrderedObject(fields)) => fields,
            Err(_) => {
                let problem = match serde_json::from_str::<Json>(line) {
                    Ok(other) => format!("found {} instead of an object", json_kind(&other)),
                    Err(e) => format!("invalid JSON at column {}: {e}", e.column()),
                };
                return Err(LoadError::Jsonl {
                    file,
                    line: line_no,
                    problem,
                });
            }
        };
        let row = lines.len();
        for (pos, (key, value)) in fields.into_iter().enumerate() {
            let c = if names.get(pos) == Some(&key) {
                pos
            } else if let Some(&c) = index.get(&key) {
                c
            } else {
                index.insert(key.clone(), names.len());
                names.push(key);
                columns.push(Vec::new());
                names.len() - 1
            };
            let column = &mut columns[c];
            if column.len() > row {
                // A repeated key keeps its last value, as JSON parsers do.
                column[row] = value;
            } else {
                column.resize(row, Json::Null);
                column.push(value);
            }
        }
        lines.push(line_no as u64);
    }
    for column in &mut columns {
        column.resize(lines.len(), Json::Null);
    }
    let cells = columns
        .iter()
        .map(|column| column.iter().map(Raw::Json).collect())
        .collect();
    build(RawTable {
        file,
        table,
        names,
        cells,
        lines,
    })
}

/// A JSON object's members in the order the text has them (serde_json's own map sorts them).
pub struct OrderedObject(pub Vec<(String, Json)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Json>()? {
                    fields.push(entry);
                }
                Ok(OrderedObject(fields))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn load_csv(path: &Path, table: &str) -> Result<Table, LoadError> {
    let file = path.display().to_string();
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        let problem = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("found {len} fields where the header has {expected_len}")
            }
            csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        LoadError::Csv {
            file: file.clone(),
            line,
            problem,
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(source) => LoadError::Read {
                file: file.clone(),
                source,
            },
            other => LoadError::Csv {
                file: file.clone(),
                line: 1,
                problem: format!("{other:?}"),
            },
        })?;
    let names: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_string)
        .collect();
    check_header(&file, &names)?;
    let mut records = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        lines.push(record.position().map_or(0, |p| p.line()));
        records.push(record);
    }
    let cells = (0..names.len())
        .map(|c| {
            records
                .iter()
                .map(|r| Raw::Text(r.get(c).unwrap_or("")))
                .collect()
        })
        .collect();
    build(RawTable {
        file,
        table,
        names,
        cells,
        lines,
    })
}

fn check_header(file: &str, names: &[String]) -> Result<(), LoadError> {
    let header_error = |problem: String| LoadError::Header {
        file: file.to_string(),
        problem,
    };
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(header_error("the header row is missing".into()));
    }
    let mut seen = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(header_error(format!("column {} has no name", i + 1)));
        }
        if seen.insert(name.as_str(), i).is_some() {
            return Err(header_error(format!("column `{name}` appears twice")));
        }
    }
    Ok(())
}

/// Chooses each column's type and converts its cells.
fn build(raw: RawTable<'_>) -> Result<Table, LoadError> {
    let rows = raw.lines.len();
    let mut columns = Vec::with_capacity(raw.names.len());
    let mut values: Vec<Vec<Value>> = Vec::with_capacity(raw.names.len());
    for (name, cells) in raw.names.iter().zip(&raw.cells) {
        let (ty, converted) = if name == TIME_GENERATED {
            (ScalarType::DateTime, time_generated(&raw, cells)?)
        } else {
            typed_column(raw.table, name, cells)
        };
        columns.push(Column::new(name.clone(), ty));
        values.push(converted);
    }
    Ok(Table {
        columns,
        rows: transpose(values, rows),
    })
}

fn time_generated(raw: &RawTable<'_>, cells: &[Raw<'_>]) -> Result<Vec<Value>, LoadError> {
    cells
        .iter()
        .zip(&raw.lines)
        .map(|(cell, line)| {
            convert(cell, ScalarType::DateTime, true).ok_or_else(|| LoadError::NotDatetime {
                file: raw.file.clone(),
                at: format!("line {line}"),
                value: match cell {
                    Raw::Json(j) => j.to_string(),
                    Raw::Text(t) => format!("{t:?}"),
                },
            })
        })
        .collect()
}

/// The known Sentinel type when every cell fits it, else the first inferred type that fits all.
fn typed_column(table: &str, name: &str, cells: &[Raw<'_>]) -> (ScalarType, Vec<Value>) {
    if let Some(ty) = schemas::column_type(table, name)
        && let Some(values) = try_convert(cells, ty, true)
    {
        return (ty, values);
    }
    let all_null = cells
        .iter()
        .all(|c| matches!(c, Raw::Json(Json::Null) | Raw::Text("")));
    if !all_null {
        // Text holds dynamic values as JSON; in JSON, strings are strings and the rest dynamic.
        let text = matches!(cells.first(), Some(Raw::Text(_)));
        let last_two = if text {
            [ScalarType::Dynamic, ScalarType::String]
        } else {
            [ScalarType::String, ScalarType::Dynamic]
        };
        let candidates = [
            ScalarType::Bool,
            ScalarType::Long,
            ScalarType::Real,
            ScalarType::DateTime,
        ];
        for ty in candidates.into_iter().chain(last_two) {
            if let Some(values) = try_convert(cells, ty, false) {
                return (ty, values);
            }
        }
    }
    let empty = Value::str("");
    (ScalarType::String, vec![empty; cells.len()])
}

fn try_convert(cells: &[Raw<'_>], ty: ScalarType, lenient: bool) -> Option<Vec<Value>> {
    cells.iter().map(|c| convert(c, ty, lenient)).collect()
}

/// Converts one cell to `ty`, or `None` when it does not fit. Inference (`lenient == false`) only
/// takes JSON values of the matching kind; a known column type also takes their text forms.
fn convert(cell: &Raw<'_>, ty: ScalarType, lenient: bool) -> Option<Value> {
    use ScalarType as T;
    match cell {
        Raw::Json(Json::Null) | Raw::Text("") => Some(null_of(ty)),
        Raw::Json(j) => match (ty, j) {
            (T::Bool, Json::Bool(b)) => Some(Value::Bool(*b)),
            (T::Long, Json::Number(n)) => n.as_i64().map(Value::Long),
            (T::Int, Json::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Value::Int),
            (T::Real | T::Decimal, Json::Number(n)) => n.as_f64().map(|f| real_of(ty, f)),
            (T::DateTime, Json::String(s)) => parse_file_datetime(s).map(Value::DateTime),
            (T::String, Json::String(s)) => Some(Value::str(s)),
            (T::Dynamic, Json::String(s)) if lenient => {
                Some(Value::dynamic(json_text(s).unwrap_or_else(|| (*j).clone())))
            }
            (T::Dynamic, _) => Some(Value::dynamic((*j).clone())),
            (T::String, Json::Number(_) | Json::Bool(_)) if lenient => {
                Some(Value::str(j.to_string()))
            }
            (T::String, Json::Array(_) | Json::Object(_)) if lenient => {
                Some(Value::str(j.to_string()))
            }
            (_, Json::String(s)) if lenient => convert(&Raw::Text(s), ty, true),
            _ => None,
        },
        Raw::Text(t) => match ty {
            T::Bool => match t.to_ascii_lowercase().as_str() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            T::Long => t.trim().parse().ok().map(Value::Long),
            T::Int => t.trim().parse().ok().map(Value::Int),
            T::Real | T::Decimal => {
                // Only text with a digit: `inf` or `nan` alone is a word, not a number.
                let t = t.trim();
                t.bytes()
                    .any(|b| b.is_ascii_digit())
                    .then(|| t.parse().ok())
                    .flatten()
                    .map(|f| real_of(ty, f))
            }
            T::DateTime => parse_file_datetime(t).map(Value::DateTime),
            T::String => Some(Value::str(t)),
            T::Dynamic if lenient => Some(Value::dynamic(
                json_text(t).unwrap_or_else(|| Json::String(t.to_string())),
            )),
            T::Dynamic => json_text(t).map(Value::dynamic),
            T::Guid => uuid::Uuid::parse_str(t.trim()).ok().map(Value::Guid),
            T::TimeSpan => None,
        },
    }
}

fn real_of(ty: ScalarType, f: f64) -> Value {
    if ty == ScalarType::Decimal {
        Value::decimal(f)
    } else {
        Value::Real(f)
    }
}

/// JSON text of an object or array (how exports write dynamic values).
fn json_text(t: &str) -> Option<Json> {
    let t = t.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<Json>(t).ok()
}

fn transpose(columns: Vec<Vec<Value>>, rows: usize) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = (0..rows)
        .map(|_| Vec::with_capacity(columns.len()))
        .collect();
    for column in columns {
        for (row, value) in out.iter_mut().zip(column) {
            row.push(value);
        }
    }
    out
}

#[cfg(test)]
mod tests;
