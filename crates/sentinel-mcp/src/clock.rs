//! The one clock: every "now" in the server comes from here.

use kql::value::datetime_to_ticks;

/// Current time in ticks (100 ns) since the Unix epoch.
pub fn now_ticks() -> i64 {
    datetime_to_ticks(chrono::Utc::now())
}

/// Current time as ISO 8601 with `Z`.
pub fn now_iso() -> String {
    kql::value::format_datetime(now_ticks())
}

/// Current time in whole seconds since the Unix epoch (token lifetimes).
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
