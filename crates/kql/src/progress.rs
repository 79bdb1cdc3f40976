//! How far a running query has read: the rows both executors have read from catalog tables and
//! how many they will read in all, shared with a caller that watches from another thread (the
//! server's progress notifications). One relaxed atomic add per batch (DataFusion) or per table
//! (the row engine): cheap enough to keep on every query that asks for it.

use std::sync::atomic::{AtomicU64, Ordering};

/// No total known yet.
const UNKNOWN: u64 = u64::MAX;

/// Rows a query has read from catalog tables, out of the rows it is going to read.
#[derive(Debug)]
pub struct ScanProgress {
    read: AtomicU64,
    total: AtomicU64,
}

impl Default for ScanProgress {
    fn default() -> ScanProgress {
        ScanProgress::new()
    }
}

impl ScanProgress {
    /// Nothing read, no total known.
    pub fn new() -> ScanProgress {
        ScanProgress {
            read: AtomicU64::new(0),
            total: AtomicU64::new(UNKNOWN),
        }
    }

    /// Rows read from catalog tables so far.
    pub fn rows_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Rows the query reads from catalog tables in all (those read so far included), once an
    /// executor knows: DataFusion when it has planned, the row engine as it reads each table.
    pub fn rows_total(&self) -> Option<u64> {
        match self.total.load(Ordering::Relaxed) {
            UNKNOWN => None,
            total => Some(total),
        }
    }

    /// `rows` more were read.
    pub(crate) fn read(&self, rows: usize) {
        self.read.fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// `rows` more are going to be read (a table about to be scanned).
    pub(crate) fn will_read(&self, rows: usize) {
        let rows = rows as u64;
        let _ = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(match t {
                    UNKNOWN => rows,
                    t => t.saturating_add(rows).min(UNKNOWN - 1),
                })
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up() {
        let p = ScanProgress::new();
        assert_eq!((p.rows_read(), p.rows_total()), (0, None));
        p.will_read(0);
        assert_eq!(p.rows_total(), Some(0));
        p.will_read(10);
        p.will_read(5);
        p.read(8);
        p.read(7);
        assert_eq!((p.rows_read(), p.rows_total()), (15, Some(15)));
    }
}
