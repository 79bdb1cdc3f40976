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

/// A JSON object's members in the order the text has them.
struct OrderedObject(Vec<(String, Json)>);

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
        Value::Decimal(f)
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
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::fs::File;
    use std::io::Write;

    fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, content) in files {
            let mut f = File::create(dir.path().join(name)).expect("create");
            f.write_all(content).expect("write");
        }
        dir
    }

    fn types(t: &Table) -> BTreeMap<&str, ScalarType> {
        t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect()
    }

    fn cell<'a>(t: &'a Table, row: usize, col: &str) -> &'a Value {
        &t.rows[row][t.column_index(col).expect("column")]
    }

    fn err(files: &[(&str, &[u8])]) -> String {
        let dir = dir_with(files);
        match load_dir(dir.path()) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn jsonl_columns_are_the_union_of_keys_with_inferred_types() {
        let dir = dir_with(&[(
            "Events.jsonl",
            br#"{"TimeGenerated":"2024-05-01T12:00:00Z","Count":3,"Ok":true,"Ratio":0.5,"Name":"a","Props":{"x":1}}

{"TimeGenerated":"2024-05-01T12:00:01.1234567Z","Count":4,"Ok":false,"Ratio":2,"Name":"b","When":"2024-05-02","Extra":[1,2]}
"#,
        )]);
        let cat = load_dir(dir.path()).expect("load");
        let t = cat.get("Events").expect("table");
        assert_eq!(t.len(), 2);
        let order: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            order,
            [
                "TimeGenerated",
                "Count",
                "Ok",
                "Ratio",
                "Name",
                "Props",
                "When",
                "Extra"
            ]
        );
        let ty = types(t);
        assert_eq!(ty["TimeGenerated"], ScalarType::DateTime);
        assert_eq!(ty["Count"], ScalarType::Long);
        assert_eq!(ty["Ok"], ScalarType::Bool);
        assert_eq!(ty["Ratio"], ScalarType::Real);
        assert_eq!(ty["Name"], ScalarType::String);
        assert_eq!(ty["Props"], ScalarType::Dynamic);
        assert_eq!(ty["When"], ScalarType::DateTime);
        assert_eq!(ty["Extra"], ScalarType::Dynamic);
        assert_eq!(
            cell(t, 1, "TimeGenerated").to_string(),
            "2024-05-01T12:00:01.1234567Z"
        );
        assert_eq!(cell(t, 0, "When"), &Value::Null);
        assert_eq!(cell(t, 1, "Props"), &Value::Null);
        assert_eq!(cell(t, 0, "Ratio"), &Value::Real(0.5));
    }

    #[test]
    fn mixed_json_kinds_become_dynamic_and_known_sentinel_types_win() {
        let dir = dir_with(&[(
            "SigninLogs.jsonl",
            br#"{"TimeGenerated":"2024-05-01T12:00:00Z","ResultType":0,"Mixed":1,"IsRisky":"false","LocationDetails":"{\"city\":\"Oslo\"}"}
{"TimeGenerated":"2024-05-01T12:00:00Z","ResultType":"50126","Mixed":"x","IsRisky":true,"LocationDetails":{"city":"Rome"}}
"#,
        )]);
        let cat = load_dir(dir.path()).expect("load");
        let t = cat.get("SigninLogs").expect("table");
        let ty = types(t);
        assert_eq!(ty["ResultType"], ScalarType::String);
        assert_eq!(ty["Mixed"], ScalarType::Dynamic);
        assert_eq!(ty["IsRisky"], ScalarType::Bool);
        assert_eq!(ty["LocationDetails"], ScalarType::Dynamic);
        assert_eq!(cell(t, 0, "ResultType"), &Value::str("0"));
        assert_eq!(
            cell(t, 0, "LocationDetails"),
            &Value::dynamic(serde_json::json!({"city": "Oslo"}))
        );
    }

    #[test]
    fn csv_infers_types_from_text_and_keeps_sentinel_string_columns() {
        let dir = dir_with(&[
            (
                "SigninLogs.csv",
                b"\xef\xbb\xbfTimeGenerated,ResultType,UserPrincipalName,DurationMs,Score,Flag,Details,Seen\n\
                  2024-05-01T12:00:00Z,50126,a@contoso.com,12,0.5,true,\"{\"\"a\"\":1}\",\"5/1/2024, 1:02:03.000 PM\"\n\
                  2024-05-01 12:00:05,0,\"b, the second\",,1e3,FALSE,[],2024-05-01\n",
            ),
            ("notes.txt", b"ignored"),
            (".hidden.csv", b"x\n1\n"),
        ]);
        let cat = load_dir(dir.path()).expect("load");
        assert_eq!(cat.names().collect::<Vec<_>>(), ["SigninLogs"]);
        let t = cat.get("SigninLogs").expect("table");
        let ty = types(t);
        assert_eq!(ty["TimeGenerated"], ScalarType::DateTime);
        assert_eq!(ty["ResultType"], ScalarType::String);
        assert_eq!(ty["DurationMs"], ScalarType::Long);
        assert_eq!(ty["Score"], ScalarType::Real);
        assert_eq!(ty["Flag"], ScalarType::Bool);
        assert_eq!(ty["Details"], ScalarType::Dynamic);
        assert_eq!(ty["Seen"], ScalarType::DateTime);
        assert_eq!(
            cell(t, 1, "UserPrincipalName"),
            &Value::str("b, the second")
        );
        assert_eq!(cell(t, 1, "DurationMs"), &Value::Null);
        assert_eq!(cell(t, 0, "Seen").to_string(), "2024-05-01T13:02:03Z");
        assert_eq!(
            cell(t, 1, "TimeGenerated").to_string(),
            "2024-05-01T12:00:05Z"
        );
    }

    #[test]
    fn empty_columns_are_empty_strings_and_empty_files_are_empty_tables() {
        let cat = load_dir(dir_with(&[("A.csv", b"x,y\n1,\n"), ("B.jsonl", b"\n")]).path())
            .expect("load");
        let a = cat.get("A").expect("A");
        assert_eq!(types(a)["y"], ScalarType::String);
        assert_eq!(cell(a, 0, "y"), &Value::str(""));
        assert!(cat.get("B").expect("B").is_empty());
    }

    #[test]
    fn jsonl_rows_may_differ_in_key_order_and_repeat_a_key() {
        let dir = dir_with(&[(
            "T.jsonl",
            b"{\"a\":1,\"b\":\"x\"}\n{\"b\":\"y\",\"c\":true,\"a\":2,\"a\":3}\n{\"c\":false}\n",
        )]);
        let cat = load_dir(dir.path()).expect("load");
        let t = cat.get("T").expect("T");
        let order: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(cell(t, 1, "a"), &Value::Long(3));
        assert_eq!(cell(t, 1, "b"), &Value::str("y"));
        assert_eq!(cell(t, 2, "a"), &Value::Null);
        assert_eq!(cell(t, 2, "c"), &Value::Bool(false));
    }

    #[test]
    fn a_byte_order_mark_and_crlf_line_ends_are_accepted() {
        let dir = dir_with(&[
            ("J.jsonl", b"\xef\xbb\xbf{\"a\":1}\r\n{\"a\":2}\r\n"),
            ("C.csv", b"\xef\xbb\xbfa,b\r\n1,x\r\n"),
        ]);
        let cat = load_dir(dir.path()).expect("load");
        let j = cat.get("J").expect("J");
        assert_eq!((j.len(), types(j)["a"]), (2, ScalarType::Long));
        let c = cat.get("C").expect("C");
        assert_eq!(types(c)["a"], ScalarType::Long);
        assert_eq!(cell(c, 0, "b"), &Value::str("x"));
    }

    #[test]
    fn malformed_jsonl_names_the_file_and_line() {
        let e = err(&[("T.jsonl", b"{\"a\":1}\n{\"a\":\n")]);
        assert!(e.contains("T.jsonl, line 2: invalid JSON"), "{e}");
        let e = err(&[("T.jsonl", b"{\"a\":1}\n\n[1,2]\n")]);
        assert!(
            e.contains("T.jsonl, line 3: found an array instead of an object"),
            "{e}"
        );
    }

    #[test]
    fn malformed_csv_names_the_file_and_line() {
        let e = err(&[("T.csv", b"a,b\n1,2\n3\n")]);
        assert!(
            e.contains("T.csv, line 3: found 1 fields where the header has 2"),
            "{e}"
        );
        let e = err(&[("T.csv", b"a,a\n1,2\n")]);
        assert!(e.contains("column `a` appears twice"), "{e}");
        let e = err(&[("T.csv", b"a,\n1,2\n")]);
        assert!(e.contains("column 2 has no name"), "{e}");
        let e = err(&[("T.csv", b"a\n\xff\xfe\n")]);
        assert!(
            e.contains("T.csv, line 2: the text is not valid UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn time_generated_must_be_a_datetime() {
        let e = err(&[(
            "T.jsonl",
            b"{\"TimeGenerated\":\"2024-05-01\"}\n{\"TimeGenerated\":\"yesterday\"}\n",
        )]);
        assert!(
            e.contains("T.jsonl, line 2: TimeGenerated \"yesterday\" is not a datetime"),
            "{e}"
        );
        let e = err(&[("T.csv", b"TimeGenerated\n12\n")]);
        assert!(e.contains("T.csv, line 2: TimeGenerated"), "{e}");
    }

    #[test]
    fn one_file_per_table_and_a_missing_dir_is_an_error() {
        let e = err(&[("T.csv", b"a\n1\n"), ("T.jsonl", b"{\"a\":1}\n")]);
        assert!(e.contains("table T is defined by both"), "{e}");
        let missing = std::env::temp_dir().join("sentinel-mcp-no-such-dir-4711");
        let e = load_dir(&missing).map(|_| ()).expect_err("missing dir");
        assert!(
            e.to_string().contains("cannot list the data directory"),
            "{e}"
        );
    }

    #[test]
    fn datetime_forms_parse_to_utc_ticks() {
        let t = |s: &str| parse_file_datetime(s).map(crate::value::format_datetime);
        assert_eq!(
            t("2024-05-01T12:00:00+02:00").as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            t("2024-05-01T12:00:00.1234567Z").as_deref(),
            Some("2024-05-01T12:00:00.1234567Z")
        );
        assert_eq!(
            t("2024-05-01 12:00").as_deref(),
            Some("2024-05-01T12:00:00Z")
        );
        assert_eq!(
            t("12/31/2024, 11:59:59.500 PM").as_deref(),
            Some("2024-12-31T23:59:59.5Z")
        );
        assert_eq!(t("2024"), None);
        assert_eq!(t("hello"), None);
    }

    #[cfg(not(feature = "parquet"))]
    #[test]
    fn without_the_parquet_feature_a_parquet_file_is_refused_by_name_and_text_files_still_load() {
        let e = err(&[
            (
                "Events.csv",
                b"TimeGenerated,Name\n2024-05-01T00:00:00Z,a\n",
            ),
            ("T.parquet", b"PAR1"),
        ]);
        assert!(
            e.contains("T.parquet: this build of sentinel-mcp reads no Parquet files"),
            "{e}"
        );
        let dir = dir_with(&[(
            "Events.csv",
            b"TimeGenerated,Name\n2024-05-01T00:00:00Z,a\n",
        )]);
        let options = LoadOptions {
            cache_dir: Some(dir.path().join("cache")),
        };
        let catalog = load_dir_with(dir.path(), &options).expect("a CSV file loads");
        assert_eq!(catalog.get("Events").expect("Events").rows.len(), 1);
        assert!(!dir.path().join("cache").exists(), "no cache is written");
    }

    /// Parquet files and the Parquet cache: the `parquet` feature.
    #[cfg(feature = "parquet")]
    mod parquet_files {
        use super::*;
        use std::sync::Arc;

        use arrow_array::types::Int32Type;
        use arrow_schema::DataType;

        #[test]
        fn malformed_parquet_is_an_error_not_a_panic() {
            let e = err(&[("T.parquet", b"PAR1 this is not parquet")]);
            assert!(
                e.contains("T.parquet is not a readable Parquet file"),
                "{e}"
            );
        }

        #[test]
        fn parquet_columns_map_from_arrow_types() {
            use arrow_array::builder::{Int64Builder, ListBuilder};
            use arrow_array::{
                BooleanArray, Date32Array, Decimal128Array, DictionaryArray, DurationSecondArray,
                Float64Array, Int32Array, RecordBatch, StringArray, StructArray,
                TimestampMicrosecondArray, UInt64Array,
            };
            use arrow_schema::{Field, Schema};
            use parquet::arrow::ArrowWriter;

            let mut list = ListBuilder::new(Int64Builder::new());
            list.values().append_value(1);
            list.values().append_value(2);
            list.append(true);
            list.append(false);
            let inner = StructArray::from(vec![(
                Arc::new(Field::new("city", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![Some("Oslo"), None])) as arrow_array::ArrayRef,
            )]);
            let dict: DictionaryArray<Int32Type> = vec!["High", "Low"].into_iter().collect();
            let columns: Vec<(&str, arrow_array::ArrayRef)> = vec![
                (
                    "TimeGenerated",
                    Arc::new(StringArray::from(vec![
                        "2024-05-01T12:00:00Z",
                        "2024-05-01T12:00:01Z",
                    ])),
                ),
                (
                    "When",
                    Arc::new(
                        TimestampMicrosecondArray::from(vec![Some(1_714_564_800_000_001), None])
                            .with_timezone("UTC"),
                    ),
                ),
                ("Flag", Arc::new(BooleanArray::from(vec![true, false]))),
                ("Small", Arc::new(Int32Array::from(vec![7, -1]))),
                ("Big", Arc::new(UInt64Array::from(vec![Some(5), None]))),
                ("Ratio", Arc::new(Float64Array::from(vec![0.25, 1.0]))),
                (
                    "Price",
                    Arc::new(
                        Decimal128Array::from(vec![12_345, 1])
                            .with_precision_and_scale(10, 2)
                            .expect("decimal"),
                    ),
                ),
                ("Day", Arc::new(Date32Array::from(vec![19_844, 0]))),
                ("Took", Arc::new(DurationSecondArray::from(vec![90, 1]))),
                ("Ids", Arc::new(list.finish())),
                ("Where", Arc::new(inner)),
                ("Severity", Arc::new(dict)),
            ];
            let schema = Arc::new(Schema::new(
                columns
                    .iter()
                    .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
                    .collect::<Vec<_>>(),
            ));
            let batch = RecordBatch::try_new(
                schema.clone(),
                columns.into_iter().map(|(_, a)| a).collect(),
            )
            .expect("batch");
            let dir = tempfile::tempdir().expect("temp dir");
            let file = File::create(dir.path().join("Alerts.parquet")).expect("create");
            let mut writer = ArrowWriter::try_new(file, schema, None).expect("writer");
            writer.write(&batch).expect("write");
            writer.close().expect("close");

            let cat = load_dir(dir.path()).expect("load");
            let t = cat.get("Alerts").expect("table");
            let ty = types(t);
            assert_eq!(ty["TimeGenerated"], ScalarType::DateTime);
            assert_eq!(ty["When"], ScalarType::DateTime);
            assert_eq!(ty["Flag"], ScalarType::Bool);
            assert_eq!(ty["Small"], ScalarType::Int);
            assert_eq!(ty["Big"], ScalarType::Long);
            assert_eq!(ty["Ratio"], ScalarType::Real);
            assert_eq!(ty["Price"], ScalarType::Decimal);
            assert_eq!(ty["Day"], ScalarType::DateTime);
            assert_eq!(ty["Took"], ScalarType::TimeSpan);
            assert_eq!(ty["Ids"], ScalarType::Dynamic);
            assert_eq!(ty["Where"], ScalarType::Dynamic);
            assert_eq!(ty["Severity"], ScalarType::String);
            assert_eq!(
                cell(t, 1, "TimeGenerated").to_string(),
                "2024-05-01T12:00:01Z"
            );
            assert_eq!(
                cell(t, 0, "When").to_string(),
                "2024-05-01T12:00:00.000001Z"
            );
            assert_eq!(cell(t, 1, "When"), &Value::Null);
            assert_eq!(cell(t, 0, "Small"), &Value::Int(7));
            assert_eq!(cell(t, 1, "Big"), &Value::Null);
            assert_eq!(cell(t, 0, "Price"), &Value::Decimal(123.45));
            assert_eq!(cell(t, 0, "Day").to_string(), "2024-05-01T00:00:00Z");
            assert_eq!(cell(t, 0, "Took").to_string(), "00:01:30");
            assert_eq!(
                cell(t, 0, "Ids"),
                &Value::dynamic(serde_json::json!([1, 2]))
            );
            assert_eq!(cell(t, 1, "Ids"), &Value::Null);
            assert_eq!(
                cell(t, 0, "Where"),
                &Value::dynamic(serde_json::json!({"city": "Oslo"}))
            );
            assert_eq!(cell(t, 1, "Severity"), &Value::str("Low"));
        }

        #[test]
        fn parquet_time_generated_that_is_not_a_datetime_is_an_error() {
            use arrow_array::{Int64Array, RecordBatch};
            use arrow_schema::{Field, Schema};
            use parquet::arrow::ArrowWriter;

            let schema = Arc::new(Schema::new(vec![Field::new(
                "TimeGenerated",
                DataType::Int64,
                false,
            )]));
            let batch =
                RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1]))])
                    .expect("batch");
            let dir = tempfile::tempdir().expect("temp dir");
            let file = File::create(dir.path().join("T.parquet")).expect("create");
            let mut writer = ArrowWriter::try_new(file, schema, None).expect("writer");
            writer.write(&batch).expect("write");
            writer.close().expect("close");
            let e = load_dir(dir.path())
                .map(|_| ())
                .expect_err("error")
                .to_string();
            assert!(
                e.contains("T.parquet, row 1: TimeGenerated 1 (long) is not a datetime"),
                "{e}"
            );
        }

        /// Every type, nulls and non-ASCII text (every documented table, written from the demo
        /// workspace, is checked the same way in the `sentinel-demo` crate's tests).
        #[test]
        fn written_parquet_reads_back_as_the_same_table() {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut odd = Table::new(vec![
                Column::new("TimeGenerated", ScalarType::DateTime),
                Column::new("Id", ScalarType::Guid),
                Column::new("Took", ScalarType::TimeSpan),
                Column::new("Price", ScalarType::Decimal),
                Column::new("Bag", ScalarType::Dynamic),
                Column::new("Note", ScalarType::String),
            ]);
            odd.rows.push(vec![
                Value::DateTime(-5),
                Value::Guid(uuid::Uuid::from_u128(7)),
                Value::TimeSpan(-36_000_000_001),
                Value::Decimal(1.25),
                Value::dynamic(serde_json::json!("just text")),
                Value::str("ünïcode"),
            ]);
            odd.rows.push(vec![
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::str(""),
            ]);
            write_parquet(&odd, &dir.path().join("Odd.parquet")).expect("write");
            let back = load_dir(dir.path()).expect("load");
            assert_eq!(back.get("Odd").map(|t| &**t), Some(&odd));
        }

        #[test]
        fn the_cache_keeps_a_parquet_copy_and_follows_source_changes() {
            let dir = dir_with(&[("Events.csv", b"TimeGenerated,N\n2024-05-01T00:00:00Z,1\n")]);
            let cache = dir.path().join(".cache");
            let options = LoadOptions {
                cache_dir: Some(cache.clone()),
            };
            let first = load_dir_with(dir.path(), &options).expect("load");
            let copy =
                cache_path(&cache, &dir.path().join("Events.csv"), "Events").expect("cache path");
            assert!(copy.is_file(), "no cached copy at {}", copy.display());

            // The next load reads the copy: a doctored copy shows through.
            let mut doctored = (**first.get("Events").expect("Events")).clone();
            doctored.rows[0][1] = Value::Long(42);
            write_parquet(&doctored, &copy).expect("write");
            let second = load_dir_with(dir.path(), &options).expect("load");
            assert_eq!(second.get("Events").map(|t| &**t), Some(&doctored));

            // A changed source is parsed again, and its old copy removed.
            std::fs::write(
                dir.path().join("Events.csv"),
                "TimeGenerated,N\n2024-05-01T00:00:00Z,1\n2024-05-02T00:00:00Z,2\n",
            )
            .expect("rewrite");
            let third = load_dir_with(dir.path(), &options).expect("load");
            assert_eq!(third.get("Events").map(|t| t.len()), Some(2));
            assert!(!copy.exists(), "stale copy kept");
            let copies = std::fs::read_dir(&cache).expect("cache dir").count();
            assert_eq!(copies, 1);

            // A corrupt copy is ignored, and a cache that cannot be written is not an error.
            let fresh =
                cache_path(&cache, &dir.path().join("Events.csv"), "Events").expect("cache path");
            std::fs::write(&fresh, b"garbage").expect("corrupt");
            assert_eq!(
                load_dir_with(dir.path(), &options)
                    .expect("load")
                    .get("Events")
                    .map(|t| t.len()),
                Some(2)
            );
            let blocked = LoadOptions {
                cache_dir: Some(dir.path().join("Events.csv").join("sub")),
            };
            assert!(load_dir_with(dir.path(), &blocked).is_ok());
        }
    }
}
