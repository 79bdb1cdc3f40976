//! KQL functions as DataFusion scalar UDFs.
//!
//! [`EvalUdf`] runs any bound KQL expression the planner has no native form for, through the
//! same evaluator as the row engine (so every KQL function keeps one definition and one set of
//! semantics); the others are vectorised forms of the hot operators (`has` and the string
//! operators, `bin`, `tolower`/`toupper`).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::functions::{Pattern, floor_to};
use arrow_array::builder::{ArrayBuilder, BooleanBuilder, StringBuilder, StringViewBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, ListArray, StringArray, StructArray};
use arrow_schema::{DataType, Field, Fields};
use datafusion::arrow::buffer::{BooleanBuffer, OffsetBuffer};
use datafusion::common::{DataFusionError, Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr as DfExpr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use regex::CaptureLocations;

use crate::bind::eval::eval;
use crate::bind::expr::{CExpr, Row};
use crate::exec::rows::ops::expansion;
use crate::exec::rows::parse::ParsePattern;
use crate::storage::arrow_table::BATCH_ROWS;
use crate::storage::arrow_table::{array_of, longest_step, shared_array_of, values_of};
use crate::storage::layout::stored_type;
use crate::value::convert::{coerce, to_text};
use crate::value::size::LARGE;
use crate::value::{ScalarType, Value};

/// Implements equality and hashing by a key string (UDFs are compared when plans are).
macro_rules! keyed {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.key == other.key
            }
        }
        impl Eq for $t {}
        impl std::hash::Hash for $t {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                std::hash::Hash::hash(&self.key, state);
            }
        }
    };
}
pub(super) use keyed;

/// `kind` suffixed with a hash of `key`, so two different instances never share a name.
pub(super) fn instance_name(kind: &str, key: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    format!("{kind}_{:016x}", h.finish())
}

fn arrays(args: ScalarFunctionArgs) -> DfResult<(Vec<ArrayRef>, usize)> {
    let n = args.number_rows;
    let arrays = args
        .args
        .into_iter()
        .map(|a| a.into_array(n))
        .collect::<DfResult<Vec<_>>>()?;
    Ok((arrays, n))
}

/// A bound KQL expression over some columns, as a DataFusion function made of it holds it.
#[derive(Debug)]
pub(super) struct RowExpr {
    key: String,
    /// Unique per key: DataFusion names expressions after their function and arguments.
    pub(super) name: String,
    pub(super) expr: CExpr,
    /// The KQL types of the arguments (the columns the expression reads, in order).
    pub(super) args: Vec<ScalarType>,
    pub(super) ty: ScalarType,
    pub(super) signature: Signature,
}
keyed!(RowExpr);

impl RowExpr {
    /// `expr` over the columns `args` (it reads only `Col(0..args.len())`), of type `ty`,
    /// named `kind` and a hash of all three. An expression that reads no column (`pack_all()`
    /// of no columns, a nested constant) still runs once a row: DataFusion takes no arguments
    /// only from a nullary signature.
    pub(super) fn new(
        kind: &str,
        expr: CExpr,
        args: &[(DfExpr, ScalarType)],
        ty: ScalarType,
        volatility: Volatility,
    ) -> RowExpr {
        let types: Vec<ScalarType> = args.iter().map(|(_, t)| *t).collect();
        let key = format!("{expr:?}|{types:?}|{ty:?}");
        let signature = if types.is_empty() {
            Signature::nullary(volatility)
        } else {
            Signature::any(types.len(), volatility)
        };
        RowExpr {
            name: instance_name(kind, &key),
            key,
            expr,
            args: types,
            ty,
            signature,
        }
    }
}

/// A bound KQL expression over some columns, evaluated row by row by the row engine's evaluator.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct EvalUdf(RowExpr);

impl std::ops::Deref for EvalUdf {
    type Target = RowExpr;
    fn deref(&self) -> &RowExpr {
        &self.0
    }
}

impl EvalUdf {
    /// `expr` reads only `Col(0..args.len())`.
    pub(super) fn call(expr: CExpr, args: Vec<(DfExpr, ScalarType)>, ty: ScalarType) -> DfExpr {
        let volatile = mentions(&expr, &|name| matches!(name, "rand" | "new_guid"));
        let volatility = if volatile {
            Volatility::Volatile
        } else {
            Volatility::Immutable
        };
        let udf = EvalUdf(RowExpr::new("kql_eval", expr, &args, ty, volatility));
        ScalarUDF::new_from_impl(udf).call(args.into_iter().map(|(e, _)| e).collect())
    }
}

/// Whether `e` calls a function `pick` selects.
pub(super) fn mentions(e: &CExpr, pick: &dyn Fn(&str) -> bool) -> bool {
    e.any(&|x| matches!(x, CExpr::Call { func, .. } if pick(func.name)))
}

impl ScalarUDFImpl for EvalUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(stored_type(self.ty))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, n) = arrays(args)?;
        let out = evaluate_rows(&self.expr, &arrays, &self.args, n, self.ty)?;
        Ok(ColumnarValue::Array(out))
    }
}

/// `expr` evaluated by the row engine's evaluator on each of the `n` rows `arrays` (of KQL types
/// `types`, `expr`'s `Col(0..)`) make, every row in reach of `prev`/`next`, as a column of `ty`.
pub(super) fn evaluate_rows(
    expr: &CExpr,
    arrays: &[ArrayRef],
    types: &[ScalarType],
    n: usize,
    ty: ScalarType,
) -> DfResult<ArrayRef> {
    let columns: Vec<_> = arrays
        .iter()
        .zip(types)
        .map(|(a, t)| values_of(a.as_ref(), *t))
        .collect();
    let mut rows: Vec<Vec<_>> = (0..n).map(|_| Vec::with_capacity(columns.len())).collect();
    for column in columns {
        for (row, v) in rows.iter_mut().zip(column) {
            row.push(v);
        }
    }
    let mut out = Vec::with_capacity(n);
    for idx in 0..n {
        crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
        out.push(coerce(eval(expr, Row { rows: &rows, idx }), ty));
    }
    shared_array_of(&out, ty)
}

/// A string operator (`has`, `contains`, `startswith`, … and `matches regex`) against a constant,
/// as one compiled regular expression run over the column.
#[derive(Debug)]
pub(super) struct MatchUdf {
    key: String,
    /// Unique per key: DataFusion names expressions after their function and arguments.
    name: String,
    regex: Pattern,
    negated: bool,
    signature: Signature,
}
keyed!(MatchUdf);

impl MatchUdf {
    pub(super) fn call(arg: DfExpr, regex: Pattern, negated: bool) -> DfExpr {
        let key = format!("{}|{negated}", regex.regex().as_str());
        let udf = MatchUdf {
            name: instance_name("kql_match", &key),
            key,
            regex,
            negated,
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![arg])
    }
}

impl ScalarUDFImpl for MatchUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, _) = arrays(args)?;
        let Some(a) = arrays.first() else {
            return exec_err!("kql_match needs one argument");
        };
        let text = a.as_string::<i32>();
        // A null string is Kusto's empty string.
        let out: BooleanArray = (0..text.len())
            .map(|i| {
                let s = if text.is_null(i) { "" } else { text.value(i) };
                // A search past the work bound stops the query (null until its next check).
                Some(self.regex.over(s)?.is_match(s) != self.negated)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `bin(x, size)` for ticks and longs: rounds down to a multiple of `size`.
#[derive(Debug)]
pub(super) struct BinUdf {
    key: String,
    /// Unique per key: DataFusion names expressions after their function and arguments.
    name: String,
    size: i64,
    signature: Signature,
}
keyed!(BinUdf);

impl BinUdf {
    pub(super) fn call(arg: DfExpr, size: i64) -> DfExpr {
        let udf = BinUdf {
            name: format!("kql_bin_{size}"),
            key: size.to_string(),
            size,
            signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![arg])
    }
}

impl ScalarUDFImpl for BinUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, _) = arrays(args)?;
        let Some(a) = arrays.first() else {
            return exec_err!("kql_bin needs one argument");
        };
        let size = self.size;
        let out: Int64Array = a
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map(|x| floor_to(x, size)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `tolower` / `toupper` of a string column (a null string is empty).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct CaseUdf {
    upper: bool,
    signature: Signature,
}

impl CaseUdf {
    pub(super) fn call(arg: DfExpr, upper: bool) -> DfExpr {
        let udf = CaseUdf {
            upper,
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![arg])
    }
}

impl ScalarUDFImpl for CaseUdf {
    fn name(&self) -> &str {
        if self.upper {
            "kql_toupper"
        } else {
            "kql_tolower"
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, _) = arrays(args)?;
        let Some(a) = arrays.first() else {
            return exec_err!("{} needs one argument", self.name());
        };
        let text = a.as_string::<i32>();
        let out: StringArray = (0..text.len())
            .map(|i| {
                let s = if text.is_null(i) { "" } else { text.value(i) };
                Some(if self.upper {
                    s.to_uppercase()
                } else {
                    s.to_lowercase()
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The values `mv-expand` makes of each cell, as a list (of the target type) to unnest.
#[derive(Debug)]
pub(super) struct ExpandUdf {
    key: String,
    /// Unique per key: DataFusion names expressions after their function and arguments.
    name: String,
    arg: ScalarType,
    ty: ScalarType,
    /// `kind=array`: a bag's properties as `[key, value]` arrays.
    as_array: bool,
    /// At most this many values a cell (`mv-expand limit`).
    limit: usize,
    /// The row's width beyond its text columns (the other arguments), in bytes.
    fixed: usize,
    signature: Signature,
}
keyed!(ExpandUdf);

impl ExpandUdf {
    /// `arg`'s expansion; `row` are the row's text columns (repeated with each value), and
    /// `fixed` the bytes of its other columns.
    pub(super) fn call(
        arg: DfExpr,
        (arg_ty, ty): (ScalarType, ScalarType),
        (as_array, limit): (bool, usize),
        (row, fixed): (Vec<DfExpr>, usize),
    ) -> DfExpr {
        let key = format!("{arg_ty:?}|{ty:?}|{as_array}|{limit}|{}|{fixed}", row.len());
        let udf = ExpandUdf {
            name: instance_name("kql_mv_expand", &key),
            key,
            arg: arg_ty,
            ty,
            as_array,
            limit,
            fixed,
            signature: Signature::any(1 + row.len(), Volatility::Immutable),
        };
        let mut args = vec![arg];
        args.extend(row);
        ScalarUDF::new_from_impl(udf).call(args)
    }

    /// Whether DataFusion can repeat each row once per value: `unnest` copies the row into
    /// every one (up to a batch at once, and a whole row's expansion however long). The row
    /// engine shares the row's values between its copies, so when DataFusion's copies would
    /// not fit the budget, the query is left to it.
    fn check_copies(&self, list: &ListArray, row: &[ArrayRef]) -> DfResult<()> {
        let texts: Vec<&StringArray> = row.iter().filter_map(|a| a.as_string_opt()).collect();
        let offsets = list.value_offsets();
        let counts = || offsets.windows(2).map(|w| (w[1] - w[0]) as usize);
        // First from each column's longest value (no pass over the rows), which almost always
        // settles it; the exact widths only when that bound does not fit.
        let bound = widest_bound(self.fixed, &texts);
        let most = longest_step(offsets);
        let fit = |widest: usize, repeated: usize| {
            let copies = repeated.max(widest.saturating_mul(BATCH_ROWS));
            (copies < LARGE || crate::budget::fits(copies))
                .then_some(())
                .ok_or(copies)
        };
        if most == 0 || fit(bound, most.saturating_mul(bound)).is_ok() {
            return Ok(());
        }
        let (mut widest, mut longest) = (0usize, 0usize);
        for (i, n) in counts().enumerate().filter(|(_, n)| *n > 0) {
            let w = row_width(self.fixed, &texts, i);
            widest = widest.max(w);
            longest = longest.max(n.saturating_mul(w));
        }
        if let Err(copies) = fit(widest, longest) {
            return exec_err!(
                "mv-expand would copy {copies} bytes of rows: left to the row engine"
            );
        }
        Ok(())
    }

    fn item(&self, arg: &DataType) -> Arc<Field> {
        let ty = match self.in_place(arg) {
            true => DataType::Utf8View,
            false => stored_type(self.ty),
        };
        Arc::new(Field::new("item", ty, true))
    }

    /// Whether the expansion is read from JSON text in place ([`Self::strings`]), its values
    /// views into the text (the lowering casts them back to text after the unnest).
    fn in_place(&self, arg: &DataType) -> bool {
        self.arg == ScalarType::Dynamic && self.ty == ScalarType::String && *arg == DataType::Utf8
    }

    /// `mv-expand … to typeof(string)` of JSON text: arrays of plain strings are read in place
    /// (no parse into values, no allocation a row), each string a view into the text, so
    /// neither this nor the unnest copies it; anything else takes the general rule.
    fn strings(&self, text: &StringArray) -> DfResult<ListArray> {
        let mut out = StringViewBuilder::with_capacity(text.len() * 2);
        let block = out.append_block(text.values().clone());
        let starts = text.value_offsets();
        let mut offsets = Vec::with_capacity(text.len() + 1);
        offsets.push(0i32);
        let mut spans = Vec::new();
        for (i, &at) in starts.iter().enumerate().take(text.len()) {
            let cell = (!text.is_null(i)).then(|| text.value(i));
            match cell.filter(|t| plain_strings(t, &mut spans)) {
                Some(_) => {
                    for span in spans.iter().take(self.limit) {
                        let start = u32::try_from(at as usize + span.start);
                        let len = u32::try_from(span.len());
                        let (Ok(start), Ok(len)) = (start, len) else {
                            return exec_err!("mv-expand of a text past 4 GiB");
                        };
                        // SAFETY: the block is the text's, and the span lies in a cell of
                        // it between two quotes, so it is in bounds and whole UTF-8 (checking
                        // it again took a twelfth of the query).
                        unsafe { out.append_view_unchecked(block, start, len) };
                    }
                }
                None => {
                    let cell = values_of(&text.slice(i, 1), self.arg);
                    let values = cell.into_iter().flat_map(|v| expansion(v, self.as_array));
                    for v in values.take(self.limit) {
                        match coerce(v, self.ty) {
                            crate::value::Value::String(s) => out.append_value(&*s),
                            _ => out.append_null(),
                        }
                    }
                }
            }
            offsets.push(offset(out.len())?);
        }
        Ok(ListArray::try_new(
            self.item(&DataType::Utf8),
            OffsetBuffer::new(offsets.into()),
            Arc::new(out.finish()),
            None,
        )?)
    }
}

/// Whether `text` is a JSON array of strings without escapes (what `serde_json` reads as a
/// `Vec<&str>`), with each string's byte range in `text` left in `spans`. Such a string is its
/// own text, so it needs no decoding; anything else (escapes, other values, bad JSON) is false.
fn plain_strings(text: &str, spans: &mut Vec<std::ops::Range<usize>>) -> bool {
    spans.clear();
    let bytes = text.as_bytes();
    let skip_space = |mut i: usize| {
        while matches!(bytes.get(i), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            i += 1;
        }
        i
    };
    let mut i = skip_space(0);
    if bytes.get(i) != Some(&b'[') {
        return false;
    }
    i = skip_space(i + 1);
    if bytes.get(i) == Some(&b']') {
        return skip_space(i + 1) == bytes.len();
    }
    loop {
        if bytes.get(i) != Some(&b'"') {
            return false;
        }
        let start = i + 1;
        let Some(len) = string_end(&bytes[start..]) else {
            return false;
        };
        let end = start + len;
        if bytes[end] != b'"' {
            return false;
        }
        spans.push(start..end);
        i = skip_space(end + 1);
        match bytes.get(i) {
            Some(b',') => i = skip_space(i + 1),
            Some(b']') => return skip_space(i + 1) == bytes.len(),
            _ => return false,
        }
    }
}

/// Where a JSON string's plain text ends in `bytes`: the first quote, backslash (which starts an
/// escape) or control character (which JSON forbids in a string). Eight bytes at a time: this
/// scan was most of `mv-expand`'s time a byte at a time.
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `x` below `n` (n <= 0x80). A byte below n borrows from the
    // next one, which may then be marked too, so only the lowest mark is sure: the first hit.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let (chunks, rest) = bytes.as_chunks::<8>();
    for (k, chunk) in chunks.iter().enumerate() {
        let x = u64::from_le_bytes(*chunk);
        let hits = below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            | below(x, 0x20);
        if hits != 0 {
            return Some(k * 8 + hits.trailing_zeros() as usize / 8);
        }
    }
    let tail = rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
    tail.map(|i| chunks.len() * 8 + i)
}

fn offset(n: usize) -> DfResult<i32> {
    match i32::try_from(n) {
        Ok(o) => Ok(o),
        Err(_) => exec_err!("mv-expand made too many values"),
    }
}

impl ScalarUDFImpl for ExpandUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        let arg = args.first().unwrap_or(&DataType::Null);
        Ok(DataType::List(self.item(arg)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, _) = arrays(args)?;
        let Some((a, row)) = arrays.split_first() else {
            return exec_err!("kql_mv_expand needs one argument");
        };
        let list = if self.in_place(a.data_type()) {
            self.strings(a.as_string::<i32>())?
        } else {
            let mut items = Vec::new();
            let mut offsets = vec![0i32];
            for v in values_of(a.as_ref(), self.arg) {
                crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
                items.extend(
                    expansion(v, self.as_array)
                        .into_iter()
                        .take(self.limit)
                        .map(|x| coerce(x, self.ty)),
                );
                offsets.push(offset(items.len())?);
            }
            ListArray::try_new(
                self.item(a.data_type()),
                OffsetBuffer::new(offsets.into()),
                array_of(&items, self.ty)?,
                None,
            )?
        };
        self.check_copies(&list, row)?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// `mv-expand with_itemindex=`: each row's positions `0..n` in its expansions (`n` the longest
/// of the lists given), as a list unnested beside them.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PositionsUdf {
    signature: Signature,
}

impl PositionsUdf {
    pub(super) fn call(lists: Vec<DfExpr>) -> DfExpr {
        let udf = PositionsUdf {
            signature: Signature::variadic_any(Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(lists)
    }
}

impl ScalarUDFImpl for PositionsUdf {
    fn name(&self) -> &str {
        "kql_item_positions"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            DataType::Int64,
            true,
        ))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, n) = arrays(args)?;
        let mut lists = Vec::with_capacity(arrays.len());
        for a in &arrays {
            match a.as_list_opt::<i32>() {
                Some(l) => lists.push(l),
                None => return exec_err!("kql_item_positions of a {}", a.data_type()),
            }
        }
        let mut items = Vec::new();
        let mut offsets = vec![0i32];
        for i in 0..n {
            let len = (lists.iter())
                .map(|l| if l.is_valid(i) { l.value_length(i) } else { 0 })
                .max()
                .unwrap_or(0);
            items.extend(0..i64::from(len));
            let Ok(end) = i32::try_from(items.len()) else {
                return exec_err!("kql_item_positions of too many items");
            };
            offsets.push(end);
        }
        let field = Arc::new(Field::new("item", DataType::Int64, true));
        let list = ListArray::try_new(
            field,
            OffsetBuffer::new(offsets.into()),
            Arc::new(Int64Array::from(items)),
            None,
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// Calls `f` with each row's text as the row engine reads it (`to_text`: a null is empty): a
/// string column in place, another type through its values.
fn each_text(a: &dyn Array, ty: ScalarType, mut f: impl FnMut(&str)) {
    match a.as_string_opt::<i32>() {
        Some(text) if ty == ScalarType::String => {
            for i in 0..text.len() {
                f(if text.is_null(i) { "" } else { text.value(i) });
            }
        }
        _ => values_of(a, ty).iter().for_each(|v| f(&to_text(v))),
    }
}

/// The query's stop (deadline, budget, a refused regex search) as DataFusion's error.
fn checked() -> DfResult<()> {
    crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))
}

/// `extract(regex, group, text [, typeof(t)])` of a constant regex and group: one compiled regex
/// run over the column, its capture locations reused from row to row.
#[derive(Debug)]
pub(super) struct ExtractUdf {
    key: String,
    /// Unique per key: DataFusion names expressions after their function and arguments.
    name: String,
    regex: Pattern,
    group: usize,
    arg: ScalarType,
    /// The result's type (string unless a type argument says otherwise).
    ty: ScalarType,
    signature: Signature,
}
keyed!(ExtractUdf);

impl ExtractUdf {
    pub(super) fn call(
        arg: DfExpr,
        arg_ty: ScalarType,
        (regex, group): (Pattern, usize),
        ty: ScalarType,
    ) -> DfExpr {
        let key = format!("{}|{group}|{arg_ty:?}|{ty:?}", regex.regex().as_str());
        let udf = ExtractUdf {
            name: instance_name("kql_extract", &key),
            key,
            regex,
            group,
            arg: arg_ty,
            ty,
            signature: Signature::any(1, Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![arg])
    }

    /// The group's text in `text`'s first match, when it matches and the group took part.
    fn found<'t>(&self, text: &'t str, locs: &mut CaptureLocations) -> Option<&'t str> {
        let r = self.regex.over(text)?;
        if self.group == 0 {
            // The whole match needs no groups: the regex's fastest search.
            return r.find(text).map(|m| m.as_str());
        }
        r.captures_read(locs, text)?;
        let (start, end) = locs.get(self.group)?;
        text.get(start..end)
    }
}

impl ScalarUDFImpl for ExtractUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(stored_type(self.ty))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, n) = arrays(args)?;
        let Some(a) = arrays.first() else {
            return exec_err!("kql_extract needs one argument");
        };
        checked()?;
        let mut locs = self.regex.regex().capture_locations();
        let out: ArrayRef = if self.ty == ScalarType::String {
            // No match (or a group that took no part) is the empty string.
            let mut out = StringBuilder::with_capacity(n, 0);
            each_text(a.as_ref(), self.arg, |s| {
                out.append_value(self.found(s, &mut locs).unwrap_or(""));
            });
            Arc::new(out.finish())
        } else {
            // Typed: the text converted, null when there is none.
            let mut out = Vec::with_capacity(n);
            each_text(a.as_ref(), self.arg, |s| {
                out.push(
                    self.found(s, &mut locs)
                        .map_or(Value::Null, |m| coerce(Value::str(m), self.ty)),
                );
            });
            array_of(&out, self.ty)?
        };
        checked()?;
        Ok(ColumnarValue::Array(out))
    }
}

/// Every column a `parse` pattern extracts from each cell, with one search a cell: a struct of
/// whether the pattern matched (field [`ParseUdf::MATCHED`]) and the columns in order (fields
/// [`ParseUdf::field`]), read by [`FieldUdf`].
#[derive(Debug)]
pub(super) struct ParseUdf {
    key: String,
    name: String,
    pattern: Arc<ParsePattern>,
    arg: ScalarType,
    signature: Signature,
}
keyed!(ParseUdf);

/// One `parse` column's values as they are built: text in place, other types as values.
enum Parsed {
    Text(StringBuilder),
    Typed(ScalarType, Vec<Value>),
}

impl ParseUdf {
    /// The struct field (its position) saying whether the pattern matched.
    pub(super) const MATCHED: usize = 0;

    pub(super) fn call(arg: DfExpr, arg_ty: ScalarType, pattern: &Arc<ParsePattern>) -> DfExpr {
        let key = format!("{pattern:?}|{arg_ty:?}");
        let udf = ParseUdf {
            name: instance_name("kql_parse", &key),
            key,
            pattern: Arc::clone(pattern),
            arg: arg_ty,
            signature: Signature::any(1, Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![arg])
    }

    /// The struct field (its position) of the pattern's column `i`: after [`ParseUdf::MATCHED`].
    pub(super) fn field(i: usize) -> usize {
        i + 1
    }

    fn fields(&self) -> Fields {
        let mut fields = vec![Field::new("matched", DataType::Boolean, false)];
        fields.extend(
            (self.pattern.columns.iter().enumerate())
                .map(|(i, (_, ty))| Field::new(format!("c{i}"), stored_type(*ty), true)),
        );
        fields.into()
    }
}

impl ScalarUDFImpl for ParseUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Struct(self.fields()))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, n) = arrays(args)?;
        let Some(a) = arrays.first() else {
            return exec_err!("kql_parse needs one argument");
        };
        checked()?;
        let pattern = &self.pattern;
        let mut matched = BooleanBuilder::with_capacity(n);
        let mut columns: Vec<Parsed> = (pattern.columns.iter())
            .map(|(_, ty)| match ty {
                ScalarType::String => Parsed::Text(StringBuilder::with_capacity(n, 0)),
                _ => Parsed::Typed(*ty, Vec::with_capacity(n)),
            })
            .collect();
        let mut locs = pattern.locations();
        let mut typed = Vec::new();
        each_text(a.as_ref(), self.arg, |s| {
            typed.clear();
            // The typed columns are converted first: one that does not convert fails the
            // match. A column of a failed match is null (an empty string).
            let ok = pattern.search(s, &mut locs)
                && pattern.converted(s, &locs, |t| t != ScalarType::String, &mut typed);
            matched.append_value(ok);
            let mut typed = typed.drain(..);
            for (i, column) in columns.iter_mut().enumerate() {
                match column {
                    Parsed::Text(b) => b.append_value(match ok {
                        true => pattern.text(i, s, &locs).unwrap_or(""),
                        false => "",
                    }),
                    Parsed::Typed(_, values) => {
                        values.push(typed.next().filter(|_| ok).unwrap_or(Value::Null))
                    }
                }
            }
        });
        checked()?;
        let mut out: Vec<ArrayRef> = vec![Arc::new(matched.finish())];
        for column in columns {
            out.push(match column {
                Parsed::Text(mut b) => Arc::new(b.finish()),
                Parsed::Typed(ty, values) => array_of(&values, ty)?,
            });
        }
        let parsed = StructArray::try_new(self.fields(), out, None)?;
        Ok(ColumnarValue::Array(Arc::new(parsed)))
    }
}

/// Field `index` of a struct column (a `parse` column out of [`ParseUdf`]'s struct).
/// DataFusion's own `get_field` is not used: its optimizer moves it down through projections,
/// which fails on plans that rename their columns as ours do.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct FieldUdf {
    name: String,
    index: usize,
    signature: Signature,
}

impl FieldUdf {
    pub(super) fn call(arg: DfExpr, index: usize) -> DfExpr {
        let udf = FieldUdf {
            name: format!("kql_field_{index}"),
            index,
            signature: Signature::any(1, Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![arg])
    }
}

impl ScalarUDFImpl for FieldUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        match args.first() {
            Some(DataType::Struct(fields)) if self.index < fields.len() => {
                Ok(fields[self.index].data_type().clone())
            }
            _ => exec_err!("{} of no struct of that field", self.name),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, _) = arrays(args)?;
        match arrays.first().and_then(|a| a.as_struct_opt()) {
            Some(s) if self.index < s.num_columns() => {
                Ok(ColumnarValue::Array(Arc::clone(s.column(self.index))))
            }
            _ => exec_err!("{} of no struct of that field", self.name),
        }
    }
}

/// Row `i`'s width: `fixed` (its columns other than texts) plus its texts' bytes.
fn row_width(fixed: usize, texts: &[&StringArray], i: usize) -> usize {
    fixed
        + texts
            .iter()
            .map(|t| if t.is_null(i) { 0 } else { t.value(i).len() })
            .sum::<usize>()
}

/// At least the widest row's width: `fixed` plus each text column's longest value, read from
/// the columns' offsets alone.
fn widest_bound(fixed: usize, texts: &[&StringArray]) -> usize {
    fixed
        + texts
            .iter()
            .map(|t| longest_step(t.value_offsets()))
            .sum::<usize>()
}

/// Whether each row is narrow enough for DataFusion to repeat in the rows a join makes (a row
/// goes into every row it matches, up to a batch of them at once): always true, as a filter; a
/// wider row leaves the query to the row engine, which shares one copy of a row's values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct RowGuardUdf {
    /// The widest row allowed, in bytes.
    limit: usize,
    /// The row's width beyond its text columns (the arguments), in bytes.
    fixed: usize,
    signature: Signature,
}

impl RowGuardUdf {
    /// A guard over the row's text columns `row`; `fixed` is the bytes of its other columns.
    pub(super) fn call(row: Vec<DfExpr>, fixed: usize, limit: usize) -> DfExpr {
        let udf = RowGuardUdf {
            limit,
            fixed,
            signature: Signature::any(row.len(), Volatility::Volatile),
        };
        ScalarUDF::new_from_impl(udf).call(row)
    }
}

impl ScalarUDFImpl for RowGuardUdf {
    fn name(&self) -> &str {
        "kql_row_guard"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let (arrays, n) = arrays(args)?;
        let texts: Vec<&StringArray> = arrays.iter().filter_map(|a| a.as_string_opt()).collect();
        // Each column's longest value bounds every row's width: the rows are looked at one by
        // one only when that bound is past the limit.
        let wide = widest_bound(self.fixed, &texts) > self.limit;
        for i in (0..n).filter(|_| wide) {
            let width = row_width(self.fixed, &texts, i);
            if width > self.limit {
                return exec_err!("a row of {width} bytes to join: left to the row engine");
            }
        }
        // All true, set a word at a time.
        let all = BooleanArray::new(BooleanBuffer::new_set(n), None);
        Ok(ColumnarValue::Array(Arc::new(all)))
    }
}

#[cfg(test)]
mod tests {
    use crate::value::table::{Column, Table};
    use crate::{Catalog, ScalarType, Value};

    /// `T`: a text `s` for each edge case (a match, no match, empty, null, Unicode, typed
    /// fields that do and do not convert) and its row number `n`.
    fn catalog() -> Catalog {
        let texts = [
            Some("Firefox/125.0 (X11)"),
            Some("Chrome/124.0.1 Safari"),
            Some(""),
            None,
            Some("ünïcode/9é x"),
            Some("no slash here"),
            Some("id=42 ratio=2.5 end"),
            Some("id=x ratio=y end"),
        ];
        let mut t = Table::new(vec![
            Column::new("s", ScalarType::String),
            Column::new("n", ScalarType::Long),
        ]);
        t.rows = (texts.iter().zip(1..))
            .map(|(s, n)| vec![s.map_or(Value::Null, Value::str), Value::Long(n)])
            .collect();
        let mut catalog = Catalog::new();
        catalog.insert("T", t);
        catalog
    }

    /// Column `col` of `q`'s rows, after checking DataFusion answers `q` through `udf` and as
    /// the row engine does.
    fn agreeing(q: &str, udf: &str, col: usize) -> Vec<Value> {
        let q = format!("{q} | order by n asc");
        let (plan, fused, rows) = super::super::lower::plan_and_answers(&catalog(), &q);
        // One call a `parse` (each searches a text once for all its columns), or the extract.
        let calls = q.matches("| parse").count().max(1);
        assert_eq!(plan.matches(udf).count(), calls, "{q}: {plan}");
        assert_eq!(fused.rows, rows.rows, "{q}");
        rows.rows
            .into_iter()
            .map(|mut r| r.swap_remove(col))
            .collect()
    }

    fn strs(v: [&str; 8]) -> Vec<Value> {
        v.into_iter().map(Value::str).collect()
    }

    #[test]
    fn extract_of_a_constant_regex_is_vectorised_and_agrees_with_the_row_engine() {
        let e = |x: &str| {
            let q = format!("T | extend v = {x} | project v, n");
            agreeing(&q, "kql_extract_", 0)
        };
        // No match, an empty and a null text are all the empty string.
        let want = ["125.0", "124.0.1", "", "", "", "", "", ""];
        assert_eq!(
            e(r#"extract(@"(Firefox|Chrome)/([0-9.]+)", 2, s)"#),
            strs(want)
        );
        // Group 0 is the whole match; Unicode classes and text are kept whole.
        let want = ["Firefox/", "Chrome/", "", "", "ünïcode/", "", "", ""];
        assert_eq!(e(r#"extract(@"\w+/", 0, s)"#), strs(want));
        // A group past the last, or one that took no part in the match, is empty.
        assert_eq!(e(r#"extract("(i)", 5, s)"#), strs([""; 8]));
        let want = ["F", "", "", "", "", "", "", ""];
        assert_eq!(e(r#"extract("(z)|(F)", 2, s)"#), strs(want));
        // Typed: converted, null when there is no match or it does not convert.
        let long = e(r#"extract(@"id=(\w+)", 1, s, typeof(long))"#);
        let mut want = vec![Value::Null; 8];
        want[6] = Value::Long(42);
        assert_eq!(long, want);
        want[6] = Value::Real(2.5);
        assert_eq!(e(r#"extract(@"ratio=(\S+)", 1, s, typeof(real))"#), want);
        // A long column is searched as its text.
        let want = ["1", "2", "3", "4", "5", "6", "7", "8"];
        assert_eq!(e(r#"extract(@"\d", 0, n)"#), strs(want));
    }

    #[test]
    fn parse_answers_every_column_from_one_search_as_the_row_engine_does() {
        let q = r#"T | parse s with Product "/" Version " " * | project Product, Version, n"#;
        let want = ["Firefox", "Chrome", "", "", "ünïcode", "", "", ""];
        assert_eq!(agreeing(q, "kql_parse_", 0), strs(want));
        let want = ["125.0", "124.0.1", "", "", "9é", "", "", ""];
        assert_eq!(agreeing(q, "kql_parse_", 1), strs(want));
        // Typed columns: one that does not convert fails the whole match (row 8), except in
        // relaxed mode, which nulls only it.
        let typed = |kind: &str, col| {
            let q = format!(
                r#"T | parse {kind} s with "id=" id:long " ratio=" ratio:real " " rest | project id, ratio, rest, n"#
            );
            agreeing(&q, "kql_parse_", col)
        };
        let mut ids = vec![Value::Null; 8];
        ids[6] = Value::Long(42);
        assert_eq!(typed("", 0), ids);
        let mut rest = strs([""; 8]);
        rest[6] = Value::str("end");
        assert_eq!(typed("", 2), rest);
        rest[7] = Value::str("end");
        assert_eq!(typed("kind=relaxed", 2), rest);
        assert_eq!(typed("kind=relaxed", 0), ids);
        let mut ratios = vec![Value::Null; 8];
        ratios[6] = Value::Real(2.5);
        assert_eq!(typed("kind=regex", 1), ratios);
        // `parse-where` keeps the rows that match; a parsed column replaces one of its name.
        let q = r#"T | parse-where s with s "/" * | project s, n"#;
        assert_eq!(
            agreeing(q, "kql_parse_", 0),
            ["Firefox", "Chrome", "ünïcode"].map(Value::str)
        );
        // Parses in a row each have their own struct column.
        let q = r#"T | parse s with a "/" * | parse s with * "/" b | project a, b, n"#;
        assert_eq!(
            agreeing(q, "kql_parse_", 0)[..2],
            ["Firefox", "Chrome"].map(Value::str)
        );
        // A long source is parsed as its text.
        let q = "T | parse n with d:long | project d, n";
        assert_eq!(
            agreeing(q, "kql_parse_", 0),
            (1..=8).map(Value::Long).collect::<Vec<_>>()
        );
    }

    /// `D`: dynamic cells `d` and `e` of every shape `mv-expand` meets, and the row number `n`.
    fn dynamic_catalog() -> Catalog {
        let cells = [
            serde_json::json!(["a", "b"]),
            serde_json::json!([1, 2.5, "x", true, null]),
            serde_json::json!([["n", 1], {"k": "v"}]),
            serde_json::json!([]),
            serde_json::Value::Null,
            serde_json::json!("scalar"),
            serde_json::json!(42),
            serde_json::json!({"k1": "v1", "k2": [1]}),
            serde_json::json!(["é ü 日本", "q\"uote", "back\\slash", "nl\nx", "tab\t\u{1}"]),
            serde_json::json!(["日本", "", " spaced "]),
        ];
        let mut t = Table::new(vec![
            Column::new("d", ScalarType::Dynamic),
            Column::new("e", ScalarType::Dynamic),
            Column::new("n", ScalarType::Long),
        ]);
        let dynamic = |j: &serde_json::Value| match j {
            serde_json::Value::Null => Value::Null,
            j => Value::dynamic(j.clone()),
        };
        t.rows = (cells.iter().zip(cells.iter().rev()).zip(1..))
            .map(|((d, e), n)| vec![dynamic(d), dynamic(e), Value::Long(n)])
            .collect();
        let mut catalog = Catalog::new();
        catalog.insert("D", t);
        catalog
    }

    #[test]
    fn mv_expand_agrees_with_the_row_engine_on_every_shape_of_cell() {
        let catalog = dynamic_catalog();
        let expanded = |items: &str| {
            let q = format!("D | mv-expand {items}");
            let (plan, fused, rows) = super::super::lower::plan_and_answers(&catalog, &q);
            assert!(plan.contains("kql_mv_expand"), "{q}: {plan}");
            let sorted = |t: Table| {
                let mut rows: Vec<String> = t.rows.iter().map(|r| format!("{r:?}")).collect();
                rows.sort();
                rows
            };
            let want = sorted(rows);
            assert_eq!(sorted(fused), want, "{q}");
            want.len()
        };
        // Arrays give a row a value, an empty array none; null, a scalar and a bag's property
        // one row each (bags by property, as bags or `[key, value]` arrays).
        let all = 2 + 5 + 2 + 1 + 1 + 1 + 2 + 5 + 3;
        for to in ["string", "long", "dynamic", "real"] {
            assert_eq!(expanded(&format!("x = d to typeof({to})")), all, "{to}");
        }
        // Strings read in place are text again for the operators after the expansion.
        let after = "x = d to typeof(string) | extend u = toupper(x), l = strlen(x), h = x has 'b'";
        assert_eq!(expanded(after), all);
        assert_eq!(expanded("kind=array x = d"), all);
        assert_eq!(expanded("kind=array x = d to typeof(string)"), all);
        // At most `limit` values a cell.
        assert_eq!(expanded("x = d to typeof(string) limit 1"), 9);
        assert_eq!(expanded("x = d to typeof(string) limit 0"), 0);
        // Two columns side by side, the shorter padded with nulls.
        assert_eq!(
            expanded("x = d to typeof(string), y = e to typeof(string)"),
            3 + 5 + 2 + 1 + 1 + 1 + 1 + 2 + 5 + 3
        );
    }

    #[test]
    fn plain_string_arrays_are_read_in_place_exactly_when_serde_would_borrow_them() {
        let texts = [
            r#"["a","b"]"#,
            " \n[ \"a\" ,\t\"ü 日本\" ]\r ",
            "[]",
            "[ ]",
            r#"[""]"#,
            r#"["a",]"#,
            r#"[,"a"]"#,
            r#"["a" "b"]"#,
            r#"["a\"b"]"#,
            r#"["\u00e9"]"#,
            "[\"a\tb\"]",
            r#"["a"]x"#,
            r#"["a"]]"#,
            r#"[["a"]]"#,
            "[1]",
            r#"["a",1]"#,
            r#"["a",null]"#,
            "null",
            r#""a""#,
            r#"{"a":"b"}"#,
            "[",
            r#"["a"#,
            r#"["a","#,
            "",
        ];
        let mut spans = Vec::new();
        for t in texts {
            let serde = serde_json::from_str::<Vec<&str>>(t).ok();
            let ours = super::plain_strings(t, &mut spans)
                .then(|| spans.iter().map(|r| &t[r.clone()]).collect::<Vec<_>>());
            assert_eq!(ours, serde, "{t:?}");
        }
    }

    /// The eight-bytes-at-a-time scan finds the first quote, backslash or control character as a
    /// byte-by-byte scan does: each at every position of texts of 0 to 40 bytes, after plain
    /// ASCII or multi-byte UTF-8 (whose bytes have the high bit set), and with later hits (a
    /// borrow may mark the bytes above the first hit).
    #[test]
    fn string_end_finds_the_first_quote_backslash_or_control_character() {
        let reference = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let fillers: [&[u8]; 3] = [b"abcdefgh", "é日本ü".as_bytes(), b"\x7f!#[]~ "];
        for filler in fillers {
            for len in 0..40 {
                let plain: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
                assert_eq!(super::string_end(&plain), None, "{plain:?}");
                for at in 0..len {
                    for hit in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                        let mut text = plain.clone();
                        text[at] = hit;
                        if at + 2 < len {
                            text[at + 2] = b'"';
                        }
                        assert_eq!(super::string_end(&text), reference(&text), "{text:?}");
                        assert_eq!(super::string_end(&text), Some(at), "{text:?}");
                    }
                }
            }
        }
    }
}
