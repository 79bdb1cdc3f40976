//! Scalar types and values with Kusto's semantics (100 ns ticks for datetime and timespan).

pub(crate) mod convert;
pub mod decimal;
pub(crate) mod size;
pub mod table;
pub mod time;

pub use decimal::Decimal;
pub use size::json_len;
pub use time::{parse_datetime_text, parse_timespan_text};

use std::fmt;
use std::sync::Arc;

/// Ticks (100 ns units) per second, Kusto's datetime and timespan resolution.
pub const TICKS_PER_SECOND: i64 = 10_000_000;

/// A Kusto / Log Analytics column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalarType {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    Dynamic,
}

impl ScalarType {
    /// The type's name as Kusto prints it (`getschema`, Log Analytics `columns[].type`).
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::Bool => "bool",
            ScalarType::Int => "int",
            ScalarType::Long => "long",
            ScalarType::Real => "real",
            ScalarType::Decimal => "decimal",
            ScalarType::String => "string",
            ScalarType::DateTime => "datetime",
            ScalarType::TimeSpan => "timespan",
            ScalarType::Guid => "guid",
            ScalarType::Dynamic => "dynamic",
        }
    }

    /// Parses a type name, accepting Kusto's aliases (`boolean`, `double`, `date`, `time`, `uniqueid`, …).
    pub fn from_name(name: &str) -> Option<ScalarType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => ScalarType::Bool,
            "int" | "int32" => ScalarType::Int,
            "long" | "int64" => ScalarType::Long,
            "real" | "double" | "float" => ScalarType::Real,
            "decimal" => ScalarType::Decimal,
            "string" => ScalarType::String,
            "datetime" | "date" => ScalarType::DateTime,
            "timespan" | "time" => ScalarType::TimeSpan,
            "guid" | "uuid" | "uniqueid" => ScalarType::Guid,
            "dynamic" => ScalarType::Dynamic,
            _ => return None,
        })
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One cell. `Null` is Kusto's null of any type; strings are never null in Kusto (empty instead).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    /// Exact (up to 38 digits); arithmetic on it runs in f64.
    Decimal(Decimal),
    String(Arc<str>),
    /// Ticks (100 ns) since 1970-01-01T00:00:00Z.
    DateTime(i64),
    /// Ticks (100 ns).
    TimeSpan(i64),
    Guid(uuid::Uuid),
    Dynamic(Arc<serde_json::Value>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::String(Arc::from(s.as_ref()))
    }

    /// The decimal a real spells (null for NaN, the infinities and reals beyond 38 digits).
    pub fn decimal(x: f64) -> Value {
        Decimal::from_f64(x).map_or(Value::Null, Value::Decimal)
    }

    /// A dynamic value.
    pub fn dynamic(v: serde_json::Value) -> Value {
        Value::Dynamic(Arc::new(v))
    }

    /// A datetime from a chrono UTC timestamp.
    pub fn datetime(t: chrono::DateTime<chrono::Utc>) -> Value {
        Value::DateTime(datetime_to_ticks(t))
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type of a non-null value.
    pub fn scalar_type(&self) -> Option<ScalarType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ScalarType::Bool,
            Value::Int(_) => ScalarType::Int,
            Value::Long(_) => ScalarType::Long,
            Value::Real(_) => ScalarType::Real,
            Value::Decimal(_) => ScalarType::Decimal,
            Value::String(_) => ScalarType::String,
            Value::DateTime(_) => ScalarType::DateTime,
            Value::TimeSpan(_) => ScalarType::TimeSpan,
            Value::Guid(_) => ScalarType::Guid,
            Value::Dynamic(_) => ScalarType::Dynamic,
        })
    }

    /// JSON as Log Analytics' query API returns cells: datetimes as ISO 8601 with `Z`,
    /// timespans as `[-][d.]hh:mm:ss[.fffffff]`, guids and decimals as strings, dynamic as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Long(i) => J::from(*i),
            Value::Real(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| J::String(format_real(*f)), J::Number),
            // As text, every digit kept (as Kusto and Log Analytics write decimals).
            Value::Decimal(d) => J::String(d.to_string()),
            Value::String(s) => J::String(s.to_string()),
            Value::DateTime(t) => J::String(format_datetime(*t)),
            Value::TimeSpan(t) => J::String(format_timespan(*t)),
            Value::Guid(g) => J::String(g.to_string()),
            Value::Dynamic(d) => (**d).clone(),
        }
    }
}

impl fmt::Display for Value {
    /// Text as Kusto shows a cell: empty for null, ISO 8601 for datetimes, JSON for dynamic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Long(i) => write!(f, "{i}"),
            Value::Real(x) => f.write_str(&format_real(*x)),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::String(s) => f.write_str(s),
            Value::DateTime(t) => f.write_str(&format_datetime(*t)),
            Value::TimeSpan(t) => f.write_str(&format_timespan(*t)),
            Value::Guid(g) => write!(f, "{g}"),
            Value::Dynamic(d) => match &**d {
                serde_json::Value::String(s) => f.write_str(s),
                other => write!(f, "{other}"),
            },
        }
    }
}

/// Formats a real the way Kusto prints it (`NaN`, `Infinity`, `-Infinity`, shortest round-trip).
pub fn format_real(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{x}")
    }
}

/// Converts a chrono timestamp to ticks since the Unix epoch, saturating at the ends of `i64`
/// (chrono reaches years that `i64` ticks do not).
pub fn datetime_to_ticks(t: chrono::DateTime<chrono::Utc>) -> i64 {
    checked_ticks(t).unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// A chrono timestamp's ticks since the Unix epoch; None past the ends of `i64`.
pub fn checked_ticks(t: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    t.timestamp()
        .checked_mul(TICKS_PER_SECOND)?
        .checked_add(i64::from(t.timestamp_subsec_nanos() / 100))
}

/// Converts ticks since the Unix epoch to a chrono timestamp (None when out of range).
pub fn ticks_to_datetime(ticks: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    let secs = ticks.div_euclid(TICKS_PER_SECOND);
    let sub = ticks.rem_euclid(TICKS_PER_SECOND);
    chrono::DateTime::from_timestamp(secs, (sub * 100) as u32)
}

/// `2024-01-02T03:04:05.1234567Z`, fractional digits trimmed as Kusto does (none when zero).
pub fn format_datetime(ticks: i64) -> String {
    let Some(t) = ticks_to_datetime(ticks) else {
        return String::new();
    };
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = ticks.rem_euclid(TICKS_PER_SECOND);
    if frac == 0 {
        format!("{base}Z")
    } else {
        let digits = format!("{frac:07}");
        format!("{base}.{}Z", digits.trim_end_matches('0'))
    }
}

/// `[-][d.]hh:mm:ss[.fffffff]` as Kusto prints a timespan.
pub fn format_timespan(ticks: i64) -> String {
    let neg = ticks < 0;
    let t = ticks.unsigned_abs();
    let tps = TICKS_PER_SECOND as u64;
    let frac = t % tps;
    let total_secs = t / tps;
    let (days, h, m, s) = (
        total_secs / 86_400,
        (total_secs / 3600) % 24,
        (total_secs / 60) % 60,
        total_secs % 60,
    );
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if frac > 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out
}

pub(crate) fn null_of(ty: ScalarType) -> Value {
    // Kusto strings are never null: an absent string is empty.
    if ty == ScalarType::String {
        Value::str("")
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_formats_trim_fraction() {
        assert_eq!(format_datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_datetime(TICKS_PER_SECOND + 1_000_000),
            "1970-01-01T00:00:01.1Z"
        );
    }

    #[test]
    fn timespan_formats_days_and_sign() {
        assert_eq!(format_timespan(90 * TICKS_PER_SECOND), "00:01:30");
        assert_eq!(
            format_timespan(-(86_400 + 1) * TICKS_PER_SECOND),
            "-1.00:00:01"
        );
        assert_eq!(format_timespan(5_000_000), "00:00:00.5000000");
    }

    #[test]
    fn type_aliases_resolve() {
        assert_eq!(ScalarType::from_name("double"), Some(ScalarType::Real));
        assert_eq!(ScalarType::from_name("uniqueid"), Some(ScalarType::Guid));
        assert_eq!(ScalarType::from_name("nope"), None);
    }
}
