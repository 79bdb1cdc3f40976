//! `evaluate bag_unpack`, whose columns are the properties of the bags it reads: a first run
//! finds each property with the kinds of value it holds (one row per pair), which lays the
//! columns out as the row engine does; then each row's bag is read once into a hidden struct
//! of every property's cell, whose fields become the columns.

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, StructArray};
use arrow_schema::{DataType, Field, Fields};
use datafusion::common::{DataFusionError, Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::exec::datafusion::udf::instance_name;
use crate::exec::rows::expand::{PropertyKinds, bag_of, property_kind, property_value};
use crate::storage::arrow_table::{array_of, values_of};

use super::*;

/// The first run's column: each property's kind code ([`kind_code`]) followed by its key.
const PROPERTY: &str = "__property";
/// The hidden column of every row's unpacked cells.
const UNPACKED: &str = "__kql_unpacked";

impl<'a> Lowering<'_, 'a> {
    /// `evaluate bag_unpack(bag, options…)` over `p`.
    pub(super) fn bag_unpack(
        &mut self,
        p: Plan,
        op: &'a Operator,
        args: &'a [Expr],
    ) -> Result<Plan, Fallback> {
        let unpack = self
            .engine
            .bag_unpack_args(op, args, &self.env)
            .map_err(|e| e.to_string())?;
        let (c, ty) = self.bind(unpack.bag, &p.columns)?;
        let bag = self.expr(&c, ty, &p.columns)?;
        let seen = self.first_run(op, |l| {
            let kinds = PropertiesUdf::call(bag.clone(), ty).alias(PROPERTY);
            let utf8 = cast(column(PROPERTY), DataType::Utf8).alias(PROPERTY);
            l.build(
                vec![Column::new(PROPERTY, ScalarType::String)],
                p.parallel,
                |b| {
                    b.project(vec![kinds])?
                        .unnest_column(PROPERTY)?
                        .project(vec![utf8])?
                        .distinct()
                },
                p.plan.clone(),
            )
        })?;
        let mut kinds = PropertyKinds::default();
        for row in &seen.rows {
            if let Some(Value::String(s)) = row.first()
                && let Some((kind, key)) = decode(s)
            {
                kinds.add(key, kind);
            }
        }
        let source = match &unpack.bag.kind {
            ExprKind::Name(n) => p.columns.iter().position(|c| c.name == *n),
            _ => None,
        };
        let (keep, props) = unpack.layout(&p.columns, source, kinds.types());
        let (mut cols, mut exprs) = as_is(&p.columns);
        cols.push(Column::new(UNPACKED, ScalarType::Dynamic));
        let types = props.iter().map(|(k, c)| (k.clone(), c.ty)).collect();
        exprs.push(UnpackUdf::call(bag, ty, types).alias(UNPACKED));
        let mut out: Vec<Column> = keep.iter().map(|&i| p.columns[i].clone()).collect();
        let mut picked: Vec<DfExpr> = (out.iter()).map(|c| column(&c.name)).collect();
        for (i, (_, col)) in props.into_iter().enumerate() {
            picked.push(FieldUdf::call(column(UNPACKED), i).alias(col.name.clone()));
            out.push(col);
        }
        let unpacked = self.build(cols, p.parallel, |b| b.project(exprs), p.plan)?;
        self.build(out, p.parallel, |b| b.project(picked), unpacked.plan)
    }
}

/// The one-letter code of a kind of property value in the first run's rows.
fn kind_code(kind: Option<ScalarType>) -> char {
    match kind {
        None => 'n',
        Some(ScalarType::String) => 's',
        Some(ScalarType::Bool) => 'b',
        Some(ScalarType::Long) => 'l',
        Some(ScalarType::Real) => 'r',
        Some(_) => 'd',
    }
}

/// A first-run row's kind and key.
fn decode(s: &str) -> Option<(Option<ScalarType>, &str)> {
    let mut chars = s.chars();
    let kind = match chars.next()? {
        'n' => None,
        's' => Some(ScalarType::String),
        'b' => Some(ScalarType::Bool),
        'l' => Some(ScalarType::Long),
        'r' => Some(ScalarType::Real),
        _ => Some(ScalarType::Dynamic),
    };
    Some((kind, chars.as_str()))
}

/// Each row's bag's properties, as a list of their kind codes followed by their keys.
#[derive(Debug)]
struct PropertiesUdf {
    key: String,
    name: String,
    arg: ScalarType,
    signature: Signature,
}

super::super::udf::keyed!(PropertiesUdf);

impl PropertiesUdf {
    fn call(bag: DfExpr, arg: ScalarType) -> DfExpr {
        let key = format!("{arg:?}");
        let udf = PropertiesUdf {
            name: instance_name("kql_bag_properties", &key),
            key,
            arg,
            signature: Signature::any(1, Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![bag])
    }
}

impl ScalarUDFImpl for PropertiesUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::List(Arc::new(Field::new(
            "item",
            DataType::Utf8,
            true,
        ))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let n = args.number_rows;
        let Some(bags) = args.args.into_iter().next() else {
            return exec_err!("{} needs one argument", self.name);
        };
        let bags = values_of(bags.into_array(n)?.as_ref(), self.arg);
        let mut lists = ListBuilder::new(StringBuilder::new());
        let mut code = String::new();
        for v in &bags {
            crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
            for (k, v) in bag_of(v).into_iter().flatten() {
                code.clear();
                code.push(kind_code(property_kind(v)));
                code.push_str(k);
                lists.values().append_value(&code);
            }
            lists.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(lists.finish())))
    }
}

/// Each row's cell of every property (`props`: key and column type, in the output's order), read
/// from one parse of its bag, as a struct (field `i` for property `i`).
#[derive(Debug)]
struct UnpackUdf {
    key: String,
    name: String,
    arg: ScalarType,
    props: Vec<(String, ScalarType)>,
    signature: Signature,
}

super::super::udf::keyed!(UnpackUdf);

impl UnpackUdf {
    fn call(bag: DfExpr, arg: ScalarType, props: Vec<(String, ScalarType)>) -> DfExpr {
        let key = format!("{arg:?}|{props:?}");
        let udf = UnpackUdf {
            name: instance_name("kql_bag_unpack", &key),
            key,
            arg,
            props,
            signature: Signature::any(1, Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(vec![bag])
    }

    fn fields(&self) -> Fields {
        (self.props.iter().enumerate())
            .map(|(i, (_, ty))| Field::new(format!("p{i}"), stored_type(*ty), true))
            .collect()
    }
}

impl ScalarUDFImpl for UnpackUdf {
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
        let n = args.number_rows;
        let Some(bags) = args.args.into_iter().next() else {
            return exec_err!("{} needs one argument", self.name);
        };
        let bags = values_of(bags.into_array(n)?.as_ref(), self.arg);
        let mut cells: Vec<Vec<Value>> = vec![Vec::with_capacity(n); self.props.len()];
        for v in &bags {
            crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
            let bag = bag_of(v);
            for ((k, ty), cells) in self.props.iter().zip(&mut cells) {
                cells.push(property_value(bag.and_then(|b| b.get(k)), *ty));
            }
        }
        let columns = (cells.iter().zip(&self.props))
            .map(|(cells, (_, ty))| array_of(cells, *ty))
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let unpacked = if columns.is_empty() {
            StructArray::new_empty_fields(n, None)
        } else {
            StructArray::try_new(self.fields(), columns, None)?
        };
        Ok(ColumnarValue::Array(Arc::new(unpacked)))
    }
}

#[cfg(test)]
mod tests {
    use crate::Catalog;
    use crate::storage::arrow_table::PARALLEL_ROWS;
    use crate::value::table::{Column, Table};
    use crate::value::{ScalarType, Value};

    /// `q`'s table on DataFusion, after checking it unpacks there (a first run included) and
    /// the row engine answers the same columns, types and rows.
    fn unpacked(catalog: &Catalog, q: &str) -> Table {
        let (plan, fused, rows) = super::super::plan_and_answers(catalog, q);
        assert!(plan.contains("kql_bag_unpack"), "{plan}");
        assert_eq!(fused, rows, "{q}");
        fused
    }

    fn names(t: &Table) -> Vec<(&str, ScalarType)> {
        t.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect()
    }

    const PEOPLE: &str = r#"datatable(Name:string, d:dynamic) [
        'James', dynamic({"Name": "John", "Age": 20}),
        'David', dynamic({"Age": 40.5, "Tags": ["a"]}),
        'Emily', dynamic({"Name": null, "Age": 30, "Nick": null}),
        'Ann', dynamic([1, 2]),
        'Bob', dynamic(null),
    ]"#;

    #[test]
    fn bag_unpack_lays_out_the_properties_it_finds_as_the_row_engine() {
        let c = Catalog::new();
        let t = unpacked(
            &c,
            &format!("{PEOPLE} | evaluate bag_unpack(d) | sort by Name asc"),
        );
        // `Age` is a long and a real: dynamic; `Nick` is only null: dynamic; `Name` clashes.
        assert_eq!(
            names(&t),
            [
                ("Name", ScalarType::String),
                ("Age", ScalarType::Dynamic),
                ("Name1", ScalarType::String),
                ("Nick", ScalarType::Dynamic),
                ("Tags", ScalarType::Dynamic),
            ]
        );
        for options in [
            "'p_'",
            "columnsConflict='replace_source'",
            "columnsConflict='keep_source'",
            "ignoredProperties=dynamic(['Age', 'Tags'])",
            "'p_', 'keep_source', dynamic(['Nick'])",
        ] {
            let q = format!("{PEOPLE} | evaluate bag_unpack(d, {options}) | sort by Name asc");
            unpacked(&c, &q);
        }
        // A bag computed per row (its source column stays), a single row, no rows.
        let q = "print x = 1 | evaluate bag_unpack(bag_pack('a', x, 'b', 'y'))";
        let t = unpacked(&c, q);
        assert_eq!(
            t.rows,
            [[Value::Long(1), Value::Long(1), Value::String("y".into())]]
        );
        let q = format!("{PEOPLE} | where Name == 'none' | evaluate bag_unpack(d)");
        assert_eq!(names(&unpacked(&c, &q)), [("Name", ScalarType::String)]);
    }

    #[test]
    fn a_function_unpacking_bags_finds_the_properties_of_each_call_apart() {
        let q = r#"let f = (T:(d:dynamic)) { T | evaluate bag_unpack(d) };
            union (f(datatable(d:dynamic) [dynamic({"a": 1})])),
                  (f(datatable(d:dynamic) [dynamic({"b": "x"})]))
            | sort by a asc"#;
        let t = unpacked(&Catalog::new(), q);
        assert_eq!(
            names(&t),
            [("a", ScalarType::Long), ("b", ScalarType::String)]
        );
    }

    #[test]
    fn bag_unpack_finds_the_kinds_of_every_partition_before_it_types_a_column() {
        // The last rows (another partition than the first's) hold a real where the others hold
        // a long, and the only `late` property.
        let n = PARALLEL_ROWS + 10;
        let rows = (0..n)
            .map(|i| {
                let bag = match i {
                    _ if i + 1 == n => serde_json::json!({"v": 0.5, "late": "x"}),
                    _ => serde_json::json!({"v": i, "k": format!("k{}", i % 3)}),
                };
                vec![Value::Long(i as i64), Value::dynamic(bag)]
            })
            .collect();
        let columns = vec![
            Column::new("i", ScalarType::Long),
            Column::new("d", ScalarType::Dynamic),
        ];
        let mut c = Catalog::new();
        c.insert("T", Table { columns, rows });
        let q =
            "T | evaluate bag_unpack(d) | where i % 1000 == 1 or isnotempty(late) | sort by i asc";
        let t = unpacked(&c, q);
        assert_eq!(
            names(&t),
            [
                ("i", ScalarType::Long),
                ("k", ScalarType::String),
                ("late", ScalarType::String),
                ("v", ScalarType::Dynamic),
            ]
        );
    }
}
