//! `dcount`/`dcountif` of a column whose values are equal exactly when their bytes are (text,
//! whole numbers, datetimes, timespans, bools, guids) as one DataFusion aggregate that keeps, for
//! each group, the set of its values' 64-bit hashes.
//!
//! DataFusion's `count(distinct …)` under a `by` is planned as a grouping by the key and the
//! value together: every row compares its value's bytes with the group's, and a text key and a
//! text value are hashed and compared as a pair. Here the grouping is by the key alone, and each
//! value is hashed once (DataFusion's vectorised `create_hashes`) into its group's set of
//! hashes: no value is copied or compared. Two distinct values count once only if their hashes
//! collide; over n distinct values that happens with a chance below n² / 2⁶⁵ (10⁻¹² for a
//! million values), far inside the error Kusto's own `dcount` estimate allows. The hash is
//! seeded at random for each query, so crafted values cannot be made to collide on purpose.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow_array::types::UInt64Type;
use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array};
use arrow_schema::{DataType, Field, FieldRef};
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr as DfExpr, GroupsAccumulator,
    Signature, Volatility,
};

use crate::exec::datafusion::arg_best::OneGroup;
use crate::value::ScalarType;

use super::group_lists::{each_list, each_row, list_state_methods, lists, rows_as_lists};

/// Whether values of type `t` are equal exactly when their stored bytes are, so that hashing
/// them counts them as `dcount` does. Reals are not (0.0 and -0.0, the NaNs), nor dynamic values.
pub(super) fn hashable(t: ScalarType) -> bool {
    matches!(
        t,
        ScalarType::String
            | ScalarType::Long
            | ScalarType::Int
            | ScalarType::DateTime
            | ScalarType::TimeSpan
            | ScalarType::Bool
            | ScalarType::Guid
    )
}

/// The distinct count of `x`'s non-null values (of a [`hashable`] type) in each group.
pub(super) fn distinct_hashes(x: DfExpr) -> DfExpr {
    let udaf = DistinctHashes {
        seed: rand::random(),
        signature: Signature::any(1, Volatility::Immutable),
    };
    AggregateUDF::new_from_impl(udaf).call(vec![x])
}

#[derive(Debug)]
struct DistinctHashes {
    /// The hash's seed, this query's own; the partial and final aggregates share it.
    seed: u64,
    signature: Signature,
}

// Any two count alike: one may stand for the other.
impl PartialEq for DistinctHashes {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for DistinctHashes {}
impl std::hash::Hash for DistinctHashes {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl DistinctHashes {
    fn sets(&self) -> HashSets {
        HashSets {
            state: RandomState::with_seed(self.seed),
            groups: Vec::new(),
            held: 0,
            hashes: Vec::new(),
        }
    }
}

impl AggregateUDFImpl for DistinctHashes {
    fn name(&self) -> &str {
        "kql_dcount"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }
    fn is_nullable(&self) -> bool {
        false
    }
    list_state_methods!(Self::sets, UInt64Type, "hashes");
}

/// A hasher for values that are hashes already: it keeps the one `u64` it is given.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Hashes = HashSet<u64, BuildHasherDefault<AlreadyHashed>>;

/// Each group's set of value hashes.
struct HashSets {
    state: RandomState,
    groups: Vec<Hashes>,
    /// The bytes the groups' sets hold (their capacities, a hash and a control byte a slot).
    held: usize,
    /// The hashes of the batch being folded, kept to reuse the allocation.
    hashes: Vec<u64>,
}

/// The bytes a set of `capacity` holds.
fn set_bytes(capacity: usize) -> usize {
    capacity * (std::mem::size_of::<u64>() + 1)
}

impl HashSets {
    fn insert(&mut self, group: usize, hash: u64) {
        let set = &mut self.groups[group];
        let before = set.capacity();
        // The set may grow even when the hash is in it already (it makes room first).
        set.insert(hash);
        self.held += set_bytes(set.capacity() - before);
    }

    /// The hashes of `a`'s rows, in `self.hashes`.
    fn hash(&mut self, a: &ArrayRef) -> DfResult<()> {
        self.hashes.clear();
        self.hashes.resize(a.len(), 0);
        create_hashes([a], &self.state, &mut self.hashes)?;
        Ok(())
    }

    /// The groups `emit_to` hands over, taken out of the accumulator.
    fn take(&mut self, emit_to: EmitTo) -> Vec<Hashes> {
        let taken = emit_to.take_needed(&mut self.groups);
        let freed: usize = taken.iter().map(|s| set_bytes(s.capacity())).sum();
        self.held -= freed;
        taken
    }
}

impl GroupsAccumulator for HashSets {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> DfResult<()> {
        let Some(a) = values.first() else {
            return exec_err!("dcount needs a value");
        };
        self.groups.resize_with(total, Hashes::default);
        self.hash(a)?;
        let hashes = std::mem::take(&mut self.hashes);
        each_row(a, groups, filter, &hashes, |g, h| self.insert(g, h));
        self.hashes = hashes;
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef], groups: &[usize], total: usize) -> DfResult<()> {
        self.groups.resize_with(total, Hashes::default);
        for (g, hashes) in each_list::<UInt64Type>(states, groups)? {
            for &h in hashes {
                self.insert(g, h);
            }
        }
        Ok(())
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        Ok(vec![lists::<UInt64Type, _>(
            self.take(emit_to),
            HashSet::len,
        )?])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let counts: Int64Array = self
            .take(emit_to)
            .iter()
            .map(|set| set.len() as i64)
            .collect::<Vec<_>>()
            .into();
        Ok(Arc::new(counts))
    }

    /// Each row as a group's state of its own: a list of its value's hash, empty when it is
    /// null or the filter leaves it out.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let Some(a) = values.first() else {
            return exec_err!("dcount needs a value");
        };
        let mut hashes = vec![0; a.len()];
        create_hashes([a], &self.state, &mut hashes)?;
        Ok(vec![rows_as_lists::<UInt64Type>(a, filter, |r| hashes[r])?])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<Hashes>()
            + self.hashes.capacity() * std::mem::size_of::<u64>()
            + self.held
    }
}
