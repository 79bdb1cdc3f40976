//! Latency summaries: exact percentiles over recorded samples (runs are bounded, so this fits).

use std::time::Duration;

use serde::Serialize;

/// Latency samples in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
}

/// Percentiles of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Samples {
    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        self.micros
            .push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// Adds another set's samples to this one.
    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// Sorts and summarises; all zeros when empty.
    pub fn summary(&mut self) -> Summary {
        self.micros.sort_unstable();
        let v = &self.micros;
        let ms = |us: u64| us as f64 / 1000.0;
        let mean = if v.is_empty() {
            0.0
        } else {
            v.iter().map(|&u| u as f64).sum::<f64>() / v.len() as f64 / 1000.0
        };
        Summary {
            count: v.len(),
            p50_ms: ms(percentile(v, 50.0)),
            p90_ms: ms(percentile(v, 90.0)),
            p99_ms: ms(percentile(v, 99.0)),
            p999_ms: ms(percentile(v, 99.9)),
            max_ms: ms(v.last().copied().unwrap_or(0)),
            mean_ms: mean,
        }
    }
}

/// Nearest-rank percentile of sorted samples: the smallest value with at least `p`% of samples
/// at or below it. 0 for no samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    // p × n / 100 in that order, less a hair: 99.9 % of 1,000 is rank 999, not 1,000 from rounding.
    let rank = (p * sorted.len() as f64 / 100.0 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of a set of durations (the lower middle for an even count).
pub fn median(values: &mut [Duration]) -> Duration {
    values.sort_unstable();
    if values.is_empty() {
        return Duration::ZERO;
    }
    values[(values.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        let w: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&w, 99.9), 999);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[1, 2, 3], 50.0), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), 2);
    }

    #[test]
    fn summary_is_in_milliseconds_and_merges() {
        let mut a = Samples::default();
        a.record(Duration::from_micros(1500));
        let mut b = Samples::default();
        b.record(Duration::from_micros(500));
        b.record(Duration::from_millis(10));
        a.merge(b);
        let s = a.summary();
        assert_eq!(s.count, 3);
        assert_eq!(s.p50_ms, 1.5);
        assert_eq!(s.max_ms, 10.0);
        assert!((s.mean_ms - 4.0).abs() < 1e-9);
        assert_eq!(Samples::default().summary().p99_ms, 0.0);
    }

    #[test]
    fn median_picks_the_lower_middle() {
        let mut v = vec![
            Duration::from_millis(30),
            Duration::from_millis(10),
            Duration::from_millis(20),
        ];
        assert_eq!(median(&mut v), Duration::from_millis(20));
        let mut v = vec![Duration::from_millis(4), Duration::from_millis(2)];
        assert_eq!(median(&mut v), Duration::from_millis(2));
        assert_eq!(median(&mut []), Duration::ZERO);
    }
}
