//! Tabular operators: everything after a `|`.

use crate::error::KqlError;
use crate::syntax::lexer::TokenKind;
use crate::value::{ScalarType, Value};

use super::*;

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

impl Parser<'_> {
    /// `op | op | ... )`: the operators of a sub-pipeline after its `(`, and the closing `)`
    /// (`mv-apply ... on (...)`, `partition by C (...)`).
    pub(super) fn bracketed_operators(&mut self) -> Result<Vec<Operator>, KqlError> {
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

    pub(super) fn operator(&mut self) -> Result<Operator, KqlError> {
        let start = self.peek().span;
        let Some(word) = self.word_at(0).map(str::to_string) else {
            return Err(self.error(OPERATOR_NAMES));
        };
        self.advance();
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
            "render" => OperatorKind::Render(self.render()?),
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
                    self.advance();
                    self.advance();
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
                        self.advance();
                        self.advance();
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
                    self.advance();
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

    pub(super) fn join_conditions(&self, e: Expr, out: &mut Vec<JoinOn>) -> Result<(), KqlError> {
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

    pub(super) fn search_body(&mut self) -> Result<Search, KqlError> {
        let params = self.params()?;
        let case_sensitive = params.iter().any(|(n, v)| {
            n == "kind" && matches!(&v.kind, ExprKind::Name(k) if k == "case_sensitive")
        });
        let mut tables = Vec::new();
        if self.is_word("in") && self.punct_at(1, "(") {
            self.advance();
            self.advance();
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

    pub(super) fn find_body(&mut self) -> Result<Find, KqlError> {
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
    pub(super) fn search_or(&mut self) -> Result<Expr, KqlError> {
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

    pub(super) fn search_and(&mut self) -> Result<Expr, KqlError> {
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

    pub(super) fn search_atom(&mut self) -> Result<Expr, KqlError> {
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
            self.advance();
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
            self.advance();
            let inner = self.search_or()?;
            self.expect_punct(")")?;
            return Ok(inner);
        }
        self.expr(3)
    }

    pub(super) fn expand_items(&mut self) -> Result<Vec<ExpandItem>, KqlError> {
        let mut items = Vec::new();
        loop {
            let name = if matches!(
                self.peek().kind,
                TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
            ) && self.punct_at(1, "=")
            {
                let n = self.name()?;
                self.advance();
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

    pub(super) fn parse_op(&mut self, filter: bool) -> Result<OperatorKind, KqlError> {
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

    pub(super) fn sort_keys(&mut self) -> Result<Vec<SortKey>, KqlError> {
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

    pub(super) fn pattern_list(&mut self) -> Result<Vec<Expr>, KqlError> {
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

    pub(super) fn named_list(&mut self) -> Result<Vec<NamedExpr>, KqlError> {
        let mut out = Vec::new();
        loop {
            out.push(self.named()?);
            if !self.eat_punct(",") {
                return Ok(out);
            }
        }
    }

    pub(super) fn named(&mut self) -> Result<NamedExpr, KqlError> {
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
            self.advance();
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
}

impl Parser<'_> {
    /// `render kind [with (name = value, ...)]`, or the older `render kind name = value ...`.
    fn render(&mut self) -> Result<Visualization, KqlError> {
        let kind = self.name()?;
        let mut properties = Vec::new();
        if self.eat_word("with") {
            self.expect_punct("(")?;
            while !self.eat_punct(")") {
                properties.push(self.render_property()?);
                if !self.eat_punct(",") {
                    self.expect_punct(")")?;
                    break;
                }
            }
        } else {
            while self.word_at(0).is_some() && self.punct_at(1, "=") {
                properties.push(self.render_property()?);
            }
        }
        // Whatever else follows is for the user agent, as before properties were read.
        self.skip_operator_body()?;
        Ok(Visualization { kind, properties })
    }

    /// `name = value`: a literal, a name, or names separated by commas (`ycolumns = a, b`: a
    /// name after a comma belongs to the list unless `=` follows it).
    fn render_property(&mut self) -> Result<(String, String), KqlError> {
        let name = self.name()?;
        self.expect_punct("=")?;
        let mut value = self.render_value()?;
        while self.is_punct(",")
            && matches!(
                self.peek_at(1).kind,
                TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
            )
            && !self.punct_at(2, "=")
        {
            self.advance();
            value.push(',');
            value.push_str(&self.render_value()?);
        }
        Ok((name, value))
    }

    fn render_value(&mut self) -> Result<String, KqlError> {
        let negative = self.eat_punct("-");
        let value = match &self.peek().kind {
            TokenKind::Int(i) => i.to_string(),
            TokenKind::Real(r) => r.to_string(),
            TokenKind::Ident(s) | TokenKind::QuotedIdent(s) | TokenKind::Str(s) if !negative => {
                s.clone()
            }
            _ => return Err(self.error("a property value (a string, a number or a name)")),
        };
        self.advance();
        Ok(if negative { format!("-{value}") } else { value })
    }
}
