"""DuckDB's side of crates/kql/benches/engine.rs: the same five queries as SQL over the same file.

Usage: bench_kql_duckdb.py <SigninLogs.parquet> <iters>; prints JSON. The Parquet file stores
datetimes as Int64 ticks (100 ns since 1970) and dynamic values as JSON text, as the KQL engine
writes them, so the SQL works on those representations.
"""
import json
import statistics
import sys
import time

import duckdb

HOUR_TICKS = 36_000_000_000

QUERIES = {
    # SigninLogs | where ResultType != "0" | summarize count() by bin(TimeGenerated, 1h), ResultType
    "filter_bin_count": f"""
        SELECT (TimeGenerated // {HOUR_TICKS}) * {HOUR_TICKS} AS TimeGenerated, ResultType, count(*) AS count_
        FROM {{t}} WHERE ResultType <> '0' GROUP BY ALL""",
    # SigninLogs | summarize dcount(UserPrincipalName) by AppDisplayName  (exact distinct count)
    "dcount_by_app": """
        SELECT AppDisplayName, count(DISTINCT UserPrincipalName) AS dcount_UserPrincipalName
        FROM {t} GROUP BY ALL""",
    # SigninLogs | where UserAgent has "Firefox" | count  (has = whole term, any case)
    "has_term": """
        SELECT count(*) AS Count FROM {t}
        WHERE regexp_matches(UserAgent, '(^|[^[:alnum:]])firefox($|[^[:alnum:]])', 'i')""",
    # failures by user joined to distinct apps by user, counted
    "join_aggregates": """
        SELECT count(*) AS Count FROM
          (SELECT UserPrincipalName, count(*) AS failures FROM {t} WHERE ResultType <> '0' GROUP BY ALL) f
          JOIN (SELECT UserPrincipalName, count(DISTINCT AppDisplayName) AS apps FROM {t} GROUP BY ALL) a
          USING (UserPrincipalName)""",
    # SigninLogs | mv-expand Method = AuthenticationMethodsUsed to typeof(string) | summarize count() by Method
    "mv_expand": """
        SELECT Method, count(*) AS count_ FROM
          (SELECT unnest(from_json(AuthenticationMethodsUsed, '["VARCHAR"]')) AS Method FROM {t})
        GROUP BY ALL""",
}


def timed(con, sql, iters):
    rows = con.execute(sql).fetchall()  # warm-up
    times = []
    for _ in range(max(iters, 1)):
        t = time.perf_counter()
        rows = con.execute(sql).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    return min(times), statistics.median(times), rows


def main():
    path, iters = sys.argv[1], int(sys.argv[2])
    con = duckdb.connect()
    con.execute(f"CREATE TABLE SigninLogs AS SELECT * FROM read_parquet('{path}')")
    out = {"version": duckdb.__version__, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0], "queries": {}}
    for name, sql in QUERIES.items():
        pmin, pmed, rows = timed(con, sql.format(t=f"read_parquet('{path}')"), iters)
        mmin, mmed, _ = timed(con, sql.format(t="SigninLogs"), iters)
        out["queries"][name] = {
            "parquet_min_ms": round(pmin, 2), "parquet_median_ms": round(pmed, 2),
            "memory_min_ms": round(mmin, 2), "memory_median_ms": round(mmed, 2),
            "rows": len(rows), "first": repr(rows[0]) if rows else None,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
