//! Statements and tabular sources: `let`, functions, queries, `datatable`, `union`, table names.

use crate::error::KqlError;
use crate::syntax::lexer::TokenKind;
use crate::value::{ScalarType, Value};

use super::*;

impl Parser<'_> {
    pub(super) fn statements(&mut self, in_body: bool) -> Result<Vec<Statement>, KqlError> {
        let mut out = Vec::new();
        loop {
            while self.eat_punct(";") {}
            if matches!(self.peek().kind, TokenKind::Eof) || (in_body && self.is_punct("}")) {
                return Ok(out);
            }
            out.push(self.statement()?);
            // Files often hold several queries separated only by blank lines; accept a new line.
            let new_line =
                self.peek().location.line > self.tokens[self.pos.saturating_sub(1)].location.line;
            let starts_statement = matches!(
                self.peek().kind,
                TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
            );
            let separated = self.eat_punct(";") || (new_line && starts_statement);
            if !separated {
                return Ok(out);
            }
        }
    }

    pub(super) fn statement(&mut self) -> Result<Statement, KqlError> {
        let start = self.peek().span;
        if self.is_punct(".") && matches!(self.peek_at(1).kind, TokenKind::Ident(_)) {
            let cmd = self.word_at(1).unwrap_or("").to_string();
            return Err(KqlError::Forbidden {
                location: self.peek().location,
                construct: format!("The control command '.{cmd}'"),
            });
        }
        if self.eat_word("let") {
            let name = self.name()?;
            self.expect_punct("=")?;
            self.eat_word("view");
            let value = if self.looks_like_lambda() {
                LetValue::Function(self.function()?)
            } else {
                LetValue::Expr(self.query()?)
            };
            return Ok(Statement::Let {
                name,
                value,
                span: start.to(self.prev_span()),
            });
        }
        if self.is_word("set") && matches!(self.peek_at(1).kind, TokenKind::Ident(_)) {
            self.advance();
            let name = self.name()?;
            let value = if self.eat_punct("=") {
                Some(self.expr(0)?)
            } else {
                None
            };
            self.skip_operator_body()?;
            return Ok(Statement::Set {
                name,
                value,
                span: start.to(self.prev_span()),
            });
        }
        if self.is_word("declare") && self.word_at(1) == Some("pattern") {
            return self.pattern();
        }
        if self.is_word("declare") || self.is_word("alias") || self.is_word("pattern") {
            self.advance();
            self.skip_operator_body()?;
            return Ok(Statement::Declare {
                span: start.to(self.prev_span()),
            });
        }
        Ok(Statement::Query(self.query()?))
    }

    /// `declare pattern name [= (arg:string, ...)[path:string] { (values).[path] = { query }; ... }]`.
    fn pattern(&mut self) -> Result<Statement, KqlError> {
        let start = self.peek().span;
        self.expect_word("declare")?;
        self.expect_word("pattern")?;
        let name = self.name()?;
        let mut pattern = Pattern {
            name,
            params: Vec::new(),
            path: None,
            cases: Vec::new(),
            span: start,
        };
        if self.eat_punct("=") {
            let string_param = |p: &mut Self| -> Result<String, KqlError> {
                let name = p.name()?;
                p.expect_punct(":")?;
                p.expect_word("string")?;
                Ok(name)
            };
            self.expect_punct("(")?;
            loop {
                pattern.params.push(string_param(self)?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            self.expect_punct(")")?;
            if self.eat_punct("[") {
                pattern.path = Some(string_param(self)?);
                self.expect_punct("]")?;
            }
            self.expect_punct("{")?;
            self.enter()?;
            while !self.is_punct("}") {
                pattern.cases.push(self.pattern_case()?);
                if !self.eat_punct(";") {
                    break;
                }
            }
            self.depth -= 1;
            self.expect_punct("}")?;
        }
        pattern.span = start.to(self.prev_span());
        Ok(Statement::Pattern(pattern))
    }

    /// `("a", ...).["path"] = { query }`, one mapping of a pattern.
    fn pattern_case(&mut self) -> Result<PatternCase, KqlError> {
        let string = |p: &mut Self| -> Result<String, KqlError> {
            match &p.peek().kind {
                TokenKind::Str(s) => {
                    let s = s.clone();
                    p.next();
                    Ok(s)
                }
                _ => Err(p.error("a string literal")),
            }
        };
        self.expect_punct("(")?;
        let mut args = Vec::new();
        loop {
            args.push(string(self)?);
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        // `.["path"]` lexes as `.` and a bracketed name.
        let path = if self.eat_punct(".") {
            Some(self.name()?)
        } else {
            None
        };
        self.expect_punct("=")?;
        let start = self.expect_punct("{")?;
        self.enter()?;
        let body = self.statements(true)?;
        self.depth -= 1;
        let end = self.expect_punct("}")?;
        Ok(PatternCase {
            args,
            path,
            body: Function {
                params: Vec::new(),
                body,
                span: start.to(end),
            },
        })
    }

    pub(super) fn looks_like_lambda(&self) -> bool {
        if !self.is_punct("(") {
            return false;
        }
        (self.punct_at(1, ")") && self.punct_at(2, "{"))
            || (matches!(
                self.peek_at(1).kind,
                TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
            ) && self.punct_at(2, ":"))
    }

    pub(super) fn function(&mut self) -> Result<Function, KqlError> {
        let start = self.expect_punct("(")?;
        let mut params = Vec::new();
        while !self.is_punct(")") {
            let name = self.name()?;
            self.expect_punct(":")?;
            let ty = if self.is_punct("(") {
                self.paren_raw()?;
                None
            } else {
                let t = self.name()?;
                Some(ScalarType::from_name(&t).ok_or_else(|| self.error("a scalar type name"))?)
            };
            let default = if self.eat_punct("=") {
                Some(self.expr(0)?)
            } else {
                None
            };
            params.push(Param { name, ty, default });
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        self.expect_punct("{")?;
        self.enter()?;
        let body = self.statements(true)?;
        self.depth -= 1;
        let end = self.expect_punct("}")?;
        Ok(Function {
            params,
            body,
            span: start.to(end),
        })
    }

    // ---- tabular expressions ----

    pub(super) fn query(&mut self) -> Result<Expr, KqlError> {
        self.enter()?;
        let source = self.source()?;
        let mut ops = Vec::new();
        while self.eat_punct("|") {
            ops.push(self.operator()?);
        }
        self.depth -= 1;
        if ops.is_empty() {
            return Ok(source);
        }
        let span = source.span.to(self.prev_span());
        Ok(Expr {
            kind: ExprKind::Pipe {
                source: Box::new(source),
                ops,
            },
            span,
        })
    }

    pub(super) fn source(&mut self) -> Result<Expr, KqlError> {
        let start = self.peek().span;
        let word = self.word_at(0).map(str::to_string);
        let opens_paren = self.punct_at(1, "(");
        let kind = match word.as_deref() {
            Some("datatable") if opens_paren => {
                self.advance();
                self.datatable()?
            }
            Some("print") => {
                self.advance();
                ExprKind::Print(self.named_list()?)
            }
            Some("range")
                if matches!(
                    self.peek_at(1).kind,
                    TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
                ) =>
            {
                self.advance();
                let name = self.name()?;
                self.expect_word("from")?;
                let from = self.expr(0)?;
                self.expect_word("to")?;
                let to = self.expr(0)?;
                self.expect_word("step")?;
                let step = self.expr(0)?;
                ExprKind::Range {
                    name,
                    from: Box::new(from),
                    to: Box::new(to),
                    step: Box::new(step),
                }
            }
            Some("union") => {
                self.advance();
                ExprKind::Union(Box::new(self.union()?))
            }
            Some("externaldata") => {
                self.advance();
                self.skip_operator_body()?;
                ExprKind::ExternalData
            }
            Some("search") => {
                self.advance();
                ExprKind::Search(Box::new(self.search_body()?))
            }
            Some("find") => {
                self.advance();
                ExprKind::Find(Box::new(self.find_body()?))
            }
            Some(w @ "evaluate") => {
                let w = w.to_string();
                self.advance();
                self.skip_operator_body()?;
                ExprKind::OtherSource(w)
            }
            _ => return self.expr(0),
        };
        Ok(Expr {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    pub(super) fn datatable(&mut self) -> Result<ExprKind, KqlError> {
        self.expect_punct("(")?;
        let mut columns = Vec::new();
        while !self.is_punct(")") {
            let name = self.name()?;
            self.expect_punct(":")?;
            let t = self.name()?;
            let ty = ScalarType::from_name(&t).ok_or_else(|| KqlError::Syntax {
                location: self.tokens[self.pos - 1].location,
                found: format!("'{t}'"),
                expected: "a scalar type name".into(),
            })?;
            columns.push((name, ty));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct(")")?;
        // `['a']` lexes as a quoted identifier; after a datatable's columns it is one value.
        if let TokenKind::QuotedIdent(s) = &self.peek().kind {
            let tok = self.peek().clone();
            let value = Expr {
                kind: ExprKind::Literal(Value::str(s)),
                span: tok.span,
            };
            self.pos += 1;
            return Ok(ExprKind::Datatable {
                columns,
                values: vec![value],
            });
        }
        self.expect_punct("[")?;
        let mut values = Vec::new();
        while !self.is_punct("]") {
            values.push(self.expr(0)?);
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct("]")?;
        Ok(ExprKind::Datatable { columns, values })
    }

    pub(super) fn params(&mut self) -> Result<Vec<(String, Expr)>, KqlError> {
        let mut out = Vec::new();
        loop {
            let is_param = match &self.peek().kind {
                TokenKind::Ident(w) => {
                    (self.punct_at(1, "=")
                        && matches!(
                            w.as_str(),
                            "kind"
                                | "withsource"
                                | "isfuzzy"
                                | "bagexpansion"
                                | "with_itemindex"
                                | "flags"
                                | "source"
                                | "decodeblocks"
                        ))
                        || (w == "hint" && self.punct_at(1, "."))
                }
                _ => false,
            };
            if !is_param {
                return Ok(out);
            }
            let mut name = self.name()?;
            while self.eat_punct(".") {
                name.push('.');
                name.push_str(&self.name()?);
            }
            self.expect_punct("=")?;
            let t = self.next();
            let kind = match t.kind {
                TokenKind::Ident(w) if w == "true" => ExprKind::Literal(Value::Bool(true)),
                TokenKind::Ident(w) if w == "false" => ExprKind::Literal(Value::Bool(false)),
                TokenKind::Ident(w) | TokenKind::QuotedIdent(w) => ExprKind::Name(w),
                TokenKind::Str(s) => ExprKind::Literal(Value::str(s)),
                TokenKind::Int(i) => ExprKind::Literal(Value::Long(i)),
                _ => {
                    self.pos -= 1;
                    return Err(self.error("a parameter value"));
                }
            };
            out.push((name, Expr { kind, span: t.span }));
        }
    }

    pub(super) fn union(&mut self) -> Result<Union, KqlError> {
        let params = self.params()?;
        let mut tables = Vec::new();
        loop {
            tables.push(self.table_ref()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(Union { params, tables })
    }

    /// A table or column name possibly with `*` wildcards (`Device*`), or any primary expression.
    pub(super) fn table_ref(&mut self) -> Result<Expr, KqlError> {
        let start = self.peek().span;
        let mut pattern = String::new();
        let mut end = start;
        loop {
            let t = self.peek().clone();
            let adjacent = pattern.is_empty() || t.span.start == end.end;
            if !adjacent {
                break;
            }
            match &t.kind {
                TokenKind::Punct("*") => pattern.push('*'),
                TokenKind::Ident(w)
                    if !w.starts_with('!') && (!pattern.is_empty() || !self.punct_at(1, "(")) =>
                {
                    pattern.push_str(w)
                }
                _ => break,
            }
            end = t.span;
            self.advance();
        }
        if pattern.is_empty() {
            return self.unary();
        }
        let span = start.to(end);
        if pattern.contains('*') {
            if pattern == "*" {
                return Ok(Expr {
                    kind: ExprKind::Star,
                    span,
                });
            }
            return Ok(Expr {
                kind: ExprKind::Wildcard(pattern),
                span,
            });
        }
        // A plain name: let postfix operators apply (e.g. `T.x` is rare but harmless).
        self.postfix(Expr {
            kind: ExprKind::Name(pattern),
            span,
        })
    }
}
