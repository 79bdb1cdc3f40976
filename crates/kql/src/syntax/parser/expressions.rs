//! Scalar expressions: the Pratt loop over binary operators, unary and postfix forms, calls.

use crate::error::KqlError;
use crate::syntax::lexer::{Span, TokenKind};
use crate::value::{ScalarType, Value};

use super::literals::{parse_datetime_literal, parse_timespan_literal, parse_typed_number};
use super::*;

fn string_op(word: &str) -> Option<BinOp> {
    let (neg, w) = match word.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let (cs, base) = match w.strip_suffix("_cs") {
        Some(b) => (true, b),
        None => (false, w),
    };
    let op = match base {
        "has" => StrOp::Has { cs },
        "hasprefix" => StrOp::HasPrefix { cs },
        "hassuffix" => StrOp::HasSuffix { cs },
        "contains" => StrOp::Contains { cs },
        "startswith" => StrOp::StartsWith { cs },
        "endswith" => StrOp::EndsWith { cs },
        "has_any" if !neg && !cs => StrOp::HasAny,
        "has_all" if !neg && !cs => StrOp::HasAll,
        "notcontains" => return Some(BinOp::Str(StrOp::Contains { cs }, true)),
        "nothas" => return Some(BinOp::Str(StrOp::Has { cs }, true)),
        _ => return None,
    };
    Some(BinOp::Str(op, neg))
}

impl Parser<'_> {
    /// A scalar expression; `min_prec` drives the Pratt loop.
    pub(super) fn expr(&mut self, min_prec: u8) -> Result<Expr, KqlError> {
        let left = self.unary()?;
        self.binary_rest(left, min_prec)
    }

    pub(super) fn binary_op(&self) -> Option<(BinOp, u8)> {
        match &self.peek().kind {
            TokenKind::Punct(p) => Some(match *p {
                "==" => (BinOp::Eq, 3),
                // Kusto tolerates a single `=` as equality inside predicates.
                "=" => (BinOp::Eq, 3),
                "!=" | "<>" => (BinOp::Ne, 3),
                "<" => (BinOp::Lt, 3),
                "<=" => (BinOp::Le, 3),
                ">" => (BinOp::Gt, 3),
                ">=" => (BinOp::Ge, 3),
                "=~" => (BinOp::EqCi, 3),
                "!~" => (BinOp::NeCi, 3),
                "+" => (BinOp::Add, 4),
                "-" => (BinOp::Sub, 4),
                "*" => (BinOp::Mul, 5),
                "/" => (BinOp::Div, 5),
                "%" => (BinOp::Mod, 5),
                _ => return None,
            }),
            TokenKind::Ident(w) => match w.as_str() {
                "or" => Some((BinOp::Or, 1)),
                "and" => Some((BinOp::And, 2)),
                "matches" => Some((BinOp::Str(StrOp::MatchesRegex, false), 3)),
                w => string_op(w).map(|op| (op, 3)),
            },
            _ => None,
        }
    }

    pub(super) fn binary_rest(&mut self, mut left: Expr, min_prec: u8) -> Result<Expr, KqlError> {
        // Left-associative chains nest to the left; bound them like any other nesting.
        let mut chain = 0usize;
        loop {
            chain += 1;
            if chain > 2 * MAX_DEPTH {
                return Err(self.error(&format!(
                    "a shorter chain of operators (at most {} in one expression)",
                    2 * MAX_DEPTH
                )));
            }
            if let Some(w) = self.word_at(0) {
                let (negated, ci) = match w {
                    "in" => (false, false),
                    "!in" => (true, false),
                    "in~" => (false, true),
                    "!in~" => (true, true),
                    "between" => (false, false),
                    "!between" => (true, false),
                    _ => (false, false),
                };
                if matches!(w, "in" | "!in" | "in~" | "!in~") && min_prec <= 3 {
                    self.advance();
                    let list = self.in_list()?;
                    let span = left.span.to(self.prev_span());
                    left = Expr {
                        kind: ExprKind::In {
                            expr: Box::new(left),
                            list,
                            negated,
                            ci,
                        },
                        span,
                    };
                    continue;
                }
                if matches!(w, "between" | "!between") && min_prec <= 3 {
                    self.advance();
                    self.expect_punct("(")?;
                    let low = self.expr(4)?;
                    self.expect_punct("..")?;
                    let high = self.expr(4)?;
                    self.expect_punct(")")?;
                    let span = left.span.to(self.prev_span());
                    left = Expr {
                        kind: ExprKind::Between {
                            expr: Box::new(left),
                            low: Box::new(low),
                            high: Box::new(high),
                            negated,
                        },
                        span,
                    };
                    continue;
                }
            }
            let Some((op, prec)) = self.binary_op() else {
                return Ok(left);
            };
            if prec < min_prec {
                return Ok(left);
            }
            self.advance();
            if op == BinOp::Str(StrOp::MatchesRegex, false) {
                self.expect_word("regex")?;
            }
            let right = if matches!(op, BinOp::Str(StrOp::HasAny | StrOp::HasAll, _))
                && self.is_punct("(")
            {
                let start = self.peek().span;
                let list = self.in_list()?;
                Expr {
                    kind: ExprKind::Call {
                        name: "pack_array".into(),
                        args: list,
                    },
                    span: start.to(self.prev_span()),
                }
            } else {
                self.enter()?;
                let r = self.expr(prec + 1);
                self.depth -= 1;
                r?
            };
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            };
        }
    }

    pub(super) fn in_list(&mut self) -> Result<Vec<Expr>, KqlError> {
        if !self.is_punct("(") {
            return Ok(vec![self.unary()?]);
        }
        self.advance();
        let mut list = Vec::new();
        while !self.is_punct(")") {
            list.push(self.query()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        Ok(list)
    }

    pub(super) fn unary(&mut self) -> Result<Expr, KqlError> {
        self.enter()?;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    pub(super) fn unary_inner(&mut self) -> Result<Expr, KqlError> {
        let start = self.peek().span;
        if self.eat_punct("-") {
            let inner = self.unary()?;
            let span = start.to(inner.span);
            let kind = match inner.kind {
                ExprKind::Literal(Value::Long(i)) => {
                    ExprKind::Literal(Value::Long(i.wrapping_neg()))
                }
                ExprKind::Literal(Value::Real(r)) => ExprKind::Literal(Value::Real(-r)),
                ExprKind::Literal(Value::TimeSpan(t)) => {
                    ExprKind::Literal(Value::TimeSpan(t.wrapping_neg()))
                }
                other => ExprKind::Neg(Box::new(Expr {
                    kind: other,
                    span: inner.span,
                })),
            };
            return Ok(Expr { kind, span });
        }
        if self.eat_punct("+") {
            return self.unary();
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    pub(super) fn postfix(&mut self, mut e: Expr) -> Result<Expr, KqlError> {
        loop {
            if self.is_punct(".") && self.punct_at(1, "[") {
                // `x.[0]` is the same as `x[0]`.
                self.advance();
            } else if self.is_punct(".") {
                let name = match &self.peek_at(1).kind {
                    TokenKind::Ident(n) | TokenKind::QuotedIdent(n) => n.clone(),
                    TokenKind::Int(i) => i.to_string(),
                    _ => return Ok(e),
                };
                self.advance();
                self.advance();
                let span = e.span.to(self.prev_span());
                e = Expr {
                    kind: ExprKind::Member {
                        target: Box::new(e),
                        name,
                    },
                    span,
                };
            } else if self.is_punct("[") {
                self.advance();
                let index = self.expr(0)?;
                let end = self.expect_punct("]")?;
                let span = e.span.to(end);
                e = Expr {
                    kind: ExprKind::Index {
                        target: Box::new(e),
                        index: Box::new(index),
                    },
                    span,
                };
            } else if let TokenKind::QuotedIdent(n) = &self.peek().kind {
                // `x['a']` lexes as a quoted identifier right after the target.
                if self.peek().span.start != e.span.end {
                    return Ok(e);
                }
                let name = n.clone();
                let end = self.advance();
                let span = e.span.to(end);
                e = Expr {
                    kind: ExprKind::Member {
                        target: Box::new(e),
                        name,
                    },
                    span,
                };
            } else {
                return Ok(e);
            }
        }
    }

    pub(super) fn primary(&mut self) -> Result<Expr, KqlError> {
        let t = self.peek().clone();
        let lit = |v: Value| {
            Ok(Expr {
                kind: ExprKind::Literal(v),
                span: t.span,
            })
        };
        match &t.kind {
            TokenKind::Int(i) => {
                self.advance();
                lit(Value::Long(*i))
            }
            TokenKind::Real(r) => {
                self.advance();
                lit(Value::Real(*r))
            }
            TokenKind::TimeSpan(ts) => {
                self.advance();
                lit(Value::TimeSpan(*ts))
            }
            TokenKind::Str(_) => {
                let mut s = String::new();
                let mut span = t.span;
                while let TokenKind::Str(part) = &self.peek().kind {
                    s.push_str(part);
                    span = span.to(self.peek().span);
                    self.advance();
                }
                Ok(Expr {
                    kind: ExprKind::Literal(Value::str(s)),
                    span,
                })
            }
            TokenKind::QuotedIdent(n) => {
                self.advance();
                Ok(Expr {
                    kind: ExprKind::Name(n.clone()),
                    span: t.span,
                })
            }
            TokenKind::Punct("(") => {
                self.advance();
                let inner = self.query()?;
                let end = self.expect_punct(")")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: t.span.to(end),
                })
            }
            TokenKind::Punct("*") => {
                self.advance();
                Ok(Expr {
                    kind: ExprKind::Star,
                    span: t.span,
                })
            }
            TokenKind::Ident(w) if !w.starts_with('!') => {
                let w = w.clone();
                if self.punct_at(1, "(") {
                    self.advance();
                    return self.call_or_literal(w, t.span);
                }
                if w == "datatable"
                    || w == "print"
                    || w == "range"
                    || w == "union"
                    || w == "externaldata"
                {
                    return self.source();
                }
                self.advance();
                let kind = match w.as_str() {
                    "true" | "True" | "TRUE" => ExprKind::Literal(Value::Bool(true)),
                    "false" | "False" | "FALSE" => ExprKind::Literal(Value::Bool(false)),
                    _ => ExprKind::Name(w),
                };
                Ok(Expr { kind, span: t.span })
            }
            _ => Err(self.error("an expression")),
        }
    }

    pub(super) fn call_or_literal(&mut self, name: String, start: Span) -> Result<Expr, KqlError> {
        let typed = |p: &Parser, v: Result<Value, String>, span: Span| -> Result<Expr, KqlError> {
            v.map(|v| Expr {
                kind: match (&v, ScalarType::from_name(&name)) {
                    (Value::Null, Some(ty)) => ExprKind::NullOf(ty),
                    _ => ExprKind::Literal(v),
                },
                span,
            })
            .map_err(|msg| KqlError::Syntax {
                location: Location::from_offset(p.text, span.start),
                found: format!("{name} literal '{msg}'"),
                expected: format!("a valid {name} literal"),
            })
        };
        match name.as_str() {
            "datetime" | "date" => {
                let (raw, span) = self.paren_raw()?;
                // `datetime(2025, 6, 14)` is no Kusto literal: point at the function that is.
                let parts = raw.split(',').map(str::trim);
                if raw.contains(',') && parts.clone().all(|p| p.parse::<f64>().is_ok()) {
                    return Err(KqlError::Syntax {
                        location: Location::from_offset(self.text, start.start),
                        found: format!("{name}({raw})"),
                        expected: format!(
                            "a datetime literal such as datetime(2025-06-14); a date from its \
                             parts is make_datetime({raw})"
                        ),
                    });
                }
                return typed(
                    self,
                    parse_datetime_literal(&raw).ok_or(raw),
                    start.to(span),
                );
            }
            "timespan" | "time" => {
                let (raw, span) = self.paren_raw()?;
                return typed(
                    self,
                    parse_timespan_literal(&raw).ok_or(raw),
                    start.to(span),
                );
            }
            "guid" | "uuid" | "uniqueid" => {
                let (raw, span) = self.paren_raw()?;
                let v = if raw == "null" {
                    Some(Value::Null)
                } else {
                    uuid::Uuid::parse_str(&raw).ok().map(Value::Guid)
                };
                return typed(self, v.ok_or(raw), start.to(span));
            }
            "bool" | "boolean" | "int" | "long" | "real" | "double" | "decimal" => {
                let (raw, span) = self.paren_raw()?;
                return typed(
                    self,
                    parse_typed_number(&name, &raw).ok_or(raw),
                    start.to(span),
                );
            }
            "typeof" => {
                let (raw, span) = self.paren_raw()?;
                let ty = ScalarType::from_name(&raw);
                return match ty {
                    Some(ty) => Ok(Expr {
                        kind: ExprKind::TypeOf(ty),
                        span: start.to(span),
                    }),
                    None => typed(self, Err(raw), start.to(span)),
                };
            }
            "dynamic" => {
                self.expect_punct("(")?;
                let v = self.dynamic_value()?;
                let end = self.expect_punct(")")?;
                return Ok(Expr {
                    kind: ExprKind::Literal(Value::dynamic(v)),
                    span: start.to(end),
                });
            }
            _ => {}
        }
        self.expect_punct("(")?;
        let mut args = Vec::new();
        while !self.is_punct(")") {
            if matches!(self.peek().kind, TokenKind::Ident(_)) && self.punct_at(1, "=") {
                let arg_start = self.peek().span;
                let n = self.name()?;
                self.advance();
                let value = self.query()?;
                let span = arg_start.to(value.span);
                args.push(Expr {
                    kind: ExprKind::Named {
                        name: n,
                        value: Box::new(value),
                    },
                    span,
                });
            } else {
                args.push(self.query()?);
            }
            if !self.eat_punct(",") {
                break;
            }
        }
        let end = self.expect_punct(")")?;
        Ok(Expr {
            kind: ExprKind::Call {
                name: current_function_name(name),
                args,
            },
            span: start.to(end),
        })
    }
}

/// The current name of a function Kusto still accepts under a deprecated alias (`parsejson` →
/// `parse_json`), so both engines know one name.
fn current_function_name(name: String) -> String {
    let current = match name.as_str() {
        "parsejson" => "parse_json",
        "notempty" => "isnotempty",
        "notnull" => "isnotnull",
        "extractall" => "extract_all",
        "pack_dictionary" => "bag_pack",
        "argmax" => "arg_max",
        "argmin" => "arg_min",
        _ => return name,
    };
    current.to_string()
}
