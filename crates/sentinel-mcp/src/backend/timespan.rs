//! Query time windows as Log Analytics takes them: ISO 8601 durations (`PT1H`, `P7D`),
//! intervals (`start/end`, `start/duration`), plus KQL shorthand (`7d`, `12h`, `30m`).

use kql::value::{TICKS_PER_SECOND, datetime_to_ticks};

/// A half-open time window `[start, end)` in ticks since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: i64,
    pub end: i64,
}

/// A timespan that could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid timespan '{input}': {reason}; use an ISO 8601 duration (PT1H, P7D), an interval (2024-01-01T00:00:00Z/2024-01-02T00:00:00Z) or KQL shorthand (1h, 7d)"
)]
pub struct TimespanError {
    pub input: String,
    pub reason: &'static str,
}

impl TimeRange {
    /// Parses `text` relative to `now` (ticks).
    pub fn parse(text: &str, now: i64) -> Result<TimeRange, TimespanError> {
        let text = text.trim();
        let err = |reason| TimespanError {
            input: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        if let Some((a, b)) = text.split_once('/') {
            let start = parse_datetime(a)
                .ok_or_else(|| err("the interval's start is not an ISO 8601 datetime"))?;
            let end = match parse_datetime(b) {
                Some(end) => end,
                None => {
                    start
                        + parse_duration(b).ok_or_else(|| {
                            err("the interval's end is neither a datetime nor a duration")
                        })?
                }
            };
            if end <= start {
                return Err(err("the interval ends before it starts"));
            }
            return Ok(TimeRange { start, end });
        }
        let d = parse_duration(text).ok_or_else(|| err("it is not a duration"))?;
        if d <= 0 {
            return Err(err("the duration must be positive"));
        }
        Ok(TimeRange {
            start: now.saturating_sub(d),
            end: now.saturating_add(1),
        })
    }

    /// Length of the window in ticks.
    pub fn ticks(&self) -> i64 {
        self.end - self.start
    }
}

fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(datetime_to_ticks(t.with_timezone(&chrono::Utc)));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
        .ok()?;
    Some(datetime_to_ticks(naive.and_utc()))
}

/// Duration in ticks from ISO 8601 (`P1DT2H`, `PT30M`, `P2W`) or KQL shorthand (`1d`, `90m`, `1.5h`).
fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let upper = s.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix('P') {
        return parse_iso_duration(rest);
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => 86_400.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600.0,
        "m" | "min" | "minute" | "minutes" => 60.0,
        "s" | "sec" | "second" | "seconds" => 1.0,
        "ms" | "millisecond" | "milliseconds" => 0.001,
        _ => return None,
    };
    to_ticks(n * secs)
}

fn parse_iso_duration(rest: &str) -> Option<i64> {
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut secs = 0.0;
    let mut any = false;
    for (part, units) in [
        (
            date,
            &[
                ('Y', 365.0 * 86_400.0),
                ('M', 30.0 * 86_400.0),
                ('W', 7.0 * 86_400.0),
                ('D', 86_400.0),
            ][..],
        ),
        (
            time.unwrap_or(""),
            &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)][..],
        ),
    ] {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
            } else {
                let factor = units.iter().find(|(u, _)| *u == c)?.1;
                secs += num.parse::<f64>().ok()? * factor;
                num.clear();
                any = true;
            }
        }
        if !num.is_empty() {
            return None;
        }
    }
    if time == Some("") || !any {
        return None;
    }
    to_ticks(secs)
}

fn to_ticks(secs: f64) -> Option<i64> {
    let t = secs * TICKS_PER_SECOND as f64;
    (t.is_finite() && t.abs() < 9.0e18).then_some(t as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000 * TICKS_PER_SECOND;
    const HOUR: i64 = 3_600 * TICKS_PER_SECOND;

    #[test]
    fn iso_and_shorthand_durations_agree() {
        for (text, ticks) in [
            ("PT1H", HOUR),
            ("1h", HOUR),
            ("P1D", 24 * HOUR),
            ("7d", 168 * HOUR),
            ("P1DT12H", 36 * HOUR),
            ("90m", 90 * 60 * TICKS_PER_SECOND),
            ("P1W", 168 * HOUR),
        ] {
            let r = TimeRange::parse(text, NOW).unwrap();
            assert_eq!(r.start, NOW - ticks, "{text}");
        }
    }

    #[test]
    fn intervals_parse_and_reject_reversed() {
        let r = TimeRange::parse("2024-01-01T00:00:00Z/2024-01-02T00:00:00Z", NOW).unwrap();
        assert_eq!(r.ticks(), 24 * HOUR);
        let r = TimeRange::parse("2024-01-01/PT2H", NOW).unwrap();
        assert_eq!(r.ticks(), 2 * HOUR);
        assert!(
            TimeRange::parse("2024-01-02/2024-01-01", NOW)
                .unwrap_err()
                .reason
                .contains("before")
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        for bad in ["", "P", "PT", "soon", "5 parsecs", "-1d", "P1X", "0d"] {
            assert!(TimeRange::parse(bad, NOW).is_err(), "{bad}");
        }
    }
}
