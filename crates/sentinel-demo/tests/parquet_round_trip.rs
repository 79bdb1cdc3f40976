//! Every documented table, as the demo workspace fills it, survives kql's Parquet writer and
//! loader unchanged (kql's own unit test covers every type on a small table).
#![cfg(feature = "parquet")]

#[test]
fn every_demo_table_written_as_parquet_reads_back_as_the_same_table() {
    let now = 1_764_000_000 * kql::value::TICKS_PER_SECOND;
    let demo = sentinel_demo::workspace(3, 3_000, now);
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, table) in demo.iter() {
        kql::catalog::write_parquet(table, &dir.path().join(format!("{name}.parquet")))
            .expect("write");
    }
    let back = kql::catalog::load_dir(dir.path()).expect("load");
    assert_eq!(back.names().count(), demo.names().count());
    for (name, table) in demo.iter() {
        assert_eq!(back.get(name).map(|t| &**t), Some(&**table), "{name}");
    }
}
