//! Dates and times: parts, arithmetic, formatting, construction.

use super::*;
use chrono::NaiveDateTime;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed("startofday", T::DateTime, |args, _| {
        period_edge(args, Period::Day, false)
    }),
    fixed("startofweek", T::DateTime, |args, _| {
        period_edge(args, Period::Week, false)
    }),
    fixed("startofmonth", T::DateTime, |args, _| {
        period_edge(args, Period::Month, false)
    }),
    fixed("startofyear", T::DateTime, |args, _| {
        period_edge(args, Period::Year, false)
    }),
    fixed("endofday", T::DateTime, |args, _| {
        period_edge(args, Period::Day, true)
    }),
    fixed("endofweek", T::DateTime, |args, _| {
        period_edge(args, Period::Week, true)
    }),
    fixed("endofmonth", T::DateTime, |args, _| {
        period_edge(args, Period::Month, true)
    }),
    fixed("endofyear", T::DateTime, |args, _| {
        period_edge(args, Period::Year, true)
    }),
    fixed("datetime_diff", T::Long, |args, result| {
        match (dt(args, 1), dt(args, 2)) {
            (Some(a), Some(b)) => {
                // A real for 'week' (the binder's type), a long otherwise.
                datetime_diff(&text(args, 0), a, b)
                    .map_or(Value::Null, |n| coerce(Value::Long(n), result))
            }
            _ => Value::Null,
        }
    }),
    fixed("datetime_add", T::DateTime, |args, _| {
        match (as_i64(&arg(args, 1)), dt(args, 2)) {
            (Some(n), Some(t)) => {
                datetime_add(&text(args, 0), n, t).map_or(Value::Null, Value::DateTime)
            }
            _ => Value::Null,
        }
    }),
    fixed("datetime_part", T::Long, |args, _| match dt(args, 1) {
        Some(t) => Value::Long(match text(args, 0).to_ascii_lowercase().as_str() {
            "year" => i64::from(t.year()),
            "quarter" => i64::from(t.month0() / 3 + 1),
            "month" => i64::from(t.month()),
            "week_of_year" | "weekofyear" => i64::from(t.iso_week().week()),
            "day" => i64::from(t.day()),
            "dayofyear" => i64::from(t.ordinal()),
            "hour" => i64::from(t.hour()),
            "minute" => i64::from(t.minute()),
            "second" => i64::from(t.second()),
            "millisecond" => i64::from(t.timestamp_subsec_millis()),
            "microsecond" => i64::from(t.timestamp_subsec_micros()),
            "nanosecond" => i64::from(t.timestamp_subsec_nanos()),
            _ => return Value::Null,
        }),
        None => Value::Null,
    }),
    fixed("format_datetime", T::String, |args, _| {
        match coerce(arg(args, 0), ScalarType::DateTime) {
            Value::DateTime(ticks) => ticks_to_datetime(ticks).map_or(Value::Null, |t| {
                Value::str(Fields::of_datetime(t, ticks).format(&text(args, 1)))
            }),
            _ => Value::Null,
        }
    }),
    fixed("format_timespan", T::String, |args, _| {
        match coerce(arg(args, 0), ScalarType::TimeSpan) {
            Value::TimeSpan(t) if args.len() >= 2 => {
                let sign = if t < 0 { "-" } else { "" };
                Value::str(format!(
                    "{sign}{}",
                    Fields::of_timespan(t).format(&text(args, 1))
                ))
            }
            Value::TimeSpan(t) => Value::str(crate::value::format_timespan(t)),
            _ => Value::Null,
        }
    }),
    fixed("hourofday", T::Long, |args, result| {
        date_part(args, result, |t| t.hour())
    }),
    fixed("dayofmonth", T::Long, |args, result| {
        date_part(args, result, |t| t.day())
    }),
    fixed("dayofyear", T::Long, |args, result| {
        date_part(args, result, |t| t.ordinal())
    }),
    Function::new(
        "getmonth",
        &["monthofyear"],
        Returns::Fixed(T::Long),
        |args, result| date_part(args, result, |t| t.month()),
    ),
    fixed("getyear", T::Long, |args, result| {
        date_part(args, result, |t| t.year() as u32)
    }),
    Function::new(
        "week_of_year",
        &["weekofyear"],
        Returns::Fixed(T::Long),
        |args, result| date_part(args, result, |t| t.iso_week().week()),
    ),
    fixed("dayofweek", T::TimeSpan, |args, _| match dt(args, 0) {
        Some(t) => Value::TimeSpan(i64::from(t.weekday().num_days_from_sunday()) * DAY),
        None => Value::Null,
    }),
    fixed("make_datetime", T::DateTime, |args, _| {
        make_datetime(args).map_or(Value::Null, Value::DateTime)
    }),
    fixed("make_timespan", T::TimeSpan, |args, _| {
        // In floating point: huge parts saturate to the timespan's range, not overflow.
        let n = |i: usize| as_i64(&arg(args, i)).unwrap_or(0) as f64;
        let secs = if args.len() >= 4 {
            n(0) * 86_400.0 + n(1) * 3600.0 + n(2) * 60.0 + as_f64(&arg(args, 3)).unwrap_or(0.0)
        } else {
            n(0) * 3600.0 + n(1) * 60.0 + as_f64(&arg(args, 2)).unwrap_or(0.0)
        };
        Value::TimeSpan((secs * TICKS_PER_SECOND as f64).round() as i64)
    }),
    fixed("unixtime_seconds_todatetime", T::DateTime, |args, _| {
        from_unixtime(args, TICKS_PER_SECOND as f64)
    }),
    fixed(
        "unixtime_milliseconds_todatetime",
        T::DateTime,
        |args, _| from_unixtime(args, 10_000.0),
    ),
    fixed(
        "unixtime_microseconds_todatetime",
        T::DateTime,
        |args, _| from_unixtime(args, 10.0),
    ),
    fixed("unixtime_nanoseconds_todatetime", T::DateTime, |args, _| {
        from_unixtime(args, 0.01)
    }),
    fixed("datetime_utc_to_local", T::DateTime, |args, _| {
        match (
            coerce(arg(args, 0), ScalarType::DateTime),
            zone(&text(args, 1)),
        ) {
            (Value::DateTime(ticks), Some(tz)) => ticks_to_datetime(ticks)
                .and_then(|t| ticks.checked_add(utc_offset(tz, t.naive_utc())))
                .map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        }
    }),
    fixed("datetime_local_to_utc", T::DateTime, |args, _| {
        match (
            coerce(arg(args, 0), ScalarType::DateTime),
            zone(&text(args, 1)),
        ) {
            (Value::DateTime(ticks), Some(tz)) => ticks_to_datetime(ticks)
                .and_then(|t| ticks.checked_sub(local_offset(tz, t.naive_utc())))
                .map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        }
    }),
    fixed("datetime_list_timezones", T::Dynamic, |_, _| {
        let mut names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        names.sort_unstable();
        Value::dynamic(J::Array(
            names.into_iter().map(|n| J::String(n.into())).collect(),
        ))
    }),
];

/// The IANA time zone called `name` (`Europe/Paris`, `US/Pacific`: the names
/// `datetime_list_timezones()` lists, spelled as it spells them).
fn zone(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok()
}

/// `tz`'s offset from UTC at the instant `utc`, in ticks.
fn utc_offset(tz: chrono_tz::Tz, utc: NaiveDateTime) -> i64 {
    use chrono::{Offset, TimeZone};
    i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()) * TICKS_PER_SECOND
}

/// `tz`'s offset from UTC at the wall-clock time `local`, in ticks. A time the clocks skipped
/// (a gap) or show twice (an overlap) takes the offset in force after the change, as Kusto
/// does: 02:00 on the night Brussels moves to summer time is 00:00 UTC.
fn local_offset(tz: chrono_tz::Tz, local: NaiveDateTime) -> i64 {
    use chrono::{LocalResult, Offset, TimeZone};
    match tz.offset_from_local_datetime(&local) {
        LocalResult::Single(o) | LocalResult::Ambiguous(_, o) => {
            i64::from(o.fix().local_minus_utc()) * TICKS_PER_SECOND
        }
        LocalResult::None => {
            // The offset a day before is the one before the gap; a gap's time read with it
            // is an instant after the change, whose offset is the one after.
            let day_before = local.checked_sub_signed(Duration::days(1)).unwrap_or(local);
            let before = utc_offset(tz, day_before) / TICKS_PER_SECOND;
            let after = local
                .checked_sub_signed(Duration::seconds(before))
                .unwrap_or(local);
            utc_offset(tz, after)
        }
    }
}

/// A calendar period `startof*`/`endof*` round to.
#[derive(Clone, Copy)]
enum Period {
    Day,
    Week,
    Month,
    Year,
}

/// `startof<period>(t[, offset])`, or `endof<period>` (`end`): the first (last) tick of the
/// period `offset` periods after the one `t` is in.
fn period_edge(args: &[Value], period: Period, end: bool) -> Value {
    let Some(t) = dt(args, 0) else {
        return Value::Null;
    };
    let offset = as_i64(&arg(args, 1)).unwrap_or(0);
    let date = t.date_naive();
    let start = match period {
        // `try_`: an offset past chrono's range is no date (`Duration::days` would panic).
        Period::Day => Duration::try_days(offset).and_then(|o| date.checked_add_signed(o)),
        Period::Week => date
            .checked_sub_signed(Duration::days(i64::from(
                date.weekday().num_days_from_sunday(),
            )))
            .zip(Duration::try_weeks(offset))
            .and_then(|(d, o)| d.checked_add_signed(o)),
        Period::Month => date.with_day(1).and_then(|d| {
            let m = Months::new(u32::try_from(offset.unsigned_abs()).ok()?);
            if offset >= 0 {
                d.checked_add_months(m)
            } else {
                d.checked_sub_months(m)
            }
        }),
        Period::Year => i32::try_from(offset)
            .ok()
            .and_then(|o| date.year().checked_add(o))
            .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1)),
    };
    if !end {
        date_ticks(start)
    } else {
        let next = start.and_then(|d| match period {
            Period::Day => d.checked_add_signed(Duration::days(1)),
            Period::Week => d.checked_add_signed(Duration::weeks(1)),
            Period::Month => d.checked_add_months(Months::new(1)),
            Period::Year => d.with_year(d.year() + 1),
        });
        match date_ticks(next) {
            Value::DateTime(x) => Value::DateTime(x - 1),
            other => other,
        }
    }
}

/// A part of the date (`hourofday`, `getyear`, …), as the result type.
fn date_part(
    args: &[Value],
    result: ScalarType,
    part: fn(&chrono::DateTime<chrono::Utc>) -> u32,
) -> Value {
    match dt(args, 0) {
        Some(t) => coerce(Value::Long(i64::from(part(&t))), result),
        None => Value::Null,
    }
}

/// A datetime from a count of units since 1970 (`per_tick`: ticks per unit).
fn from_unixtime(args: &[Value], per_tick: f64) -> Value {
    as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::DateTime((x * per_tick) as i64))
}

/// `make_datetime(year, month, day[, hour, minute, second])` in ticks; None for a part out of
/// its range (not truncated into it) or a time past the ends of `i64`.
fn make_datetime(args: &[Value]) -> Option<i64> {
    let n = |i: usize| as_i64(&arg(args, i)).unwrap_or(0);
    let part = |i: usize| u32::try_from(n(i)).ok();
    let date = NaiveDate::from_ymd_opt(i32::try_from(n(0)).ok()?, part(1)?, part(2)?)?;
    let t = date.and_hms_opt(part(3)?, part(4)?, 0)?;
    let secs = as_f64(&arg(args, 5)).unwrap_or(0.0);
    checked_ticks(t.and_utc())?.checked_add((secs * TICKS_PER_SECOND as f64) as i64)
}

pub(super) fn date_ticks(d: Option<NaiveDate>) -> Value {
    d.and_then(|d| checked_ticks(d.and_hms_opt(0, 0, 0)?.and_utc()))
        .map_or(Value::Null, Value::DateTime)
}

pub(super) fn add_months(
    t: chrono::DateTime<chrono::Utc>,
    months: i64,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months >= 0 {
        t.checked_add_months(m)
    } else {
        t.checked_sub_months(m)
    }
}

/// The fields a Kusto/.NET format string (`yyyy-MM-dd HH:mm:ss.fff`) can show, from a datetime or
/// a timespan.
pub(super) struct Fields {
    year: i32,
    month: u32,
    /// Day of month, or whole days of a timespan.
    day: i64,
    hour: u32,
    minute: u32,
    second: u32,
    /// Ticks below the second.
    frac: i64,
    /// A timespan: `d` pads days to the letter count and `h` is the hour of the day.
    timespan: bool,
}

impl Fields {
    fn of_datetime(t: chrono::DateTime<chrono::Utc>, ticks: i64) -> Fields {
        Fields {
            year: t.year(),
            month: t.month(),
            day: i64::from(t.day()),
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
            frac: ticks.rem_euclid(TICKS_PER_SECOND),
            timespan: false,
        }
    }

    fn of_timespan(ticks: i64) -> Fields {
        let t = ticks.unsigned_abs();
        let secs = t / TICKS_PER_SECOND as u64;
        Fields {
            year: 0,
            month: 0,
            day: (secs / 86_400) as i64,
            hour: ((secs / 3600) % 24) as u32,
            minute: ((secs / 60) % 60) as u32,
            second: (secs % 60) as u32,
            frac: (t % TICKS_PER_SECOND as u64) as i64,
            timespan: true,
        }
    }

    /// Formats the fields: runs of a letter are one specifier (`yyyy`, `MM`, `fff`), `F` digits
    /// drop trailing zeros, anything else is copied.
    fn format(&self, fmt: &str) -> String {
        let chars: Vec<char> = fmt.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        // Zero-padded to n digits (by hand: a format width must fit in 16 bits, and a run
        // of letters in the format can be longer).
        let pad = |v: i64, n: usize| {
            let digits = v.unsigned_abs().to_string();
            let sign = if v < 0 { "-" } else { "" };
            let zeros = n.saturating_sub(digits.len() + sign.len());
            format!("{sign}{}{digits}", "0".repeat(zeros))
        };
        while i < chars.len() {
            let c = chars[i];
            let mut n = 1;
            while i + n < chars.len() && chars[i + n] == c {
                n += 1;
            }
            let two = n.min(2);
            match c {
                'y' if n <= 2 => out.push_str(&pad(i64::from(self.year % 100), 2)),
                'y' => out.push_str(&pad(i64::from(self.year), 4)),
                'M' => out.push_str(&pad(i64::from(self.month), two)),
                'd' if self.timespan => out.push_str(&pad(self.day, n)),
                'd' => out.push_str(&pad(self.day, two)),
                'H' => out.push_str(&pad(i64::from(self.hour), two)),
                'h' if self.timespan => out.push_str(&pad(i64::from(self.hour), two)),
                'h' => {
                    let h = if self.hour.is_multiple_of(12) {
                        12
                    } else {
                        self.hour % 12
                    };
                    out.push_str(&pad(i64::from(h), two))
                }
                'm' => out.push_str(&pad(i64::from(self.minute), two)),
                's' => out.push_str(&pad(i64::from(self.second), two)),
                'f' | 'F' => {
                    let digits = format!("{:07}", self.frac);
                    let shown = digits.get(..n.min(7)).unwrap_or("");
                    out.push_str(if c == 'F' {
                        shown.trim_end_matches('0')
                    } else {
                        shown
                    });
                }
                't' => out.push_str(if self.hour < 12 { "AM" } else { "PM" }),
                other => out.extend(std::iter::repeat_n(other, n)),
            }
            i += n;
        }
        out
    }
}

pub(super) fn datetime_diff(
    part: &str,
    a: chrono::DateTime<chrono::Utc>,
    b: chrono::DateTime<chrono::Utc>,
) -> Option<i64> {
    let (ta, tb) = (datetime_to_ticks(a), datetime_to_ticks(b));
    let trunc = |t: i64, unit: i64| t.div_euclid(unit);
    Some(match part.to_ascii_lowercase().as_str() {
        "year" => i64::from(a.year() - b.year()),
        "quarter" => {
            i64::from(a.year() - b.year()) * 4
                + (i64::from(a.month0()) / 3 - i64::from(b.month0()) / 3)
        }
        "month" => {
            i64::from(a.year() - b.year()) * 12 + i64::from(a.month0()) - i64::from(b.month0())
        }
        "week" => {
            let sw = |t: i64| (t.div_euclid(DAY) + 4).div_euclid(7);
            sw(ta) - sw(tb)
        }
        "day" => trunc(ta, DAY) - trunc(tb, DAY),
        "hour" => trunc(ta, 3600 * TICKS_PER_SECOND) - trunc(tb, 3600 * TICKS_PER_SECOND),
        "minute" => trunc(ta, 60 * TICKS_PER_SECOND) - trunc(tb, 60 * TICKS_PER_SECOND),
        "second" => trunc(ta, TICKS_PER_SECOND) - trunc(tb, TICKS_PER_SECOND),
        "millisecond" => trunc(ta, 10_000) - trunc(tb, 10_000),
        "microsecond" => trunc(ta, 10) - trunc(tb, 10),
        "nanosecond" => ta.checked_sub(tb)?.checked_mul(100)?,
        _ => return None,
    })
}

pub(super) fn datetime_add(part: &str, n: i64, t: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let ticks = datetime_to_ticks(t);
    let unit = match part.to_ascii_lowercase().as_str() {
        "year" => return add_months(t, n.checked_mul(12)?).and_then(checked_ticks),
        "quarter" => return add_months(t, n.checked_mul(3)?).and_then(checked_ticks),
        "month" => return add_months(t, n).and_then(checked_ticks),
        "week" => 7 * DAY,
        "day" => DAY,
        "hour" => 3600 * TICKS_PER_SECOND,
        "minute" => 60 * TICKS_PER_SECOND,
        "second" => TICKS_PER_SECOND,
        "millisecond" => 10_000,
        "microsecond" => 10,
        _ => return None,
    };
    ticks.checked_add(n.checked_mul(unit)?)
}
