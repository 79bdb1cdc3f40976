//! Datetime and timespan text: the one parser of each that the language (`datetime()`,
//! `todatetime()`, comparisons of text with times), the file loaders and the server use.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::{TICKS_PER_SECOND, checked_ticks};

/// Parses a datetime string into ticks (used by `datetime()` and `todatetime()`).
pub fn parse_datetime_text(raw: &str) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime};
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return checked_ticks(t.with_timezone(&chrono::Utc));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc2822(raw) {
        return checked_ticks(t.with_timezone(&chrono::Utc));
    }
    // A trailing GMT or UTC (as RFC 822, RFC 850 and sortable forms may end) names UTC.
    let trimmed = raw
        .strip_suffix(" GMT")
        .or_else(|| raw.strip_suffix(" UTC"))
        .unwrap_or(raw)
        .trim_end_matches('Z')
        .trim_end_matches('z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M",
        // RFC 822 and RFC 850, with or without the weekday and seconds.
        "%a, %d %b %y %H:%M:%S",
        "%a, %d %b %y %H:%M",
        "%d %b %y %H:%M:%S",
        "%d %b %y %H:%M",
        "%A, %d-%b-%y %H:%M:%S",
        "%A, %d-%b-%y %H:%M",
        "%d-%b-%y %H:%M:%S",
        "%d-%b-%y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(trimmed, fmt) {
            return checked_ticks(t.and_utc());
        }
    }
    // `12-02-2022` is month first, as `todatetime`'s documented example compares it with the
    // `datetime('12-02-2022')` literal (and as `%m/%d/%Y`).
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m-%d-%Y", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(trimmed, fmt) {
            return d
                .and_hms_opt(0, 0, 0)
                .and_then(|t| checked_ticks(t.and_utc()));
        }
    }
    None
}

/// A datetime cell of a loaded file: ISO 8601 (`2024-05-01T12:00:00Z`, `2024-05-01 12:00:00.1234567`, `2024-05-01`, any offset),
/// and the Log Analytics portal's CSV export form (`5/1/2024, 12:00:00.000 PM`), as UTC ticks.
/// Stricter than [`parse_datetime_text`]: a column of text is inferred to be datetime when all its
/// cells parse, so forms such as `20141108` stay text.
pub(crate) fn parse_file_datetime(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit) {
        if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
            return checked_ticks(dt.with_timezone(&Utc));
        }
        let naive = t.trim_end_matches(['Z', 'z']);
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(naive, format) {
                return checked_ticks(Utc.from_utc_datetime(&dt));
            }
        }
        return NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|dt| checked_ticks(Utc.from_utc_datetime(&dt)));
    }
    if b.first().is_some_and(u8::is_ascii_digit) && t.contains('/') {
        for format in [
            "%m/%d/%Y, %I:%M:%S%.f %p",
            "%m/%d/%Y %I:%M:%S%.f %p",
            "%m/%d/%Y %H:%M:%S%.f",
        ] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
                return checked_ticks(Utc.from_utc_datetime(&dt));
            }
        }
    }
    None
}

/// Parses a timespan string into ticks (used by `timespan()` and `totimespan()`).
pub fn parse_timespan_text(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (neg, body) = match raw.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, raw),
    };
    let ticks = if body.contains(':') {
        let (days, rest) = match body.split_once('.') {
            Some((d, r)) if !d.contains(':') => (d.parse::<i64>().ok()?, r),
            _ => (0, body),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let (h, m, s) = match parts.as_slice() {
            [h, m] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, "0"),
            [h, m, s] => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?, *s),
            _ => return None,
        };
        let secs: f64 = s.parse().ok()?;
        // In i128: the text of the shortest timespan, -10675199.02:48:05.4775808, is 2^63 ticks
        // before its sign.
        (i128::from(days) * 86_400 + i128::from(h) * 3_600 + i128::from(m) * 60)
            * i128::from(TICKS_PER_SECOND)
            + (secs * TICKS_PER_SECOND as f64).round() as i128
    } else if let Ok(n) = body.parse::<f64>() {
        (n * 86_400.0 * TICKS_PER_SECOND as f64) as i128
    } else {
        let unit = body
            .trim()
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (n, unit) = body.trim().split_at(unit);
        (n.parse::<f64>().ok()? * timespan_unit(unit)?).round() as i128
    };
    i64::try_from(if neg { -ticks } else { ticks }).ok()
}

/// Ticks in one of a timespan unit (`1d`, `2h`, `100ms`, ...).
pub(crate) fn timespan_unit(unit: &str) -> Option<f64> {
    let tps = TICKS_PER_SECOND as f64;
    Some(match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => 86_400.0 * tps,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600.0 * tps,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0 * tps,
        "s" | "sec" | "secs" | "second" | "seconds" => tps,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => tps / 1_000.0,
        "microsecond" | "microseconds" => 10.0,
        "tick" | "ticks" => 1.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_text_takes_the_documented_rfc_822_850_and_sortable_forms() {
        let want = parse_datetime_text("2014-11-08T15:05:02Z");
        assert!(want.is_some());
        for text in [
            "Sat, 8 Nov 14 15:05:02 GMT",
            "Sat, 8 Nov 14 15:05:02",
            "8 Nov 14 15:05:02 GMT",
            "Saturday, 08-Nov-14 15:05:02 GMT",
            "08-Nov-14 15:05:02",
            "2014-11-08 15:05:02 GMT",
        ] {
            assert_eq!(parse_datetime_text(text), want, "{text}");
        }
    }

    #[test]
    fn datetime_text_takes_every_example_of_the_documented_formats() {
        // Kusto's "The datetime data type", Supported formats: ISO 8601, RFC 822, RFC 850 and
        // Sortable, each table's examples.
        let at = |s: &str| parse_datetime_text(s).unwrap_or_else(|| panic!("{s} parses"));
        let minute = at("2014-11-08T15:05:00Z");
        let second = at("2014-11-08T15:05:02Z");
        for text in [
            "Sat, 8 Nov 14 15:05:02 GMT",
            "Sat, 8 Nov 14 15:05:02",
            "8 Nov 14 15:05:02 GMT",
            "8 Nov 14 15:05:02",
            "Saturday, 08-Nov-14 15:05:02 GMT",
            "Saturday, 08-Nov-14 15:05:02",
            "08-Nov-14 15:05:02 GMT",
            "08-Nov-14 15:05:02",
            "2014-11-08 15:05:02 GMT",
            "2014-11-08T15:05:02",
            "2014-11-08T15:05:02 GMT",
        ] {
            assert_eq!(at(text), second, "{text}");
        }
        for text in [
            "Sat, 8 Nov 14 15:05",
            "Sat, 8 Nov 14 15:05 GMT",
            "8 Nov 14 15:05",
            "8 Nov 14 15:05 GMT",
            "Saturday, 08-Nov-14 15:05 GMT",
            "Saturday, 08-Nov-14 15:05",
            "08-Nov-14 15:05 GMT",
            "08-Nov-14 15:05",
            "2014-11-08 15:05",
            "2014-11-08 15:05 GMT",
            "2014-11-08T15:05",
            "2014-11-08T15:05 GMT",
        ] {
            assert_eq!(at(text), minute, "{text}");
        }
        for text in [
            "2014-05-25T08:20:03.123456Z",
            "2014-05-25T08:20:03.123456",
            "2014-05-25T08:20",
            "2014-11-08 15:55:55.123456Z",
            "2014-11-08 15:55:55",
            "2014-11-08 15:55",
            "2014-11-08",
        ] {
            at(text);
        }
        // todatetime's example: `todatetime('12-02-2022') == datetime('12-02-2022')`.
        assert_eq!(at("12-02-2022"), at("2022-12-02"));
        assert_eq!(at("01-01-2022"), at("2022-01-01"));
        assert_eq!(parse_datetime_text("31-12-2022"), None);
    }

    #[test]
    fn timespan_text_takes_clock_days_and_unit_forms() {
        assert_eq!(parse_timespan_text("1d"), Some(86_400 * TICKS_PER_SECOND));
        assert_eq!(
            parse_timespan_text("-1.5h"),
            Some(-5_400 * TICKS_PER_SECOND)
        );
        assert_eq!(parse_timespan_text("100ms"), Some(TICKS_PER_SECOND / 10));
        assert_eq!(
            parse_timespan_text("1.02:03:04"),
            Some(93_784 * TICKS_PER_SECOND)
        );
        assert_eq!(
            parse_timespan_text("2"),
            Some(2 * 86_400 * TICKS_PER_SECOND)
        );
        assert_eq!(parse_timespan_text("1 fortnight"), None);
    }

    /// The text of the shortest timespan is `i64::MIN` ticks; one tick further either way, or a
    /// day count past any timespan, is no timespan (it overflowed, a panic in a debug build).
    #[test]
    fn timespan_text_at_the_ends_of_i64_is_exact_or_refused() {
        assert_eq!(
            parse_timespan_text("-10675199.02:48:05.4775808"),
            Some(i64::MIN)
        );
        assert_eq!(
            parse_timespan_text("10675199.02:48:05.4775807"),
            Some(i64::MAX)
        );
        assert_eq!(parse_timespan_text("10675199.02:48:05.4775808"), None);
        assert_eq!(parse_timespan_text("9223372036854775807.00:00"), None);
    }
}
