//! Tables and records → readable text plus `structuredContent`, sized for a model's context.

use kql::catalog::load::OrderedObject;
use kql::{Column, ScalarType, Table, Value};
use serde::Serialize;

/// Caps on one result.
#[derive(Debug, Clone, Copy)]
pub struct ResultCaps {
    pub max_rows: usize,
    pub max_bytes: usize,
}

/// The structured form of a query result (also the `--format json` shape of the CLI).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TableResult {
    /// Column names and Kusto types, in order.
    pub columns: Vec<ColumnOut>,
    /// Rows as arrays of cells, in column order (datetimes ISO 8601, timespans `[d.]hh:mm:ss`, dynamic as JSON).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows the query produced.
    pub total_rows: usize,
    /// Rows included here.
    pub returned_rows: usize,
    /// True when rows were left out by the row or byte cap.
    pub truncated: bool,
    /// Things the caller should know about this result (partial data, engine notes, truncation).
    pub warnings: Vec<String>,
    /// The chart a `render` operator asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visualization: Option<String>,
    /// When rows were left out: the URI the whole result is kept at for a while, to read in pages with resources/read (`?offset=&limit=`, `format=json|csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_result: Option<String>,
}

/// A column in a result.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ColumnOut {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// Renders a table within the caps: the structured result and its text form.
pub fn table_result(
    table: &Table,
    caps: ResultCaps,
    mut warnings: Vec<String>,
    visualization: Option<String>,
) -> (String, TableResult) {
    let columns: Vec<ColumnOut> = table
        .columns
        .iter()
        .map(|c| ColumnOut {
            name: c.name.clone(),
            ty: c.ty.name().to_string(),
        })
        .collect();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    let mut byte_capped = false;
    let mut cut = 0usize;
    for row in table.rows.iter().take(caps.max_rows) {
        let cells: Vec<serde_json::Value> = row
            .iter()
            .map(|v| cell_json(v, caps.max_bytes, &mut cut))
            .collect();
        let size = kql::value::json_len(&cells);
        if bytes + size > caps.max_bytes && !rows.is_empty() {
            byte_capped = true;
            break;
        }
        bytes += size;
        rows.push(cells);
    }
    let total = table.rows.len();
    let returned = rows.len();
    let truncated = returned < total;
    if truncated {
        let why = if byte_capped {
            format!("the result size cap of {} bytes", caps.max_bytes)
        } else {
            format!("the row cap of {}", caps.max_rows)
        };
        warnings.push(format!(
            "Showing {returned} of {total} rows: {} rows were left out by {why}. Refine the query (where, summarize, project, take) or ask for more with max_rows.",
            total - returned
        ));
    }
    if cut > 0 {
        warnings.push(format!(
            "{cut} value{} longer than the result size cap of {} bytes {} cut short (…); select a part of {} (substring, extract, a bag's property) to see more.",
            if cut == 1 { "" } else { "s" },
            caps.max_bytes,
            if cut == 1 { "was" } else { "were" },
            if cut == 1 { "it" } else { "them" },
        ));
    }
    let text = render_text(&columns, &rows, total, &warnings, visualization.as_deref());
    (
        text,
        TableResult {
            columns,
            rows,
            total_rows: total,
            returned_rows: returned,
            truncated,
            warnings,
            visualization,
            full_result: None,
        },
    )
}

/// A cell as JSON, its text cut to `max` bytes when longer (counted in `cut`): the one row a
/// result always shows must fit the size cap too, and a large value is never copied whole.
fn cell_json(v: &Value, max: usize, cut: &mut usize) -> serde_json::Value {
    let text = match v {
        Value::String(s) => s.as_ref(),
        Value::Dynamic(d) => match &**d {
            serde_json::Value::String(s) => s.as_str(),
            _ => {
                let mut upto = Upto(Vec::new(), max);
                if serde_json::to_writer(&mut upto, &**d).is_ok() {
                    return (**d).clone();
                }
                *cut += 1;
                let shown = match std::str::from_utf8(&upto.0) {
                    Ok(t) => t,
                    Err(e) => std::str::from_utf8(&upto.0[..e.valid_up_to()]).unwrap_or_default(),
                };
                return serde_json::Value::String(format!("{shown}…"));
            }
        },
        _ => return v.to_json(),
    };
    if text.len() <= max {
        return v.to_json();
    }
    *cut += 1;
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    serde_json::Value::String(format!("{}…", &text[..end]))
}

/// A writer that takes at most `.1` bytes, then refuses.
struct Upto(Vec<u8>, usize);

impl std::io::Write for Upto {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.1 - self.0.len();
        if buf.len() > room {
            self.0.extend_from_slice(&buf[..room]);
            return Err(std::io::Error::other("past the size cap"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn render_text(
    columns: &[ColumnOut],
    rows: &[Vec<serde_json::Value>],
    total: usize,
    warnings: &[String],
    visualization: Option<&str>,
) -> String {
    use std::fmt::Write as _;
    // Written in place, cell by cell: no string per cell, row or escape.
    let mut out = String::with_capacity(64 + 16 * columns.len() * (rows.len() + 1));
    let _ = write!(
        out,
        "{total} row{} returned.\n\n",
        if total == 1 { "" } else { "s" }
    );
    if !columns.is_empty() {
        out.push('|');
        for c in columns {
            out.push(' ');
            push_escaped_cell(&mut out, &c.name);
            out.push_str(" |");
        }
        out.push_str("\n|");
        out.push_str(&"---|".repeat(columns.len()));
        out.push('\n');
        for row in rows {
            out.push('|');
            for v in row {
                out.push(' ');
                push_cell_text(&mut out, v);
                out.push_str(" |");
            }
            out.push('\n');
        }
    }
    if let Some(v) = visualization {
        let _ = write!(
            out,
            "\nThe query asked for a '{v}' visualization; the data above is what it would plot.\n"
        );
    }
    for w in warnings {
        let _ = write!(out, "\nNote: {w}\n");
    }
    out
}

/// A cell as the text table shows it: null empty, a string as it is, anything else as JSON.
fn push_cell_text(out: &mut String, v: &serde_json::Value) {
    use std::fmt::Write as _;
    match v {
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => push_escaped_cell(out, s),
        // Their JSON has no `|` and no line break to escape.
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
            let _ = write!(out, "{v}");
        }
        other => push_escaped_cell(out, &other.to_string()),
    }
}

/// `s` in a Markdown table cell: `|` escaped, line breaks as spaces.
fn push_escaped_cell(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find(['|', '\n', '\r']) {
        out.push_str(&rest[..i]);
        out.push_str(if rest.as_bytes()[i] == b'|' {
            "\\|"
        } else {
            " "
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// A list of records within the caps.
pub struct CappedList<T> {
    /// The records shown.
    pub shown: Vec<T>,
    /// What was left out, when anything was.
    pub note: Option<String>,
    /// Every record, as a table (a column per field), when some were left out.
    pub whole: Option<Table>,
}

/// The records of `items` that fit the caps, a note when some did not, and then the whole list
/// as a table to keep.
pub fn capped_list<T: Serialize>(mut items: Vec<T>, caps: ResultCaps) -> CappedList<T> {
    let total = items.len();
    let mut bytes = 0;
    let mut shown = 0;
    for item in items.iter().take(caps.max_rows) {
        bytes += kql::value::json_len(item);
        if bytes > caps.max_bytes && shown > 0 {
            break;
        }
        shown += 1;
    }
    if shown == total {
        return CappedList {
            shown: items,
            note: None,
            whole: None,
        };
    }
    let whole = records_table(&items);
    items.truncate(shown);
    CappedList {
        shown: items,
        note: Some(format!(
            "Showing {shown} of {total}; {} left out by the result caps. Narrow the filters or lower `top`.",
            total - shown
        )),
        whole: Some(whole),
    }
}

/// Records as a table: a column per field, in the order the records write their fields (a field
/// one record leaves out goes after the field it follows in the records that have it), typed
/// `string`, `long`, `real` or `bool` when every value is one, `dynamic` otherwise.
pub fn records_table<T: Serialize>(items: &[T]) -> Table {
    let records: Vec<Vec<(String, serde_json::Value)>> = items
        .iter()
        .map(|item| {
            let text = serde_json::to_string(item).unwrap_or_default();
            match serde_json::from_str::<OrderedObject>(&text) {
                Ok(OrderedObject(fields)) => fields,
                // Not an object: the record is its one value.
                Err(_) => vec![(
                    "value".into(),
                    serde_json::from_str(&text).unwrap_or_default(),
                )],
            }
        })
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for record in &records {
        let mut after = None;
        for (name, _) in record {
            after = Some(match names.iter().position(|n| n == name) {
                Some(at) => at,
                None => {
                    let at = after.map_or(names.len(), |a: usize| a + 1);
                    names.insert(at, name);
                    at
                }
            });
        }
    }
    let types: Vec<ScalarType> = names
        .iter()
        .map(|name| {
            let mut values = records
                .iter()
                .filter_map(|r| r.iter().find(|(n, _)| n == name).map(|(_, v)| v))
                .filter(|v| !v.is_null())
                .map(json_type);
            let first = values.next().unwrap_or(ScalarType::Dynamic);
            match values.all(|t| t == first) {
                true => first,
                false => ScalarType::Dynamic,
            }
        })
        .collect();
    let rows = records
        .iter()
        .map(|record| {
            names
                .iter()
                .zip(&types)
                .map(|(name, ty)| match record.iter().find(|(n, _)| n == name) {
                    None | Some((_, serde_json::Value::Null)) => Value::Null,
                    Some((_, v)) => match (ty, v) {
                        (ScalarType::String, serde_json::Value::String(s)) => Value::str(s),
                        (ScalarType::Long, v) => v.as_i64().map_or(Value::Null, Value::Long),
                        (ScalarType::Real, v) => v.as_f64().map_or(Value::Null, Value::Real),
                        (ScalarType::Bool, v) => v.as_bool().map_or(Value::Null, Value::Bool),
                        (_, v) => Value::dynamic(v.clone()),
                    },
                })
                .collect()
        })
        .collect();
    Table {
        columns: names
            .iter()
            .zip(types)
            .map(|(name, ty)| Column::new(*name, ty))
            .collect(),
        rows,
    }
}

/// The KQL type a JSON value reads as.
fn json_type(v: &serde_json::Value) -> ScalarType {
    match v {
        serde_json::Value::String(_) => ScalarType::String,
        serde_json::Value::Bool(_) => ScalarType::Bool,
        serde_json::Value::Number(n) if n.is_i64() => ScalarType::Long,
        serde_json::Value::Number(_) => ScalarType::Real,
        _ => ScalarType::Dynamic,
    }
}

/// JSON for the CLI's `--format json`: `{"columns":[{"name","type"}],"rows":[[…]]}`, written
/// as it is serialized (one cell's JSON at a time, however large the table).
pub struct TableJson<'a>(pub &'a Table);

impl Serialize for TableJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct Columns<'a>(&'a [kql::Column]);
        impl Serialize for Columns<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for c in self.0 {
                    seq.serialize_element(&ColumnOut {
                        name: c.name.clone(),
                        ty: c.ty.name().to_string(),
                    })?;
                }
                seq.end()
            }
        }
        struct Row<'a>(&'a [Value]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for v in self.0 {
                    seq.serialize_element(&v.to_json())?;
                }
                seq.end()
            }
        }
        struct Rows<'a>(&'a [Vec<Value>]);
        impl Serialize for Rows<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for r in self.0 {
                    seq.serialize_element(&Row(r))?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("columns", &Columns(&self.0.columns))?;
        map.serialize_entry("rows", &Rows(&self.0.rows))?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: i64) -> Table {
        Table {
            columns: vec![
                Column::new("n", ScalarType::Long),
                Column::new("s", ScalarType::String),
            ],
            rows: (0..n)
                .map(|i| vec![Value::Long(i), Value::str("a|b")])
                .collect(),
        }
    }

    #[test]
    fn row_cap_truncates_and_says_how_many_were_left_out() {
        let (text, r) = table_result(
            &numbers(10),
            ResultCaps {
                max_rows: 3,
                max_bytes: 1 << 20,
            },
            vec![],
            None,
        );
        assert_eq!((r.total_rows, r.returned_rows, r.truncated), (10, 3, true));
        assert!(
            text.contains("7 rows were left out by the row cap of 3"),
            "{text}"
        );
        assert!(text.contains("a\\|b"), "pipes are escaped: {text}");
    }

    #[test]
    fn byte_cap_keeps_at_least_one_row() {
        let (_, r) = table_result(
            &numbers(10),
            ResultCaps {
                max_rows: 100,
                max_bytes: 1,
            },
            vec![],
            None,
        );
        assert_eq!(r.returned_rows, 1);
        assert!(r.warnings[0].contains("result size cap of 1 bytes"));
    }

    #[test]
    fn a_value_larger_than_the_byte_cap_is_cut_with_a_marker() {
        let t = Table {
            columns: vec![
                Column::new("s", ScalarType::String),
                Column::new("d", ScalarType::Dynamic),
            ],
            rows: vec![vec![
                Value::str("é".repeat(1000)),
                Value::dynamic(serde_json::json!(vec![1; 1000])),
            ]],
        };
        let caps = ResultCaps {
            max_rows: 10,
            max_bytes: 101,
        };
        let (text, r) = table_result(&t, caps, vec![], None);
        assert_eq!(r.returned_rows, 1);
        assert_eq!(
            r.rows[0][0],
            serde_json::json!(format!("{}…", "é".repeat(50)))
        );
        assert_eq!(
            r.rows[0][1],
            serde_json::json!(format!("[{}…", "1,".repeat(50)))
        );
        assert!(
            r.warnings.iter().any(|w| w.starts_with(
                "2 values longer than the result size cap of 101 bytes were cut short"
            )),
            "{:?}",
            r.warnings
        );
        assert!(text.contains("were cut short"), "{text}");
    }

    /// The text table, whole: names and strings escaped (`|`, line breaks), null empty, numbers
    /// and bools as JSON, a bag as JSON with its `|` escaped, then the chart and the notes.
    #[test]
    fn the_text_table_escapes_cells_and_writes_every_kind_of_value() {
        let t = Table {
            columns: vec![
                Column::new("a|b", ScalarType::String),
                Column::new("n", ScalarType::Real),
                Column::new("ok", ScalarType::Bool),
                Column::new("d", ScalarType::Dynamic),
            ],
            rows: vec![
                vec![
                    Value::str("x|y\nz\r"),
                    Value::Real(1.5),
                    Value::Bool(true),
                    Value::dynamic(serde_json::json!({"k": "p|q"})),
                ],
                vec![Value::Null, Value::Long(-3), Value::Null, Value::Null],
            ],
        };
        let caps = ResultCaps {
            max_rows: 100,
            max_bytes: 1 << 20,
        };
        let (text, _) = table_result(&t, caps, vec!["careful".into()], Some("barchart".into()));
        assert_eq!(
            text,
            "2 rows returned.\n\n\
             | a\\|b | n | ok | d |\n\
             |---|---|---|---|\n\
             | x\\|y z  | 1.5 | true | {\"k\":\"p\\|q\"} |\n\
             |  | -3 |  |  |\n\
             \nThe query asked for a 'barchart' visualization; the data above is what it would plot.\n\
             \nNote: careful\n"
        );
    }

    #[test]
    fn untruncated_result_has_no_warning() {
        let (text, r) = table_result(
            &numbers(2),
            ResultCaps {
                max_rows: 100,
                max_bytes: 1 << 20,
            },
            vec![],
            None,
        );
        assert!(!r.truncated && r.warnings.is_empty());
        assert!(text.starts_with("2 rows returned."));
    }

    #[test]
    fn records_become_a_table_in_their_field_order_typed_by_their_values() {
        #[derive(Serialize)]
        struct R {
            id: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            user: Option<&'static str>,
            n: i64,
            x: serde_json::Value,
        }
        let t = records_table(&[
            R {
                id: "a",
                user: None,
                n: 1,
                x: serde_json::json!(1),
            },
            R {
                id: "b",
                user: Some("u"),
                n: 2,
                x: serde_json::json!("two"),
            },
        ]);
        let columns: Vec<(&str, &str)> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.name()))
            .collect();
        assert_eq!(
            columns,
            [
                ("id", "string"),
                ("user", "string"),
                ("n", "long"),
                ("x", "dynamic")
            ]
        );
        assert_eq!(
            t.rows[0],
            [
                Value::str("a"),
                Value::Null,
                Value::Long(1),
                Value::dynamic(serde_json::json!(1))
            ]
        );
        assert_eq!(t.rows[1][1], Value::str("u"));
    }

    #[test]
    fn a_capped_list_keeps_its_whole_as_a_table() {
        let caps = ResultCaps {
            max_rows: 2,
            max_bytes: 1 << 20,
        };
        let capped = capped_list(vec![1, 2, 3], caps);
        assert_eq!(capped.shown, [1, 2]);
        assert!(capped.note.unwrap().starts_with("Showing 2 of 3"));
        assert_eq!(capped.whole.map(|t| t.rows.len()), Some(3));
        let all = capped_list(vec![1, 2], caps);
        assert!(all.note.is_none() && all.whole.is_none());
    }
}
