//! Recursive-descent KQL parser with a Pratt loop for scalar expressions.

use crate::error::{KqlError, Location};
use crate::syntax::ast::*;
use crate::syntax::lexer::{Span, Token, TokenKind, tokenize};
use crate::value::time::{parse_datetime_text, parse_timespan_text};
use crate::value::{ScalarType, Value};

/// Maximum nesting of expressions and subqueries; deeper input is rejected, not overflowed.
pub const MAX_DEPTH: usize = 256;

/// Stack for the thread that parses or runs a query: trees may nest hundreds of levels deep.
const DEEP_STACK_BYTES: usize = 64 << 20;

/// The stack a thread needs to parse and run queries on its own stack: threads made with it
/// (the server's) run each query without mapping a stack segment for it.
pub const QUERY_THREAD_STACK_BYTES: usize = DEEP_STACK_BYTES + (2 << 20);

/// Runs `f` with at least [`DEEP_STACK_BYTES`] of stack, so deeply nested (even hostile) input
/// cannot overflow the caller's stack; a panic there becomes `KqlError::Runtime`. A thread with
/// less stack left gets a fresh segment for it (one mmap, not an OS thread and two context
/// switches per query); one made with [`QUERY_THREAD_STACK_BYTES`] needs none.
pub(crate) fn on_deep_stack<T: Send>(
    f: impl FnOnce() -> Result<T, KqlError> + Send,
) -> Result<T, KqlError> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stacker::maybe_grow(DEEP_STACK_BYTES, DEEP_STACK_BYTES, f)
    }));
    outcome.unwrap_or_else(|_| {
        Err(KqlError::Runtime {
            message: "the KQL engine hit an internal error on this query".into(),
        })
    })
}

/// Parses a whole query text (statements separated by `;`).
pub fn parse_script(text: &str) -> Result<Script, KqlError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
    };
    let statements = p.statements(false)?;
    p.expect_eof()?;
    if statements.is_empty() {
        return Err(p.error("a query, such as a table name"));
    }
    Ok(Script { statements })
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

const OPERATOR_NAMES: &str =
    "a tabular operator (where, extend, project, summarize, join, sort, take, ...)";

const OTHER_OPERATORS: [&str; 11] = [
    "top-hitters",
    "fork",
    "facet",
    "sample-distinct",
    "scan",
    "parse-kv",
    "project-smart",
    "reduce",
    "consume",
    "make-graph",
    "graph-match",
];

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
    // ---- token helpers ----

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let i = (self.pos + n).min(self.tokens.len().saturating_sub(1));
        &self.tokens[i.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn prev_span(&self) -> Span {
        self.tokens
            .get(self.pos.wrapping_sub(1))
            .map(|t| t.span)
            .unwrap_or_default()
    }

    fn word_at(&self, n: usize) -> Option<&str> {
        match &self.peek_at(n).kind {
            TokenKind::Ident(s) => Some(s.as_str()),
            _ => None,
        }
    }

    fn is_word(&self, w: &str) -> bool {
        self.word_at(0) == Some(w)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.next();
            true
        } else {
            false
        }
    }

    fn punct_at(&self, n: usize, p: &str) -> bool {
        matches!(&self.peek_at(n).kind, TokenKind::Punct(q) if *q == p)
    }

    fn is_punct(&self, p: &str) -> bool {
        self.punct_at(0, p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.next();
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &str) -> KqlError {
        let t = self.peek();
        KqlError::Syntax {
            location: t.location,
            found: t.describe(),
            expected: expected.into(),
        }
    }

    fn expect_punct(&mut self, p: &str) -> Result<Span, KqlError> {
        if self.is_punct(p) {
            Ok(self.next().span)
        } else {
            Err(self.error(&format!("'{p}'")))
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<(), KqlError> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(self.error(&format!("'{w}'")))
        }
    }

    fn expect_eof(&self) -> Result<(), KqlError> {
        if matches!(self.peek().kind, TokenKind::Eof) {
            Ok(())
        } else {
            Err(self.error("'|', ';' or the end of the query"))
        }
    }

    fn name(&mut self) -> Result<String, KqlError> {
        match &self.peek().kind {
            TokenKind::Ident(s) if !s.starts_with('!') => {
                let s = s.clone();
                self.next();
                Ok(s)
            }
            TokenKind::QuotedIdent(s) => {
                let s = s.clone();
                self.next();
                Ok(s)
            }
            _ => Err(self.error("a name")),
        }
    }

    fn enter(&mut self) -> Result<(), KqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("less nesting (at most {MAX_DEPTH} levels)")));
        }
        Ok(())
    }

    fn at_end_of_operator(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
            || self.is_punct("|")
            || self.is_punct(";")
            || self.is_punct(")")
            || self.is_punct("}")
    }

    /// Skips balanced tokens up to the next `|`, `;` or closing bracket at this level.
    fn skip_operator_body(&mut self) -> Result<(), KqlError> {
        let mut depth = 0usize;
        loop {
            match &self.peek().kind {
                TokenKind::Eof => return Ok(()),
                TokenKind::Punct(p) => match *p {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => {
                        if depth == 0 {
                            return Ok(());
                        }
                        depth -= 1;
                    }
                    "|" | ";" if depth == 0 => return Ok(()),
                    _ => {}
                },
                _ => {}
            }
            self.next();
        }
    }

    /// The raw text between a `(` and its matching `)`.
    fn paren_raw(&mut self) -> Result<(String, Span), KqlError> {
        let open = self.expect_punct("(")?;
        let mut depth = 0usize;
        loop {
            match &self.peek().kind {
                TokenKind::Eof => return Err(self.error("')'")),
                TokenKind::Punct("(") => depth += 1,
                TokenKind::Punct(")") => {
                    if depth == 0 {
                        let close = self.next().span;
                        let raw = self
                            .text
                            .get(open.end..close.start)
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        return Ok((raw, open.to(close)));
                    }
                    depth -= 1;
                }
                _ => {}
            }
            self.next();
        }
    }

    // ---- statements ----

    fn statements(&mut self, in_body: bool) -> Result<Vec<Statement>, KqlError> {
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

    fn statement(&mut self) -> Result<Statement, KqlError> {
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
            self.next();
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
        if self.is_word("declare") || self.is_word("alias") || self.is_word("pattern") {
            self.next();
            self.skip_operator_body()?;
            return Ok(Statement::Declare {
                span: start.to(self.prev_span()),
            });
        }
        Ok(Statement::Query(self.query()?))
    }

    fn looks_like_lambda(&self) -> bool {
        if !self.is_punct("(") {
            return false;
        }
        (self.punct_at(1, ")") && self.punct_at(2, "{"))
            || (matches!(
                self.peek_at(1).kind,
                TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
            ) && self.punct_at(2, ":"))
    }

    fn function(&mut self) -> Result<Function, KqlError> {
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

    fn query(&mut self) -> Result<Expr, KqlError> {
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

    fn source(&mut self) -> Result<Expr, KqlError> {
        let start = self.peek().span;
        let word = self.word_at(0).map(str::to_string);
        let opens_paren = self.punct_at(1, "(");
        let kind = match word.as_deref() {
            Some("datatable") if opens_paren => {
                self.next();
                self.datatable()?
            }
            Some("print") => {
                self.next();
                ExprKind::Print(self.named_list()?)
            }
            Some("range")
                if matches!(
                    self.peek_at(1).kind,
                    TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
                ) =>
            {
                self.next();
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
                self.next();
                ExprKind::Union(Box::new(self.union()?))
            }
            Some("externaldata") => {
                self.next();
                self.skip_operator_body()?;
                ExprKind::ExternalData
            }
            Some("search") => {
                self.next();
                ExprKind::Search(Box::new(self.search_body()?))
            }
            Some("find") => {
                self.next();
                ExprKind::Find(Box::new(self.find_body()?))
            }
            Some(w @ "evaluate") => {
                let w = w.to_string();
                self.next();
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

    fn datatable(&mut self) -> Result<ExprKind, KqlError> {
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

    fn params(&mut self) -> Result<Vec<(String, Expr)>, KqlError> {
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

    fn union(&mut self) -> Result<Union, KqlError> {
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
    fn table_ref(&mut self) -> Result<Expr, KqlError> {
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
            self.next();
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

    /// `op | op | ... )`: the operators of a sub-pipeline after its `(`, and the closing `)`
    /// (`mv-apply ... on (...)`, `partition by C (...)`).
    fn bracketed_operators(&mut self) -> Result<Vec<Operator>, KqlError> {
        self.enter()?;
        let mut ops = Vec::new();
        loop {
            ops.push(self.operator()?);
            if !self.eat_punct("|") {
                break;
            }
        }
        self.depth -= 1;
        self.expect_punct(")")?;
        Ok(ops)
    }

    fn operator(&mut self) -> Result<Operator, KqlError> {
        let start = self.peek().span;
        let Some(word) = self.word_at(0).map(str::to_string) else {
            return Err(self.error(OPERATOR_NAMES));
        };
        self.next();
        let kind = match word.as_str() {
            "where" | "filter" => OperatorKind::Where(self.expr(0)?),
            "extend" => OperatorKind::Extend(self.named_list()?),
            "project" => OperatorKind::Project(self.named_list()?),
            "project-away" => OperatorKind::ProjectAway(self.pattern_list()?),
            "project-keep" => OperatorKind::ProjectKeep(self.pattern_list()?),
            "project-rename" => {
                let mut pairs = Vec::new();
                loop {
                    let new = self.name()?;
                    self.expect_punct("=")?;
                    let old = self.name()?;
                    pairs.push((new, old));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                OperatorKind::ProjectRename(pairs)
            }
            "project-reorder" => {
                let mut keys = Vec::new();
                loop {
                    let expr = self.table_ref()?;
                    let desc = self.eat_word("desc") || self.eat_word("granny-desc");
                    self.eat_word("asc");
                    keys.push(SortKey {
                        expr,
                        desc,
                        nulls_first: None,
                    });
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                OperatorKind::ProjectReorder(keys)
            }
            "summarize" => {
                self.params()?;
                let aggs = if self.is_word("by") || self.at_end_of_operator() {
                    Vec::new()
                } else {
                    self.named_list()?
                };
                let by = if self.eat_word("by") {
                    self.named_list()?
                } else {
                    Vec::new()
                };
                OperatorKind::Summarize { aggs, by }
            }
            "sort" | "order" => {
                self.params()?;
                self.expect_word("by")?;
                OperatorKind::Sort(self.sort_keys()?)
            }
            "top" => {
                let count = self.expr(0)?;
                self.expect_word("by")?;
                OperatorKind::Top {
                    count,
                    keys: self.sort_keys()?,
                }
            }
            "take" | "limit" => {
                self.params()?;
                OperatorKind::Take(self.expr(0)?)
            }
            "count" => OperatorKind::Count,
            "distinct" => {
                self.params()?;
                OperatorKind::Distinct(self.pattern_list()?)
            }
            "join" | "lookup" => {
                let params = self.params()?;
                let kind =
                    params
                        .iter()
                        .find(|(n, _)| n == "kind")
                        .and_then(|(_, e)| match &e.kind {
                            ExprKind::Name(k) => Some(k.clone()),
                            _ => None,
                        });
                let right = self.unary()?;
                let mut on = Vec::new();
                if self.eat_word("on") {
                    loop {
                        let e = self.expr(0)?;
                        self.join_conditions(e, &mut on)?;
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                } else if self.eat_word("where") {
                    self.expr(0)?;
                }
                if word == "join" {
                    OperatorKind::Join { kind, right, on }
                } else {
                    OperatorKind::Lookup { kind, right, on }
                }
            }
            "union" => OperatorKind::Union(Box::new(self.union()?)),
            "mv-expand" | "mvexpand" => {
                let params = self.params()?;
                let items = self.expand_items()?;
                let limit = if self.eat_word("limit") {
                    Some(self.expr(0)?)
                } else {
                    None
                };
                OperatorKind::MvExpand {
                    params,
                    items,
                    limit,
                }
            }
            "parse" | "parse-where" => self.parse_op(word == "parse-where")?,
            "serialize" => OperatorKind::Serialize(if self.at_end_of_operator() {
                Vec::new()
            } else {
                self.named_list()?
            }),
            "getschema" => OperatorKind::GetSchema,
            "as" => {
                self.params()?;
                OperatorKind::As(self.name()?)
            }
            "render" => {
                let kind = self.name()?;
                self.skip_operator_body()?;
                OperatorKind::Render(kind)
            }
            "sample" => OperatorKind::Sample(self.expr(0)?),
            "invoke" => OperatorKind::Invoke(self.unary()?),
            "evaluate" => {
                self.params()?;
                let at = self.peek().location;
                let plugin = self.word_at(0).unwrap_or("").to_string();
                let args = match (self.word_at(0).is_some() && self.punct_at(1, "("))
                    .then(|| self.unary())
                {
                    Some(Ok(Expr {
                        kind: ExprKind::Call { args, .. },
                        ..
                    })) => args,
                    Some(Err(e)) => return Err(e),
                    _ => Vec::new(),
                };
                self.skip_operator_body()?;
                if plugin == "pivot" {
                    let mut args = args.into_iter();
                    let column = args.next().ok_or_else(|| KqlError::Syntax {
                        location: at,
                        found: "pivot()".into(),
                        expected: "the column to pivot, as in pivot(State)".into(),
                    })?;
                    let agg = args.next().unwrap_or_else(|| Expr {
                        kind: ExprKind::Call {
                            name: "count".into(),
                            args: Vec::new(),
                        },
                        span: column.span,
                    });
                    OperatorKind::Pivot(Box::new(Pivot {
                        column,
                        agg: vec![NamedExpr {
                            names: Vec::new(),
                            expr: agg,
                        }],
                        by: args.collect(),
                    }))
                } else {
                    OperatorKind::Evaluate { plugin, args }
                }
            }
            "search" => OperatorKind::Search(Box::new(self.search_body()?)),
            "top-nested" => {
                let mut levels = Vec::new();
                loop {
                    let count = if self.is_word("of") {
                        None
                    } else {
                        Some(self.expr(0)?)
                    };
                    self.expect_word("of")?;
                    let of = self.named()?;
                    let others = if self.eat_word("with") {
                        self.expect_word("others")?;
                        self.expect_punct("=")?;
                        Some(self.expr(0)?)
                    } else {
                        None
                    };
                    self.expect_word("by")?;
                    let by = self.named()?;
                    let desc = !self.eat_word("asc");
                    self.eat_word("desc");
                    levels.push(TopNestedLevel {
                        count,
                        of,
                        others,
                        by,
                        desc,
                    });
                    if !(self.is_punct(",") && self.word_at(1) == Some("top-nested")) {
                        break;
                    }
                    self.next();
                    self.next();
                }
                OperatorKind::TopNested(levels)
            }
            "make-series" => {
                let nonempty = self.params()?.iter().any(|(n, v)| {
                    n == "kind" && matches!(&v.kind, ExprKind::Name(k) if k == "nonempty")
                });
                let mut aggs = Vec::new();
                loop {
                    let item = self.named()?;
                    let default = if self.is_word("default") && self.punct_at(1, "=") {
                        self.next();
                        self.next();
                        Some(self.expr(0)?)
                    } else {
                        None
                    };
                    aggs.push((item, default));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_word("on")?;
                let mut axis = self.expr(0)?;
                let (mut from, mut to, mut step) = (None, None, None);
                // Legacy form: `on axis in range(from, to, step)`.
                if let ExprKind::In {
                    expr,
                    list,
                    negated: false,
                    ..
                } = &axis.kind
                    && let [
                        Expr {
                            kind: ExprKind::Call { name, args },
                            ..
                        },
                    ] = list.as_slice()
                    && name == "range"
                    && args.len() == 3
                {
                    from = args.first().cloned();
                    to = args.get(1).cloned();
                    step = args.get(2).cloned();
                    axis = (**expr).clone();
                }
                if self.eat_word("from") {
                    from = Some(self.expr(0)?);
                }
                if self.eat_word("to") {
                    to = Some(self.expr(0)?);
                }
                if self.eat_word("step") {
                    step = Some(self.expr(0)?);
                }
                let step = step.ok_or_else(|| self.error("'step'"))?;
                let by = if self.eat_word("by") {
                    self.named_list()?
                } else {
                    Vec::new()
                };
                OperatorKind::MakeSeries(Box::new(MakeSeries {
                    nonempty,
                    aggs,
                    axis,
                    from,
                    to,
                    step,
                    by,
                }))
            }
            "mv-apply" => {
                self.params()?;
                let items = self.expand_items()?;
                let limit = if self.eat_word("limit") {
                    Some(self.expr(0)?)
                } else {
                    None
                };
                self.expect_word("on")?;
                self.expect_punct("(")?;
                let ops = self.bracketed_operators()?;
                OperatorKind::MvApply { items, limit, ops }
            }
            "partition" => {
                self.params()?;
                self.expect_word("by")?;
                let by = self.name()?;
                if self.is_punct("(") {
                    self.next();
                    let ops = self.bracketed_operators()?;
                    OperatorKind::Partition { by, ops }
                } else {
                    // The `{ subquery }` form is parsed, not run.
                    self.skip_operator_body()?;
                    OperatorKind::Other(word.clone())
                }
            }
            w if OTHER_OPERATORS.contains(&w) => {
                self.skip_operator_body()?;
                OperatorKind::Other(word.clone())
            }
            _ => {
                self.pos -= 1;
                return Err(self.error(OPERATOR_NAMES));
            }
        };
        Ok(Operator {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    fn join_conditions(&self, e: Expr, out: &mut Vec<JoinOn>) -> Result<(), KqlError> {
        fn side(e: &Expr) -> Option<(&str, String)> {
            match &e.kind {
                ExprKind::Member { target, name } => match &target.kind {
                    ExprKind::Name(s) if s == "$left" || s == "$right" => {
                        Some((s.as_str(), name.clone()))
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        match e.kind {
            ExprKind::Name(n) => out.push(JoinOn::Column(n)),
            ExprKind::Binary {
                op: BinOp::And,
                left,
                right,
            } => {
                self.join_conditions(*left, out)?;
                self.join_conditions(*right, out)?;
            }
            ExprKind::Binary {
                op: BinOp::Eq,
                left,
                right,
            } => match (side(&left), side(&right)) {
                (Some(("$left", l)), Some(("$right", r)))
                | (Some(("$right", r)), Some(("$left", l))) => {
                    out.push(JoinOn::Pair { left: l, right: r })
                }
                _ => {
                    return Err(KqlError::Syntax {
                        location: Location::from_offset(self.text, e.span.start),
                        found: "a join condition".into(),
                        expected: "'$left.Column == $right.Column'".into(),
                    });
                }
            },
            _ => {
                return Err(KqlError::Syntax {
                    location: Location::from_offset(self.text, e.span.start),
                    found: "an expression".into(),
                    expected: "a column name or '$left.Column == $right.Column'".into(),
                });
            }
        }
        Ok(())
    }

    fn search_body(&mut self) -> Result<Search, KqlError> {
        let params = self.params()?;
        let case_sensitive = params.iter().any(|(n, v)| {
            n == "kind" && matches!(&v.kind, ExprKind::Name(k) if k == "case_sensitive")
        });
        let mut tables = Vec::new();
        if self.is_word("in") && self.punct_at(1, "(") {
            self.next();
            self.next();
            loop {
                tables.push(self.table_ref()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            self.expect_punct(")")?;
        }
        let predicate = self.search_or()?;
        Ok(Search {
            case_sensitive,
            tables,
            predicate,
        })
    }

    fn find_body(&mut self) -> Result<Find, KqlError> {
        let params = self.params()?;
        let source = params
            .iter()
            .find(|(n, _)| n == "withsource")
            .and_then(|(_, v)| match &v.kind {
                ExprKind::Name(n) => Some(n.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "source_".into());
        let mut tables = Vec::new();
        if self.eat_word("in") {
            self.expect_punct("(")?;
            loop {
                tables.push(self.table_ref()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            self.expect_punct(")")?;
        }
        self.expect_word("where")?;
        let predicate = self.search_or()?;
        let project = if self.eat_word("project") {
            let mut columns = Vec::new();
            loop {
                let name = self.name()?;
                let ty = if self.eat_punct(":") {
                    let t = self.name()?;
                    Some(
                        ScalarType::from_name(&t)
                            .ok_or_else(|| self.error("a scalar type name"))?,
                    )
                } else {
                    None
                };
                columns.push((name, ty));
                if !self.eat_punct(",") {
                    break;
                }
            }
            Some(columns)
        } else {
            self.eat_word("project-smart");
            None
        };
        Ok(Find {
            source,
            tables,
            predicate,
            project,
        })
    }

    /// Search predicates: `and`/`or` over terms, `Column:"term"` and ordinary comparisons.
    fn search_or(&mut self) -> Result<Expr, KqlError> {
        self.enter()?;
        let mut left = self.search_and()?;
        while self.eat_word("or") {
            let right = self.search_and()?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary {
                    op: BinOp::Or,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            };
        }
        self.depth -= 1;
        Ok(left)
    }

    fn search_and(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.search_atom()?;
        while self.eat_word("and") {
            let right = self.search_atom()?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Binary {
                    op: BinOp::And,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            };
        }
        Ok(left)
    }

    fn search_atom(&mut self) -> Result<Expr, KqlError> {
        let start = self.peek().span;
        if matches!(
            self.peek().kind,
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
        ) && self.punct_at(1, ":")
        {
            let name = self.name()?;
            let col = Expr {
                kind: ExprKind::Name(name),
                span: start,
            };
            self.next();
            let value = self.unary()?;
            let span = start.to(value.span);
            let op = BinOp::Str(StrOp::Has { cs: false }, false);
            return Ok(Expr {
                kind: ExprKind::Binary {
                    op,
                    left: Box::new(col),
                    right: Box::new(value),
                },
                span,
            });
        }
        if self.is_punct("(") {
            self.next();
            let inner = self.search_or()?;
            self.expect_punct(")")?;
            return Ok(inner);
        }
        self.expr(3)
    }

    fn expand_items(&mut self) -> Result<Vec<ExpandItem>, KqlError> {
        let mut items = Vec::new();
        loop {
            let name = if matches!(
                self.peek().kind,
                TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
            ) && self.punct_at(1, "=")
            {
                let n = self.name()?;
                self.next();
                Some(n)
            } else {
                None
            };
            let expr = self.expr(0)?;
            let to = if self.eat_word("to") {
                self.expect_word("typeof")?;
                let (raw, _) = self.paren_raw()?;
                Some(ScalarType::from_name(&raw).ok_or_else(|| self.error("a scalar type name"))?)
            } else {
                None
            };
            items.push(ExpandItem { name, expr, to });
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(items)
    }

    fn parse_op(&mut self, filter: bool) -> Result<OperatorKind, KqlError> {
        let params = self.params()?;
        let kind = params
            .iter()
            .find(|(n, _)| n == "kind")
            .and_then(|(_, e)| match &e.kind {
                ExprKind::Name(k) => Some(k.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "simple".into());
        let flags = params
            .iter()
            .find(|(n, _)| n == "flags")
            .and_then(|(_, e)| match &e.kind {
                ExprKind::Name(k) => Some(k.clone()),
                ExprKind::Literal(Value::String(k)) => Some(k.to_string()),
                _ => None,
            })
            .unwrap_or_default();
        let source = self.expr(0)?;
        self.expect_word("with")?;
        let mut parts = Vec::new();
        while !self.at_end_of_operator() {
            let t = self.next();
            match t.kind {
                TokenKind::Str(s) => parts.push(ParsePart::Literal(s)),
                TokenKind::Punct("*") => parts.push(ParsePart::Star),
                TokenKind::Ident(name) | TokenKind::QuotedIdent(name) => {
                    let ty = if self.eat_punct(":") {
                        let t = self.name()?;
                        ScalarType::from_name(&t).ok_or_else(|| self.error("a scalar type name"))?
                    } else {
                        ScalarType::String
                    };
                    parts.push(ParsePart::Column { name, ty });
                }
                TokenKind::Punct(",") => {}
                _ => {
                    self.pos -= 1;
                    return Err(self.error("a string, '*' or a column name in the parse pattern"));
                }
            }
        }
        Ok(OperatorKind::Parse {
            source,
            kind,
            flags,
            parts,
            filter,
        })
    }

    fn sort_keys(&mut self) -> Result<Vec<SortKey>, KqlError> {
        let mut keys = Vec::new();
        loop {
            let expr = self.expr(0)?;
            let desc = if self.eat_word("asc") {
                false
            } else {
                self.eat_word("desc");
                true
            };
            let nulls_first = if self.eat_word("nulls") {
                if self.eat_word("first") {
                    Some(true)
                } else {
                    self.expect_word("last")?;
                    Some(false)
                }
            } else {
                None
            };
            keys.push(SortKey {
                expr,
                desc,
                nulls_first,
            });
            if !self.eat_punct(",") {
                return Ok(keys);
            }
        }
    }

    fn pattern_list(&mut self) -> Result<Vec<Expr>, KqlError> {
        let mut out = Vec::new();
        loop {
            let e = self.table_ref()?;
            // `distinct` allows expressions; `table_ref` gives a name, let the Pratt loop continue.
            out.push(self.binary_rest(e, 0)?);
            if !self.eat_punct(",") {
                return Ok(out);
            }
        }
    }

    fn named_list(&mut self) -> Result<Vec<NamedExpr>, KqlError> {
        let mut out = Vec::new();
        loop {
            out.push(self.named()?);
            if !self.eat_punct(",") {
                return Ok(out);
            }
        }
    }

    fn named(&mut self) -> Result<NamedExpr, KqlError> {
        // `(a, b) = expr`
        if self.is_punct("(") {
            let mut i = 1;
            let mut names = Vec::new();
            while let TokenKind::Ident(n) | TokenKind::QuotedIdent(n) = &self.peek_at(i).kind {
                names.push(n.clone());
                i += 1;
                if self.punct_at(i, ",") {
                    i += 1;
                    continue;
                }
                break;
            }
            if !names.is_empty() && self.punct_at(i, ")") && self.punct_at(i + 1, "=") {
                self.pos += i + 2;
                let expr = self.expr(0)?;
                return Ok(NamedExpr { names, expr });
            }
        }
        if matches!(
            self.peek().kind,
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
        ) && self.punct_at(1, "=")
        {
            let name = self.name()?;
            self.next();
            let expr = self.expr(0)?;
            return Ok(NamedExpr {
                names: vec![name],
                expr,
            });
        }
        Ok(NamedExpr {
            names: Vec::new(),
            expr: self.expr(0)?,
        })
    }

    // ---- scalar expressions ----

    /// A scalar expression; `min_prec` drives the Pratt loop.
    fn expr(&mut self, min_prec: u8) -> Result<Expr, KqlError> {
        let left = self.unary()?;
        self.binary_rest(left, min_prec)
    }

    fn binary_op(&self) -> Option<(BinOp, u8)> {
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

    fn binary_rest(&mut self, mut left: Expr, min_prec: u8) -> Result<Expr, KqlError> {
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
                    self.next();
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
                    self.next();
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
            self.next();
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

    fn in_list(&mut self) -> Result<Vec<Expr>, KqlError> {
        if !self.is_punct("(") {
            return Ok(vec![self.unary()?]);
        }
        self.next();
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

    fn unary(&mut self) -> Result<Expr, KqlError> {
        self.enter()?;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> Result<Expr, KqlError> {
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

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, KqlError> {
        loop {
            if self.is_punct(".") && self.punct_at(1, "[") {
                // `x.[0]` is the same as `x[0]`.
                self.next();
            } else if self.is_punct(".") {
                let name = match &self.peek_at(1).kind {
                    TokenKind::Ident(n) | TokenKind::QuotedIdent(n) => n.clone(),
                    TokenKind::Int(i) => i.to_string(),
                    _ => return Ok(e),
                };
                self.next();
                self.next();
                let span = e.span.to(self.prev_span());
                e = Expr {
                    kind: ExprKind::Member {
                        target: Box::new(e),
                        name,
                    },
                    span,
                };
            } else if self.is_punct("[") {
                self.next();
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
                let end = self.next().span;
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

    fn primary(&mut self) -> Result<Expr, KqlError> {
        let t = self.peek().clone();
        let lit = |v: Value| {
            Ok(Expr {
                kind: ExprKind::Literal(v),
                span: t.span,
            })
        };
        match &t.kind {
            TokenKind::Int(i) => {
                self.next();
                lit(Value::Long(*i))
            }
            TokenKind::Real(r) => {
                self.next();
                lit(Value::Real(*r))
            }
            TokenKind::TimeSpan(ts) => {
                self.next();
                lit(Value::TimeSpan(*ts))
            }
            TokenKind::Str(_) => {
                let mut s = String::new();
                let mut span = t.span;
                while let TokenKind::Str(part) = &self.peek().kind {
                    s.push_str(part);
                    span = span.to(self.peek().span);
                    self.next();
                }
                Ok(Expr {
                    kind: ExprKind::Literal(Value::str(s)),
                    span,
                })
            }
            TokenKind::QuotedIdent(n) => {
                self.next();
                Ok(Expr {
                    kind: ExprKind::Name(n.clone()),
                    span: t.span,
                })
            }
            TokenKind::Punct("(") => {
                self.next();
                let inner = self.query()?;
                let end = self.expect_punct(")")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: t.span.to(end),
                })
            }
            TokenKind::Punct("*") => {
                self.next();
                Ok(Expr {
                    kind: ExprKind::Star,
                    span: t.span,
                })
            }
            TokenKind::Ident(w) if !w.starts_with('!') => {
                let w = w.clone();
                if self.punct_at(1, "(") {
                    self.next();
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
                self.next();
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

    fn call_or_literal(&mut self, name: String, start: Span) -> Result<Expr, KqlError> {
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
                self.next();
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

    fn dynamic_value(&mut self) -> Result<serde_json::Value, KqlError> {
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
                    self.next();
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
pub fn parse_datetime_literal(raw: &str) -> Option<Value> {
    let raw = raw.trim().trim_matches(|c| c == '"' || c == '\'');
    if raw.eq_ignore_ascii_case("null") {
        return Some(Value::Null);
    }
    parse_datetime_text(raw).map(Value::DateTime)
}

/// Parses the text of `timespan(...)`: `1d`, `00:10:00`, `1.02:03:04.5`, `null`.
pub fn parse_timespan_literal(raw: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("null") {
        return Some(Value::Null);
    }
    parse_timespan_text(raw).map(Value::TimeSpan)
}

fn parse_typed_number(ty: &str, raw: &str) -> Option<Value> {
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
                Value::Decimal(f)
            } else {
                Value::Real(f)
            })
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::TICKS_PER_SECOND;

    fn query(text: &str) -> Expr {
        let script = parse_script(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        match script.statements.into_iter().last() {
            Some(Statement::Query(e)) => e,
            other => panic!("expected a query, got {other:?}"),
        }
    }

    fn ops(text: &str) -> Vec<OperatorKind> {
        match query(text).kind {
            ExprKind::Pipe { ops, .. } => ops.into_iter().map(|o| o.kind).collect(),
            other => panic!("expected a pipe, got {other:?}"),
        }
    }

    #[test]
    fn misspelt_operator_reports_line_column_found_and_expected() {
        let err = parse_script("SigninLogs | wher x").unwrap_err();
        match err {
            KqlError::Syntax {
                location,
                found,
                expected,
            } => {
                assert_eq!(
                    location,
                    Location {
                        line: 1,
                        column: 14
                    }
                );
                assert_eq!(found, "'wher'");
                assert!(expected.contains("where"), "{expected}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            parse_script("SigninLogs | wher x")
                .unwrap_err()
                .to_string()
                .contains("line 1, column 14")
        );
    }

    #[test]
    fn empty_query_is_a_syntax_error() {
        for text in ["", "  // only a comment", ";;"] {
            let err = parse_script(text).unwrap_err();
            assert!(
                matches!(err, KqlError::Syntax { ref found, .. } if found == "the end of the query"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let err = parse_script("T\n| where a ==").unwrap_err();
        assert!(
            matches!(
                err,
                KqlError::Syntax {
                    location: Location {
                        line: 2,
                        column: 13
                    },
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_script("T | project a,").unwrap_err();
        assert!(matches!(err, KqlError::Syntax { .. }));
        let err = parse_script("print (1").unwrap_err();
        assert!(
            matches!(err, KqlError::Syntax { ref expected, .. } if expected == "')'"),
            "{err:?}"
        );
    }

    #[test]
    fn deep_nesting_is_a_syntax_error_not_a_crash() {
        let text = format!("print {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(matches!(parse_script(&text), Err(KqlError::Syntax { .. })));
        let text = format!("print {}1", "-".repeat(5000));
        assert!(matches!(parse_script(&text), Err(KqlError::Syntax { .. })));
        let text = format!("print 1{}", " + 1".repeat(5000));
        assert!(matches!(parse_script(&text), Err(KqlError::Syntax { .. })));
        let text = format!("print 1{}", " + 1".repeat(500));
        assert!(parse_script(&text).is_ok());
    }

    #[test]
    fn precedence_binds_and_tighter_than_or_and_arithmetic_tighter_than_comparison() {
        let e = query("print a or b and c == 1 + 2 * 3");
        let ExprKind::Print(items) = e.kind else {
            panic!()
        };
        let ExprKind::Binary {
            op: BinOp::Or,
            right,
            ..
        } = &items[0].expr.kind
        else {
            panic!()
        };
        let ExprKind::Binary {
            op: BinOp::And,
            right,
            ..
        } = &right.kind
        else {
            panic!()
        };
        let ExprKind::Binary {
            op: BinOp::Eq,
            right,
            ..
        } = &right.kind
        else {
            panic!()
        };
        assert!(matches!(
            &right.kind,
            ExprKind::Binary { op: BinOp::Add, .. }
        ));
    }

    #[test]
    fn parses_common_operators() {
        let o = ops(
            "T | where x has 'a' and y !in~ ('b') | extend z = x.a[0], w = y['k'] | summarize count(), m = max(z) by bin(t, 1h) \
             | join kind=leftouter hint.strategy=broadcast (U | project k) on $left.a == $right.k, b \
             | mv-expand d = arr to typeof(long) limit 10 | parse s with * 'x=' v:int ' ' rest \
             | project-away a* | sort by z desc nulls first, w asc | top 5 by z | take 3 | render timechart with (title='x')",
        );
        assert_eq!(o.len(), 11);
        assert!(
            matches!(&o[3], OperatorKind::Join { kind: Some(k), on, .. } if k == "leftouter" && on.len() == 2)
        );
        assert!(matches!(&o[9], OperatorKind::Take(_)));
        assert!(matches!(&o[10], OperatorKind::Render(k) if k == "timechart"));
    }

    #[test]
    fn parses_literals() {
        let lit = |t: &str| match query(&format!("print {t}")).kind {
            ExprKind::Print(items) => match &items[0].expr.kind {
                ExprKind::Literal(v) => v.clone(),
                other => panic!("{other:?}"),
            },
            _ => panic!(),
        };
        assert_eq!(
            lit("datetime(2024-01-01)"),
            Value::DateTime(1_704_067_200 * TICKS_PER_SECOND)
        );
        assert_eq!(
            lit("datetime(2024-01-01 10:00:00)"),
            Value::DateTime((1_704_067_200 + 36_000) * TICKS_PER_SECOND)
        );
        let null_of = |t: &str| match query(&format!("print {t}")).kind {
            ExprKind::Print(items) => items[0].expr.kind.clone(),
            _ => panic!(),
        };
        assert_eq!(
            null_of("datetime(null)"),
            ExprKind::NullOf(ScalarType::DateTime)
        );
        assert_eq!(null_of("long(null)"), ExprKind::NullOf(ScalarType::Long));
        assert_eq!(
            lit("time(1.02:00:00)"),
            Value::TimeSpan(26 * 3600 * TICKS_PER_SECOND)
        );
        assert_eq!(lit("1tick"), Value::TimeSpan(1));
        assert_eq!(lit("2microseconds"), Value::TimeSpan(20));
        assert_eq!(lit("decimal(1.5)"), Value::Decimal(1.5));
        assert_eq!(
            lit("dynamic({'a': [1, -2.5, null]})"),
            Value::dynamic(serde_json::json!({"a": [1, -2.5, null]}))
        );
        assert_eq!(lit("'a' \"b\""), Value::str("ab"));
        assert!(matches!(
            lit("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"),
            Value::Guid(_)
        ));
    }

    #[test]
    fn parses_lets_functions_unions_and_tabular_sources() {
        let s = parse_script(
            "let f = (a:string, b:int = 1) { a }; let T = view () { datatable(x:long)[1, 2] }; \
             union withsource=Src isfuzzy=true Device*, (T | take 1), ['My Table']; range i from 1 to 3 step 1",
        )
        .unwrap();
        assert_eq!(s.statements.len(), 4);
        assert!(
            matches!(&s.statements[0], Statement::Let { value: LetValue::Function(f), .. } if f.params.len() == 2)
        );
        let Statement::Query(Expr {
            kind: ExprKind::Union(u),
            ..
        }) = &s.statements[2]
        else {
            panic!()
        };
        assert!(matches!(&u.tables[0].kind, ExprKind::Wildcard(w) if w == "Device*"));
        assert!(matches!(&u.tables[2].kind, ExprKind::Name(n) if n == "My Table"));
    }
}
