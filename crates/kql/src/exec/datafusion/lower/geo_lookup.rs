//! `evaluate geo_polygon_lookup(…)` and `geo_line_lookup(…)` as a DataFusion join without keys:
//! each input row with every lookup row whose shape matches its point (the row engine's
//! [`GeoHit`], as a UDF in the join's filter), and with `return_unmatched` a left join whose
//! rows without a match get the row engine's empty cells.

use arrow_array::BooleanArray;
use arrow_schema::DataType;
use datafusion::common::{Column as DfColumn, DataFusionError, JoinType, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, when,
};

use crate::exec::datafusion::udf::instance_name;
use crate::exec::rows::geo_lookup::{GeoHit, unmatched_cell};
use crate::exec::rows::ops::joined_columns;
use crate::storage::arrow_table::values_of;

use super::*;

/// The point's columns on the input's side of the join.
const LONGITUDE: &str = "__longitude";
const LATITUDE: &str = "__latitude";
/// True on every lookup row: null on an input row a left join found no match for.
const MATCHED: &str = "__matched";

impl<'a> Lowering<'_, 'a> {
    /// `evaluate geo_polygon_lookup(…)` (`lines` false) or `geo_line_lookup(…)` over `p`.
    pub(super) fn geo_lookup(
        &mut self,
        p: Plan,
        op: &'a Operator,
        lines: bool,
        args: &'a [Expr],
    ) -> Result<Plan, Fallback> {
        let g = self
            .engine
            .geo_lookup_args(op, lines, args, &self.env)
            .map_err(|e| e.to_string())?;
        let lookup = self.tabular(g.lookup)?;
        let key = g
            .key(&lookup.columns)
            .ok_or("a geo lookup key not a column")?;
        let kept = g.kept(&lookup.columns, key);
        let mut point = Vec::new();
        for e in [g.longitude, g.latitude] {
            let (c, ty) = self.bind(e, &p.columns)?;
            point.push((self.expr(&c, ty, &p.columns)?, ty));
        }
        let [(lng, lng_ty), (lat, lat_ty)] =
            <[_; 2]>::try_from(point).map_err(|_| "a geo lookup without its point")?;
        let (mut cols, mut exprs) = as_is(&p.columns);
        cols.push(Column::new(LONGITUDE, lng_ty));
        exprs.push(lng.alias(LONGITUDE));
        cols.push(Column::new(LATITUDE, lat_ty));
        exprs.push(lat.alias(LATITUDE));
        let left = self.build(cols, p.parallel, |b| b.project(exprs), p.plan)?;
        let (mut cols, mut exprs) = as_is(&lookup.columns);
        cols.push(Column::new(MATCHED, ScalarType::Bool));
        exprs.push(lit(true).alias(MATCHED));
        let right = self.build(cols, lookup.parallel, |b| b.project(exprs), lookup.plan)?;
        let (left, right) = (self.narrow_rows(left)?, self.narrow_rows(right)?);

        let side = |q: &str, name: &str| DfExpr::Column(DfColumn::new(Some(q), name));
        let shape = &lookup.columns[key];
        let hit = GeoHitUdf::call(
            g.hit,
            [
                (side("l", LONGITUDE), lng_ty),
                (side("l", LATITUDE), lat_ty),
                (side("r", &shape.name), shape.ty),
            ],
        );
        let join_type = if g.unmatched {
            JoinType::Left
        } else {
            JoinType::Inner
        };
        let lq = df(df(LogicalPlanBuilder::from(left.plan).alias("l"))?.build())?;
        let rq = df(df(LogicalPlanBuilder::from(right.plan).alias("r"))?.build())?;
        let no_keys: (Vec<DfColumn>, Vec<DfColumn>) = (Vec::new(), Vec::new());
        let joined =
            df(df(LogicalPlanBuilder::from(lq).join(rq, join_type, no_keys, Some(hit)))?.build())?;
        let out = joined_columns(&p.columns, kept.iter().map(|&c| &lookup.columns[c]));
        let mut exprs: Vec<DfExpr> = (p.columns.iter())
            .map(|c| side("l", &c.name).alias(c.name.clone()))
            .collect();
        for (&c, name) in kept.iter().zip(&out[p.columns.len()..]) {
            let col = &lookup.columns[c];
            let cell = when(
                side("r", MATCHED).is_null(),
                constant(&unmatched_cell(col.ty), col.ty),
            )
            .otherwise(side("r", &col.name))
            .map_err(|e| e.to_string())?;
            exprs.push(cell.alias(name.name.clone()));
        }
        let parallel = left.parallel || right.parallel;
        self.build(out, parallel, |b| b.project(exprs), joined)
    }
}

/// Whether a lookup row's shape matches an input row's point: the row engine's [`GeoHit`] over
/// the longitude, the latitude and the shape (each with its KQL type).
#[derive(Debug)]
struct GeoHitUdf {
    key: String,
    name: String,
    hit: GeoHit,
    types: [ScalarType; 3],
    signature: Signature,
}

super::super::udf::keyed!(GeoHitUdf);

impl GeoHitUdf {
    fn call(hit: GeoHit, args: [(DfExpr, ScalarType); 3]) -> DfExpr {
        let types = args.each_ref().map(|(_, ty)| *ty);
        let key = format!("{hit:?}|{types:?}");
        let udf = GeoHitUdf {
            name: instance_name("kql_geo_hit", &key),
            key,
            hit,
            types,
            signature: Signature::any(3, Volatility::Immutable),
        };
        ScalarUDF::new_from_impl(udf).call(args.into_iter().map(|(e, _)| e).collect())
    }
}

impl ScalarUDFImpl for GeoHitUdf {
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
        let n = args.number_rows;
        let mut columns = Vec::with_capacity(3);
        for (a, ty) in args.args.into_iter().zip(self.types) {
            columns.push(values_of(a.into_array(n)?.as_ref(), ty));
        }
        let [lng, lat, shape] = <[Vec<Value>; 3]>::try_from(columns).map_err(|_| {
            DataFusionError::Execution(format!("{} needs three arguments", self.name))
        })?;
        let mut hits = Vec::with_capacity(n);
        for ((lng, lat), shape) in lng.into_iter().zip(lat).zip(shape) {
            crate::budget::check().map_err(|e| DataFusionError::External(Box::new(e)))?;
            hits.push(self.hit.test(lng, lat, shape));
        }
        Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(hits))))
    }
}

#[cfg(test)]
mod tests {
    use crate::value::table::Table;
    use crate::{Catalog, ScalarType};

    /// `q`'s table on DataFusion (rows sorted), after checking it joins there and the row
    /// engine answers the same.
    fn looked_up(q: &str) -> Table {
        let (plan, mut fused, mut rows) = super::super::plan_and_answers(&Catalog::new(), q);
        assert!(plan.contains("kql_geo_hit"), "{plan}");
        let text = |r: &Vec<crate::Value>| format!("{r:?}");
        fused.rows.sort_by_key(text);
        rows.rows.sort_by_key(text);
        assert_eq!(fused, rows, "{q}");
        fused
    }

    const SHAPES: &str = r#"let polygons = datatable(name:string, shape:dynamic, id:long) [
        "square", dynamic({"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]]]}), 1,
        "inner", dynamic({"type":"Polygon","coordinates":[[[0.5,0.5],[1.5,0.5],[1.5,1.5],[0.5,1.5],[0.5,0.5]]]}), 2,
        "far", dynamic({"type":"Polygon","coordinates":[[[10,10],[11,10],[11,11],[10,11],[10,10]]]}), 3,
    ];
    let roads = datatable(road:string, line:dynamic) [
        "east", dynamic({"type":"LineString","coordinates":[[0,0],[3,0]]}),
    ];
    let points = datatable(p:string, lng:real, lat:real) [
        "in both", 1.0, 1.0, "edge of square", 1.9, 0.1, "nowhere", 5.0, 5.0, "no point", real(null), 1.0,
    ];"#;

    #[test]
    fn geo_lookups_join_each_point_with_every_matching_shape_as_the_row_engine() {
        let q = format!("{SHAPES} points | evaluate geo_polygon_lookup(polygons, shape, lng, lat)");
        // The point in both polygons is joined with both; the others with none.
        assert_eq!(looked_up(&q).rows.len(), 3);
        let options = [
            "return_unmatched = true",
            "return_unmatched = true, return_lookup_key = true",
            "radius = 400000, return_unmatched = true",
        ];
        for o in options {
            let q = format!(
                "{SHAPES} points | evaluate geo_polygon_lookup(polygons, shape, lng, lat, {o})"
            );
            looked_up(&q);
        }
        let q = format!(
            "{SHAPES} points | evaluate geo_line_lookup(roads, line, lng, lat, 20000, true, true)"
        );
        looked_up(&q);
        // No points, no shapes.
        let q = format!(
            "{SHAPES} points | where lng > 99 \
             | evaluate geo_polygon_lookup(polygons, shape, lng, lat, return_unmatched = true)"
        );
        assert!(looked_up(&q).rows.is_empty());
        let q = format!(
            "{SHAPES} points | evaluate geo_polygon_lookup(polygons | where id > 9, shape, \
             lng, lat, return_unmatched = true)"
        );
        assert_eq!(looked_up(&q).rows.len(), 4);
    }

    #[test]
    fn a_lookup_column_named_like_an_input_column_is_numbered_as_join_numbers_it() {
        // The lookup's `name` and `id` clash with the input's, of other types too.
        let lookup = r#"let places = datatable(name:string, id:string, shape:dynamic) [
            "square", "s", dynamic({"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]]]}),
        ];
        let points = datatable(name:string, id:long, lng:real, lat:real) [
            "a", 1, 1.0, 1.0, "b", 2, 5.0, 5.0,
        ];"#;
        for o in ["", ", return_unmatched = true, return_lookup_key = true"] {
            let q = format!(
                "{lookup} points | evaluate geo_polygon_lookup(places, shape, lng, lat{o}) \
                 | extend both = strcat(name, name1)"
            );
            let t = looked_up(&q);
            let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            let want = ["name", "id", "lng", "lat", "name1", "id1"];
            assert_eq!(names[..6], want, "{q}");
            assert_eq!(t.columns[5].ty, ScalarType::String, "{q}");
            assert_eq!(names.last(), Some(&"both"), "{q}");
        }
    }
}
