//! The one clock: every wall-time "now" in the server comes from here. Components that decide
//! by wall time (token lifetimes, cached tokens, `Retry-After` dates, query windows) hold a
//! [`Clock`], so a test can build them with a [`ManualClock`] and move time instead of sleeping.
//! Timeouts and intervals stay on tokio's monotonic timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use kql::value::datetime_to_ticks;

/// Ticks (100 ns) in a second.
const TICKS_PER_SEC: i64 = 10_000_000;

/// Wall time: the system's, or a [`ManualClock`]'s that moves only when the test says.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Ticks since the Unix epoch, when set by hand.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in ticks (100 ns) since the Unix epoch.
    pub fn now_ticks(&self) -> i64 {
        match &self.manual {
            Some(ticks) => ticks.load(Ordering::Relaxed),
            None => datetime_to_ticks(chrono::Utc::now()),
        }
    }

    /// Now, in whole seconds since the Unix epoch (token lifetimes).
    pub fn now_secs(&self) -> i64 {
        self.now_ticks().div_euclid(TICKS_PER_SEC)
    }

    /// Now, as ISO 8601 with `Z`.
    pub fn now_iso(&self) -> String {
        kql::value::format_datetime(self.now_ticks())
    }

    /// Now, as a chrono time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let ticks = self.now_ticks();
        chrono::DateTime::from_timestamp(
            ticks.div_euclid(TICKS_PER_SEC),
            (ticks.rem_euclid(TICKS_PER_SEC) * 100) as u32,
        )
        .unwrap_or_default()
    }
}

/// A clock for tests: stopped at the time it was made until [`ManualClock::advance`] moves it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Stopped at the system's now.
    pub fn new() -> ManualClock {
        ManualClock(Arc::new(AtomicI64::new(Clock::system().now_ticks())))
    }

    /// The clock to give the components under test.
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(self.0.clone()),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let ticks = i64::try_from(by.as_nanos() / 100).unwrap_or(i64::MAX);
        self.0.fetch_add(ticks, Ordering::Relaxed);
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

/// The system's now in ticks, for code no component hands a clock to (the settings checks and
/// the one-shot commands' guard).
pub fn now_ticks() -> i64 {
    Clock::system().now_ticks()
}

/// The system's now as ISO 8601 with `Z`.
pub fn now_iso() -> String {
    Clock::system().now_iso()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_advanced() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let start = clock.now_secs();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(clock.now_secs(), start);
        manual.advance(Duration::from_secs(90));
        assert_eq!(clock.now_secs(), start + 90);
        assert_eq!(clock.now().timestamp(), start + 90);
        assert!((Clock::system().now_secs() - chrono::Utc::now().timestamp()).abs() <= 1);
    }
}
