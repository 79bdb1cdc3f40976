"""DuckDB's side of crates/kql/benches/engine.rs: the same queries as SQL over the same files.

Usage: bench_kql_duckdb.py <SigninLogs.parquet> <iters>; prints JSON (times, answers, each
query's peak memory, and the load of the in-memory table).
bench_kql_duckdb.py --peak <name> <SigninLogs.parquet>: loads the table, runs one query once and
prints how far it raised the resident set above the loaded table, MiB (the parent runs each query
so, in a fresh process, as the KQL bench does).

The Parquet file stores datetimes as Int64 ticks (100 ns since 1970) and dynamic values as JSON
text, as the KQL engine writes them, so the SQL works on those representations.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import duckdb

HOUR_TICKS = 36_000_000_000
DAY_TICKS = 24 * HOUR_TICKS
# make-series from datetime(2026-01-01) to datetime(2026-01-31) step 1h.
SERIES_FROM = 1_767_225_600 * 10_000_000
SERIES_BINS = 30 * 24

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
    # SigninLogs | where UserAgent has_any ("firefox", "python", "outlook") | summarize count() by AppDisplayName
    # (has_any: any of the whole terms, any case)
    "has_any": """
        SELECT AppDisplayName, count(*) AS count_ FROM {t}
        WHERE regexp_matches(UserAgent, '(^|[^[:alnum:]])(firefox|python|outlook)($|[^[:alnum:]])', 'i')
        GROUP BY ALL""",
    # SigninLogs | extend Version = extract(@"(Firefox|Chrome)/([0-9.]+)", 2, UserAgent) | summarize count() by Version
    # (no match: an empty string, in both)
    "extract": """
        SELECT regexp_extract(UserAgent, '(Firefox|Chrome)/([0-9.]+)', 2) AS Version, count(*) AS count_
        FROM {t} GROUP BY ALL""",
    # SigninLogs | parse UserAgent with Product "/" Version " " * | summarize count() by Product, Version
    # (Kusto's parse: anchored at the start, each column the shortest text before the next literal;
    # a row that does not match gets empty strings)
    "parse": """
        SELECT regexp_extract(UserAgent, '^(.*?)/(.*?) ', 1) AS Product,
               regexp_extract(UserAgent, '^(.*?)/(.*?) ', 2) AS Version, count(*) AS count_
        FROM {t} GROUP BY ALL""",
    # SigninLogs | summarize arg_max(TimeGenerated, IPAddress, Location) by UserPrincipalName
    "arg_max_by_user": """
        SELECT UserPrincipalName, max(TimeGenerated) AS TimeGenerated,
               arg_max(IPAddress, TimeGenerated) AS IPAddress, arg_max(Location, TimeGenerated) AS Location
        FROM {t} GROUP BY ALL""",
    # SigninLogs | where ResultType != "0" | top 100 by TimeGenerated desc
    "top_n": """
        SELECT * FROM {t} WHERE ResultType <> '0' ORDER BY TimeGenerated DESC LIMIT 100""",
    # SigninLogs | make-series count() default=0 on TimeGenerated
    #   from datetime(2026-01-01) to datetime(2026-01-31) step 1h by AppDisplayName
    # (every app's 720 hourly counts, zero where it has none, and the axis)
    "make_series": f"""
        WITH c AS (
          SELECT AppDisplayName, (TimeGenerated - {SERIES_FROM}) // {HOUR_TICKS} AS b, count(*) AS n
          FROM {{t}}
          WHERE TimeGenerated >= {SERIES_FROM} AND TimeGenerated < {SERIES_FROM + SERIES_BINS * HOUR_TICKS}
          GROUP BY ALL),
        grid AS (SELECT AppDisplayName, r.b FROM (SELECT DISTINCT AppDisplayName FROM c), range(0, {SERIES_BINS}) r(b))
        SELECT g.AppDisplayName, list(coalesce(c.n, 0) ORDER BY g.b) AS count_,
               list(strftime(make_timestamp(({SERIES_FROM} + g.b * {HOUR_TICKS}) // 10), '%Y-%m-%dT%H:%M:%S.0000000Z')
                    ORDER BY g.b) AS TimeGenerated
        FROM grid g LEFT JOIN c USING (AppDisplayName, b) GROUP BY g.AppDisplayName""",
    # SigninLogs | where ResultType != "0"
    #   | join kind=leftanti (SigninLogs | where ResultType == "0") on IPAddress | count
    "leftanti_join": """
        SELECT count(*) AS Count FROM (SELECT * FROM {t} WHERE ResultType <> '0') a
        ANTI JOIN (SELECT IPAddress FROM {t} WHERE ResultType = '0') b ON a.IPAddress = b.IPAddress""",
    # SigninLogs | summarize percentiles(RiskScore, 50, 95) by bin(TimeGenerated, 1d)
    # (ours: nearest rank, a value of the column; quantile_disc is DuckDB's nearest-rank form)
    "percentiles_by_bin": f"""
        SELECT (TimeGenerated // {DAY_TICKS}) * {DAY_TICKS} AS TimeGenerated,
               quantile_disc(RiskScore, 0.5) AS percentile_RiskScore_50,
               quantile_disc(RiskScore, 0.95) AS percentile_RiskScore_95
        FROM {{t}} GROUP BY ALL""",
    # SigninLogs | summarize dcount(IPAddress) by bin(TimeGenerated, 1d)  (exact distinct count)
    "dcount_high_card": f"""
        SELECT (TimeGenerated // {DAY_TICKS}) * {DAY_TICKS} AS TimeGenerated,
               count(DISTINCT IPAddress) AS dcount_IPAddress
        FROM {{t}} GROUP BY ALL""",
}


def cell_text(v):
    """A cell as the KQL bench writes its own (ticks as integers, reals with six decimals)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6f}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def answer(rows):
    """The rows as text, sorted, and their 64-bit FNV-1a digest (as the KQL bench's)."""
    text = sorted("|".join(cell_text(c) for c in r) for r in rows)
    h = 0xCBF29CE484222325
    for b in "\n".join(text).encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return text, f"{h:016x}"


def status_mib(field):
    """A /proc/self/status field (VmRSS, VmHWM) in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def load(path):
    """An in-memory DuckDB table of the files, with its load time and resident growth."""
    before = status_mib("VmRSS")
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"CREATE TABLE SigninLogs AS SELECT * FROM read_parquet('{path}')")
    seconds = time.perf_counter() - t
    try:
        table_mib = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0] / 1048576
    except duckdb.Error:
        table_mib = None
    return con, {"seconds": round(seconds, 3), "resident_mib": round(status_mib("VmRSS") - before, 1),
                 "table_mib": None if table_mib is None else round(table_mib, 1)}


def peak(name, path):
    """How far one run of `name` over the in-memory table raises the resident set, MiB."""
    con, _ = load(path)
    # Reset VmHWM to the resident set now (Linux's clear_refs), so the load's peak is not counted.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status_mib("VmRSS")
    con.execute(QUERIES[name].format(t="SigninLogs")).fetchall()
    return status_mib("VmHWM") - base


def peak_in_child(name, path):
    out = subprocess.run([sys.executable, __file__, "--peak", name, path], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"{name}: peak run failed: {out.stderr}", file=sys.stderr)
        return None
    return round(float(out.stdout.strip()), 1)


def timed(con, sql, iters):
    rows = con.execute(sql).fetchall()  # warm-up
    times = []
    for _ in range(max(iters, 1)):
        t = time.perf_counter()
        rows = con.execute(sql).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    return min(times), statistics.median(times), rows


def main():
    if sys.argv[1] == "--peak":
        print(peak(sys.argv[2], sys.argv[3]))
        return
    path, iters = sys.argv[1], int(sys.argv[2])
    only = set(os.environ.get("BENCH_ONLY", "").split()) - {""}
    con, loaded = load(path)
    out = {"version": duckdb.__version__, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
           "load": loaded, "queries": {}}
    for name, sql in QUERIES.items():
        if only and name not in only:
            continue
        pmin, pmed, rows = timed(con, sql.format(t=f"read_parquet('{path}')"), iters)
        mmin, mmed, _ = timed(con, sql.format(t="SigninLogs"), iters)
        text, digest = answer(rows)
        out["queries"][name] = {
            "parquet_min_ms": round(pmin, 2), "parquet_median_ms": round(pmed, 2),
            "memory_min_ms": round(mmin, 2), "memory_median_ms": round(mmed, 2),
            "memory_peak_mib": peak_in_child(name, path),
            "rows": len(rows), "first": text[0] if text else None, "digest": digest,
        }
        print(f"duckdb {name:18} memory median {mmed:9.2f} ms", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
