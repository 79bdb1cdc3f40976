//! Tool schemas in the subset every client accepts. Clients that map tool schemas onto a
//! single-`type` dialect (Gemini function declarations, strict function calling) reject or degrade
//! `type: [X, "null"]`, a bare `true` sub-schema and, some of them, `$ref`. schemars writes all
//! three for `Option<T>`, `serde_json::Value` and nested types; this rewrites them (definitions
//! are inlined by the generator's settings, see `tools::schema_object`).

use serde_json::{Map, Value, json};

/// Which side of a tool a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// Arguments: an optional argument is a plain optional property (absent means "not given",
    /// and the server also accepts an explicit `null` for it).
    Input,
    /// Results: a field the server writes as `null` stays nullable, spelled as `anyOf` branches
    /// of one `type` each.
    Output,
}

/// Rewrites `schema` in place into the portable subset.
pub(super) fn make_portable(schema: &mut Value, side: Side) {
    let Value::Object(node) = schema else {
        *schema = any_value();
        return;
    };
    for (key, sub) in node.iter_mut() {
        match key.as_str() {
            "properties" | "patternProperties" | "$defs" | "definitions" => {
                if let Value::Object(map) = sub {
                    map.values_mut().for_each(|s| make_portable(s, side));
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(list) = sub {
                    list.iter_mut().for_each(|s| make_portable(s, side));
                }
            }
            // `additionalProperties: true` is the portable spelling of a free-form object.
            "additionalProperties" if sub.is_boolean() => {}
            "items" | "additionalProperties" | "contains" | "not" => make_portable(sub, side),
            _ => {}
        }
    }
    match side {
        Side::Input => drop_null(node),
        Side::Output => split_nullable_type(node),
    }
}

/// Any JSON value, each branch of one `type` (a query cell or a dynamic entity can be any).
fn any_value() -> Value {
    let branches: Vec<Value> = ["string", "number", "boolean", "object", "array", "null"]
        .iter()
        .map(|t| json!({ "type": t }))
        .collect();
    json!({ "anyOf": branches })
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// `type: [X, "null"]` → `type: X`; `anyOf: [S, {type: null}]` → S's keywords merged in; `null`
/// leaves an `enum`; and the `default: null` schemars writes for `#[serde(default)]` goes too.
fn drop_null(node: &mut Map<String, Value>) {
    if let Some(Value::Array(values)) = node.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::Array(types)) = node.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            node.insert("type".into(), only);
        }
    }
    let single = match node.get("anyOf") {
        Some(Value::Array(branches)) if branches.iter().any(is_null_schema) => {
            let rest: Vec<&Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
            match rest.as_slice() {
                [Value::Object(only)] => Some(only.clone()),
                _ => None,
            }
        }
        _ => None,
    };
    if let Some(only) = single {
        node.remove("anyOf");
        for (k, v) in only {
            // The property's own description wins over the type's.
            node.entry(k).or_insert(v);
        }
    }
    if node.get("default") == Some(&Value::Null) {
        node.remove("default");
    }
}

/// `type: [X, "null"]` → `anyOf: [{type: X}, {type: "null"}]`.
fn split_nullable_type(node: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = node.get("type") {
        let branches: Vec<Value> = types.iter().map(|t| json!({ "type": t })).collect();
        node.remove("type");
        node.insert("anyOf".into(), Value::Array(branches));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portable(mut v: Value, side: Side) -> Value {
        make_portable(&mut v, side);
        v
    }

    #[test]
    fn optional_argument_becomes_a_plain_optional_property() {
        let s = json!({"type": "object", "properties": {
            "top": {"type": ["integer", "null"], "default": null, "format": "uint", "minimum": 0},
            "status": {"anyOf": [{"type": "string", "enum": ["New", "Closed"], "description": "Status."},
                                 {"type": "null"}], "default": null, "description": "Only these."},
            "severity": {"type": ["string", "null"], "enum": ["High", "Low", null]}
        }});
        assert_eq!(
            portable(s, Side::Input),
            json!({"type": "object", "properties": {
                "top": {"type": "integer", "format": "uint", "minimum": 0},
                "status": {"type": "string", "enum": ["New", "Closed"], "description": "Only these."},
                "severity": {"type": "string", "enum": ["High", "Low"]}
            }})
        );
    }

    #[test]
    fn nullable_result_field_is_split_into_single_type_branches() {
        let s = json!({"type": "object", "properties": {"note": {"type": ["string", "null"]}}});
        assert_eq!(
            portable(s, Side::Output),
            json!({"type": "object", "properties": {
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}
            }})
        );
    }

    #[test]
    fn bare_true_sub_schema_gets_an_explicit_shape_on_both_sides() {
        for side in [Side::Input, Side::Output] {
            let out = portable(
                json!({"type": "array", "items": {"type": "array", "items": true}}),
                side,
            );
            let cell = &out["items"]["items"]["anyOf"];
            assert_eq!(cell.as_array().map(Vec::len), Some(6), "{out}");
            assert!(
                cell.as_array()
                    .into_iter()
                    .flatten()
                    .all(|b| b["type"].is_string())
            );
        }
    }

    #[test]
    fn free_form_object_keeps_additional_properties_true() {
        let s = json!({"type": "object", "additionalProperties": true});
        assert_eq!(portable(s.clone(), Side::Output), s);
    }
}
