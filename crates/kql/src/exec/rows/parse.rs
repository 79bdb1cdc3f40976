//! The `parse` operator and its patterns (simple, relaxed, regex).

use crate::bind::context::{Engine, Env};
use crate::bind::eval::eval;
use crate::bind::expr::Row;
use crate::error::KqlError;
use crate::functions;
use crate::syntax::ast::{Expr, Operator, ParsePart};
use crate::value::convert::{coerce, to_text};
use crate::value::table::{Column, Table};
use crate::value::{ScalarType, Value};
use regex::CaptureLocations;

use super::ops::*;

impl<'a> Engine<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn parse_op(
        &mut self,
        op: &Operator,
        mut t: Table,
        source: &'a Expr,
        (kind, flags): (&str, &str),
        parts: &[ParsePart],
        filter: bool,
        env: &Env<'a>,
    ) -> Result<Table, KqlError> {
        let (src, _) = self.compile(source, &t.columns, env)?;
        let pattern = ParsePattern::new(kind, flags, parts).ok_or_else(|| KqlError::Syntax {
            location: self_location(self, op),
            found: "an invalid parse pattern".into(),
            expected: "a pattern of strings, '*' and column names".into(),
        })?;
        let cols = pattern.columns.clone();
        let mut targets = Vec::new();
        for (name, ty) in &cols {
            let idx = match t.column_index(name) {
                Some(i) => {
                    t.columns[i].ty = *ty;
                    i
                }
                None => {
                    t.columns.push(Column::new(name.clone(), *ty));
                    for r in &mut t.rows {
                        r.push(Value::Null);
                    }
                    t.columns.len() - 1
                }
            };
            targets.push((idx, *ty));
        }
        let mut keep = vec![true; t.rows.len()];
        let mut updates = Vec::with_capacity(t.rows.len());
        for (idx, kept) in keep.iter_mut().enumerate() {
            self.check()?;
            let text = to_text(&eval(&src, Row { rows: &t.rows, idx }));
            let vals = pattern.values(&text);
            *kept = vals.is_some() || !filter;
            updates.push(vals.unwrap_or_else(|| pattern.nulls()));
        }
        for (row, vals) in t.rows.iter_mut().zip(updates) {
            for ((target, _), v) in targets.iter().zip(vals) {
                row[*target] = v;
            }
        }
        let rows = t
            .rows
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(r, _)| r)
            .collect();
        Ok(Table {
            columns: t.columns,
            rows,
        })
    }
}

/// A `parse` operator's pattern: one regular expression with a named group per column.
#[derive(Debug, Clone)]
pub(crate) struct ParsePattern {
    regex: functions::Pattern,
    relaxed: bool,
    /// The columns it extracts, with their types.
    pub columns: Vec<(String, ScalarType)>,
    /// Each column's capture group (the number of its named group).
    groups: Vec<Option<usize>>,
}

impl ParsePattern {
    /// The pattern of `parse kind=… flags=… with parts`, or `None` when it is not a valid one.
    pub(crate) fn new(kind: &str, flags: &str, parts: &[ParsePart]) -> Option<ParsePattern> {
        let regex_kind = kind == "regex";
        // Regex mode is greedy unless flag U; simple mode matches the shortest text between literals.
        let flags: String = flags.chars().filter(|c| "imsU".contains(*c)).collect();
        let mut pattern = if regex_kind {
            if flags.is_empty() {
                String::new()
            } else {
                format!("(?{flags})")
            }
        } else {
            String::from("(?s)^")
        };
        let mut cols = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            match p {
                ParsePart::Literal(s) => pattern.push_str(&if regex_kind {
                    s.clone()
                } else {
                    regex::escape(s)
                }),
                ParsePart::Star => pattern.push_str(if regex_kind { ".*" } else { ".*?" }),
                ParsePart::Column { name, ty } => {
                    // Named groups, so groups inside regex literals do not shift the columns.
                    let number = match ty {
                        ScalarType::Int | ScalarType::Long => Some(r"-?\d+"),
                        ScalarType::Real | ScalarType::Decimal => {
                            Some(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
                        }
                        _ => None,
                    };
                    let any = if last || regex_kind { ".*" } else { ".*?" };
                    // Relaxed mode falls back to any text for a number and nulls what does not
                    // convert.
                    let body = match number {
                        Some(n) if kind == "relaxed" => format!("{n}|{any}"),
                        Some(n) => n.to_string(),
                        None => any.to_string(),
                    };
                    pattern.push_str(&format!("(?P<kqlcol{}>{body})", cols.len()));
                    cols.push((name.clone(), *ty));
                }
            }
        }
        if !regex_kind && matches!(parts.last(), Some(ParsePart::Literal(_))) && kind == "simple" {
            pattern.push('$');
        }
        let regex = functions::regex(&pattern)?;
        let names: Vec<Option<&str>> = regex.regex().capture_names().collect();
        let groups = (0..cols.len())
            .map(|i| {
                let name = format!("kqlcol{i}");
                names.iter().position(|n| *n == Some(name.as_str()))
            })
            .collect();
        Some(ParsePattern {
            regex,
            relaxed: kind == "relaxed",
            columns: cols,
            groups,
        })
    }

    /// Capture locations for [`ParsePattern::search`], reused from one text to the next.
    pub(crate) fn locations(&self) -> CaptureLocations {
        self.regex.regex().capture_locations()
    }

    /// Searches `text`, leaving the groups' spans in `locs`: false when it does not match (or
    /// the search is past its work bound, which stops the query).
    pub(crate) fn search(&self, text: &str, locs: &mut CaptureLocations) -> bool {
        self.regex
            .over(text)
            .and_then(|r| r.captures_read(locs, text))
            .is_some()
    }

    /// Column `i`'s text in the match `locs` holds of `text`, when its group took part.
    pub(crate) fn text<'t>(
        &self,
        i: usize,
        text: &'t str,
        locs: &CaptureLocations,
    ) -> Option<&'t str> {
        let (start, end) = locs.get((*self.groups.get(i)?)?)?;
        text.get(start..end)
    }

    /// Pushes onto `out` the values of the columns whose type `pick` selects, from the match
    /// `locs` holds of `text`; false when one does not convert to its type outside relaxed mode
    /// (which fails the whole match). A string column always converts.
    pub(crate) fn converted(
        &self,
        text: &str,
        locs: &CaptureLocations,
        pick: impl Fn(ScalarType) -> bool,
        out: &mut Vec<Value>,
    ) -> bool {
        let mut unconverted = false;
        for (i, (_, ty)) in self.columns.iter().enumerate() {
            if !pick(*ty) {
                continue;
            }
            out.push(match self.text(i, text, locs) {
                Some(m) => {
                    let v = coerce(Value::str(m), *ty);
                    unconverted |= v.is_null();
                    v
                }
                None => coerce(Value::Null, *ty),
            });
        }
        self.relaxed || !unconverted
    }

    /// The columns' values parsed from `text`, or `None` when it does not match (outside relaxed
    /// mode, a value that does not convert to its column's type fails the whole match).
    pub(crate) fn values(&self, text: &str) -> Option<Vec<Value>> {
        let mut locs = self.locations();
        let mut vals = Vec::with_capacity(self.columns.len());
        (self.search(text, &mut locs) && self.converted(text, &locs, |_| true, &mut vals))
            .then_some(vals)
    }

    /// The columns' values when the text does not match.
    pub(crate) fn nulls(&self) -> Vec<Value> {
        self.columns
            .iter()
            .map(|(_, ty)| coerce(Value::Null, *ty))
            .collect()
    }
}
