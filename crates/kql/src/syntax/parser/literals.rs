//! Literals: `dynamic(...)` values, and the text of `datetime(...)`, `timespan(...)` and typed
//! numbers such as `long(...)`.

use crate::error::KqlError;
use crate::syntax::lexer::TokenKind;
use crate::value::Value;
use crate::value::time::{parse_datetime_text, parse_timespan_text};

use super::*;

impl Parser<'_> {
    pub(super) fn dynamic_value(&mut self) -> Result<serde_json::Value, KqlError> {
        use serde_json::Value as J;
        self.enter()?;
        let t = self.next();
        let v = match t.kind {
            TokenKind::Punct("[") => {
                let mut items = Vec::new();
                while !self.is_punct("]") {
                    items.push(self.dynamic_value()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct("]")?;
                J::Array(items)
            }
            TokenKind::Punct("{") => {
                let mut map = serde_json::Map::new();
                while !self.is_punct("}") {
                    let key = match self.next().kind {
                        TokenKind::Str(s) | TokenKind::Ident(s) => s,
                        TokenKind::Int(i) => i.to_string(),
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("a property name"));
                        }
                    };
                    self.expect_punct(":")?;
                    map.insert(key, self.dynamic_value()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct("}")?;
                J::Object(map)
            }
            TokenKind::Str(mut s) => {
                while let TokenKind::Str(more) = &self.peek().kind {
                    s.push_str(more);
                    self.advance();
                }
                J::String(s)
            }
            // `['a']` lexes as a quoted name; inside dynamic() it is a one-string array.
            TokenKind::QuotedIdent(s) => J::Array(vec![J::String(s)]),
            TokenKind::Int(i) => J::from(i),
            TokenKind::Real(r) => serde_json::Number::from_f64(r).map_or(J::Null, J::Number),
            TokenKind::TimeSpan(ts) => J::String(crate::value::format_timespan(ts)),
            TokenKind::Punct("-") => match self.next().kind {
                TokenKind::Int(i) => J::from(-i),
                TokenKind::Real(r) => serde_json::Number::from_f64(-r).map_or(J::Null, J::Number),
                _ => {
                    self.pos -= 1;
                    return Err(self.error("a number"));
                }
            },
            TokenKind::Ident(w) => match w.as_str() {
                "null" => J::Null,
                "true" => J::Bool(true),
                "false" => J::Bool(false),
                _ if self.is_punct("(") => {
                    self.pos -= 1;
                    let e = self.unary()?;
                    match e.kind {
                        ExprKind::Literal(v) => v.to_json(),
                        ExprKind::NullOf(_) => J::Null,
                        _ => return Err(self.error("a literal inside dynamic()")),
                    }
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.error("a JSON value inside dynamic()"));
                }
            },
            _ => {
                self.pos -= 1;
                return Err(self.error("a JSON value inside dynamic()"));
            }
        };
        self.depth -= 1;
        Ok(v)
    }
}

/// Parses the text of `datetime(...)`: ISO 8601 forms, `2024-01-01 10:00`, `null`.
pub(super) fn parse_datetime_literal(raw: &str) -> Option<Value> {
    let raw = raw.trim().trim_matches(|c| c == '"' || c == '\'');
    if raw.eq_ignore_ascii_case("null") {
        return Some(Value::Null);
    }
    parse_datetime_text(raw).map(Value::DateTime)
}

/// Parses the text of `timespan(...)`: `1d`, `00:10:00`, `1.02:03:04.5`, `null`.
pub(super) fn parse_timespan_literal(raw: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("null") {
        return Some(Value::Null);
    }
    parse_timespan_text(raw).map(Value::TimeSpan)
}

pub(super) fn parse_typed_number(ty: &str, raw: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("null") {
        return Some(Value::Null);
    }
    match ty {
        "bool" | "boolean" => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        "int" => raw.parse::<i32>().ok().map(Value::Int),
        "long" => raw.parse::<i64>().ok().map(Value::Long),
        _ => {
            let f = match raw.to_ascii_lowercase().as_str() {
                "nan" => f64::NAN,
                "+inf" | "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse::<f64>().ok()?,
            };
            Some(if ty == "decimal" {
                // Every digit of the literal (NaN and the infinities are null decimals).
                crate::value::Decimal::parse(raw).map_or_else(|| Value::decimal(f), Value::Decimal)
            } else {
                Value::Real(f)
            })
        }
    }
}
