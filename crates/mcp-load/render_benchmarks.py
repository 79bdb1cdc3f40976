#!/usr/bin/env python3
"""Renders BENCHMARKS.md from scripts/bench.sh's results (target/bench/results.jsonl).

Tables are regenerated on every run; the hand-written analysis between
`<!-- notes:begin -->` and `<!-- notes:end -->` in the existing file is kept.
Usage: render_benchmarks.py BENCHMARKS.md   (machine facts come from the environment)
"""
import collections
import datetime
import json
import os
import re
import sys

out_path = sys.argv[1]
env = os.environ
rows = [json.loads(l) for l in open(env["RESULTS"]) if l.strip()]
R = {(r["server"], r["label"]): r for r in rows}
NAMES = {"ours": "sentinel-mcp", "peer": "Python peer", "rmcp": "stock rmcp", "bare": "bare hyper"}


def res(server, label):
    r = R.get((server, label))
    if not r or r["result"].get("failed"):
        return None
    return r["result"]


def get(server, label, *path):
    v = res(server, label)
    for p in path:
        if v is None:
            return None
        v = v.get(p)
    return v


def num(v, digits=0):
    if v is None:
        return "—"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ratio(ours, other, higher_is_better=True):
    if not ours or not other:
        return "—"
    if higher_is_better:
        x = ours / other
        return f"{x:,.1f}× more" if x >= 1 else f"{x:,.2f}× ({1 / x:,.1f}× less)"
    x = other / ours
    return f"{x:,.1f}× less" if x >= 1 else f"{1 / x:,.1f}× more"


def pct_of(ours, bare):
    if not ours or not bare:
        return "—"
    return f"{100 * ours / bare:,.0f} %"


def per_cpu_sec(server, label, key):
    """Work done per second of the server's own CPU time: robust to a busy machine."""
    r = R.get((server, label))
    if not r or r["result"].get("failed") or not r.get("server_cpu_secs"):
        return None
    n = r["result"].get(key)
    return n / r["server_cpu_secs"] if n else None


def cpu(server, label):
    r = R.get((server, label))
    if not r or not r.get("wall_secs"):
        return "—"
    return f"{100 * r['server_cpu_secs'] / r['wall_secs']:.0f} %"


lines = []
w = lines.append
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
w("# Benchmarks")
w("")
w("sentinel-mcp side by side with the lab's Python server (the *peer*: Starlette + uvicorn + the")
w("official `mcp` SDK, `../shared/peers/python-sse-reference/`) and a *bare hyper* server that")
w("answers the same HTTP pattern with canned replies and no MCP machinery (`mcp-bare`, the")
w("machine's limit). Same load tool (`crates/mcp-load`), same machine, same run.")
w("Regenerate with `scripts/bench.sh`; this file is rewritten by it. The KQL engine against DuckDB:")
w("[BENCHMARKS-kql.md](BENCHMARKS-kql.md) (`scripts/bench-kql.sh`).")
w("")
w(f"- **Date:** {now}; commit `{env.get('GIT_REV', '?')}`")
w(f"- **Machine:** {env.get('MACHINE_CORES')} cores ({env.get('MACHINE_CPU')}), {env.get('MACHINE_MEM')} RAM, Linux {env.get('KERNEL')}")
w(f"- **Versions:** {env.get('OURS_VERSION')} built with {env.get('RUSTC')} (release); peer on {env.get('PYVER')} with {env.get('PEER_PKGS')}")
w(f"- **How:** {env.get('PINNING')}; the machine was shared with other work, so treat small differences as noise. "
  f"Throughput phases {env.get('DURATION')} s after 1 s of warm-up, {env.get('SESSIONS')} sessions with 1 call in flight each unless noted; "
  f"churn {env.get('CHURN_SECS')} s with at most 64 sessions alive; cold start median of {env.get('COLD_RUNS')} spawns. "
  "Loopback only. Our server ran with `SENTINEL_MCP_DEMO_ROWS=20000` (demo workspace) and its per-principal limits off "
  f"(`{env.get('PER_PRINCIPAL_OFF', '?')}`: all load comes from one loopback address, which is one principal), default settings otherwise.")
w("")

# Headline
w("## Headline")
w("")
w("| Figure | sentinel-mcp | Python peer | sentinel-mcp vs peer | bare hyper | sentinel-mcp as % of bare | Goal |")
w("| --- | ---: | ---: | --- | ---: | ---: | --- |")
ri, pi, bi = (get(s, "idle_init", "kib_per_session") for s in ("ours", "peer", "bare"))
w(f"| RSS per idle **initialized** legacy SSE session (KiB) | {num(ri, 1)} | {num(pi, 1)} | {ratio(ri, pi, False)} | {num(bi, 1)} | {pct_of(ri, bi)} | ≤ 16 |")
ru, pu, bu = (get(s, "idle", "kib_per_session") for s in ("ours", "peer", "bare"))
w(f"| RSS per idle legacy SSE session, not initialized (KiB) | {num(ru, 1)} | {num(pu, 1)} | {ratio(ru, pu, False)} | {num(bu, 1)} | {pct_of(ru, bu)} | |")
so = get("ours", "idle_init", "sessions_open")
w(f"| Initialized sessions held at once in one process | {num(so)} | {num(get('peer', 'idle_init', 'sessions_open'))} (asked for {num(get('peer', 'idle_init', 'sessions_requested'))}) | | {num(get('bare', 'idle_init', 'sessions_open'))} | | 15,000 |")
t = {s: get(s, "tp_sse_list", "calls_per_sec") for s in NAMES}
w(f"| tools/call `list_sentinel_tables`, legacy SSE, {env.get('SESSIONS')} sessions (calls/s) | {num(t['ours'])} | {num(t['peer'])} | {ratio(t['ours'], t['peer'])} | {num(t['bare'])} | {pct_of(t['ours'], t['bare'])} | ≥ 30× peer |")
p = {s: get(s, "tp_sse_list", "latency", "p99_ms") for s in NAMES}
w(f"| … p99 latency (ms) | {num(p['ours'], 2)} | {num(p['peer'], 1)} | {ratio(p['ours'], p['peer'], False)} | {num(p['bare'], 2)} | | ≤ 5 |")
e = {s: per_cpu_sec(s, "tp_sse_list", "calls_ok") for s in NAMES}
w(f"| … the same per second of server CPU time (calls/CPU-s) | {num(e['ours'])} | {num(e['peer'])} | {ratio(e['ours'], e['peer'])} | {num(e['bare'])} | {pct_of(e['ours'], e['bare'])} | |")
for label, what in (("tp_sse_kql", "`print x = 1`"), ("tp_sse_kql_summarize", "a 1,000-row `summarize`")):
    k = {s: get(s, label, "calls_per_sec") for s in NAMES}
    w(f"| tools/call `run_kql_query` ({what}), legacy SSE (calls/s) | {num(k['ours'])} | {num(k['peer'])} | {ratio(k['ours'], k['peer'])} | {num(k['bare'])} | {pct_of(k['ours'], k['bare'])} | ≥ 60 % of `list_sentinel_tables`: {pct_of(k['ours'], t['ours'])} |")
c = {s: get(s, "churn_sse", "sessions_per_sec") for s in NAMES}
w(f"| Session churn: connect + initialize + 1 call + disconnect (sessions/s) | {num(c['ours'])} | {num(c['peer'])} | {ratio(c['ours'], c['peer'])} | {num(c['bare'])} | {pct_of(c['ours'], c['bare'])} | ≥ 20× peer |")
e = {s: per_cpu_sec(s, "churn_sse", "completed") for s in NAMES}
w(f"| … the same per second of server CPU time (sessions/CPU-s) | {num(e['ours'])} | {num(e['peer'])} | {ratio(e['ours'], e['peer'])} | {num(e['bare'])} | {pct_of(e['ours'], e['bare'])} | |")
for label, era in (("tp_streamable_list", "session era"), ("tp_stateless_list", "stateless 2026-07-28 era")):
    v = {s: get(s, label, "calls_per_sec") for s in NAMES}
    w(f"| tools/call `list_sentinel_tables`, Streamable HTTP {era}, {env.get('SESSIONS')} sessions (calls/s) | {num(v['ours'])} | {num(v['peer'])} | {ratio(v['ours'], v['peer'])} | {num(v['bare'])} | {pct_of(v['ours'], v['bare'])} | ≥ 70 % of bare; {ratio(v['ours'], v['rmcp'])} than stock rmcp ({num(v['rmcp'])}), goal ≥ 3× |")
wk = {s: get(s, "wrk_stateless_list", "calls_per_sec") for s in NAMES}
we = {s: get(s, "wrk_stateless_list", "errors") for s in NAMES}
w(f"| Cross-check with `wrk` (not our load tool): stateless-era tools/call, 64 connections (calls/s; errors) | {num(wk['ours'])}; {num(we['ours'])} | | | {num(wk['bare'])}; {num(we['bare'])} | {pct_of(wk['ours'], wk['bare'])} | ≥ 50 % of bare, no errors |")
cs = {s: get(s, "cold_start", "median_ms") for s in NAMES}
w(f"| Cold start: spawn → first `/health` 200 (ms, median) | {num(cs['ours'], 1)} | {num(cs['peer'], 0)} | {ratio(cs['ours'], cs['peer'], False)} | {num(cs['bare'], 1)} | | ≤ 50 |")
w("")
w("The peer's tools answer from fixed in-memory strings; ours run the real tool path (schema")
w("lookup, and for `run_kql_query` the KQL parser, guard and DataFusion engine), so the KQL row")
w("compares unequal work in the peer's favour.")
w("")

# Idle
w("## 1. Idle sessions (RSS per session)")
w("")
w("`mcp-load idle --url …/sse --sessions N --pid P [--initialize]`: a fresh server per row; 16 warm-up")
w("sessions opened and closed first; RSS from `/proc/P/status` before opening and 2 s after the last")
w("session is open; POSTs go over a shared pool of keep-alive connections that is closed before")
w("measuring, so only the streams remain.")
w("")
w("| Server | initialize | sessions open | opened per s | RSS before (KiB) | RSS held (KiB) | **KiB/session** | RSS after close (KiB) | server's session gauge |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for s in NAMES:
    for label, init in (("idle", "no"), ("idle_init", "yes")):
        r = res(s, label)
        if not r:
            continue
        w(f"| {NAMES[s]} | {init} | {num(r['sessions_open'])} of {num(r['sessions_requested'])} | {num(r['sessions_per_sec'])} | {num(r['rss_before_kib'])} | {num(r['rss_after_kib'])} | **{num(r['kib_per_session'], 1)}** | {num(r['rss_after_close_kib'])} | {num(r.get('server_sessions_gauge'))} |")
w("")

# Throughput
w("## 2. tools/call throughput")
w("")
w("`mcp-load throughput --url … --transport sse|streamable|stateless --sessions S --in-flight 1 --duration T --tool …`:")
w("every session initializes first (not in the stateless era), then each worker calls back to back;")
w("latency is POST sent → reply received (on the SSE stream for legacy SSE). *Server CPU* is the")
w("server's CPU time over the phase's wall time (100 % = its one core saturated; below that the")
w("load tool on the other core, or other work on the machine, is the limit). *calls/CPU-s* divides")
w("the calls by the server's CPU seconds over the whole phase (session set-up and warm-up included,")
w("so it is a slight underestimate): the efficiency figure that other load on the machine disturbs least.")
w("")
w("| Scenario | Server | calls/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU | calls/CPU-s | vs peer | vs stock rmcp | % of bare |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |")
SCEN = [
    ("tp_sse_list", f"legacy SSE, {env.get('SESSIONS')} sessions, list_sentinel_tables"),
    ("tp_sse_kql", f"legacy SSE, {env.get('SESSIONS')} sessions, run_kql_query"),
    ("tp_sse_one", "legacy SSE, 1 session (sequential), list_sentinel_tables"),
    ("tp_streamable_list", f"Streamable HTTP (session), {env.get('SESSIONS')} sessions, list_sentinel_tables"),
    ("tp_stateless_list", f"Streamable HTTP stateless 2026-07-28, {env.get('SESSIONS')} workers, list_sentinel_tables"),
]
for label, title in SCEN:
    for s in NAMES:
        r = res(s, label)
        if not r:
            continue
        lat = r["latency"]
        note = ""
        if r["calls_ok"] == 0 and r.get("first_error"):
            note = f" (not served: {r['first_error'][:60]})"
        vs = ratio(r["calls_per_sec"], get("peer", label, "calls_per_sec")) if s == "ours" else ""
        if s == "ours" and get("peer", label, "sessions") not in (None, r["sessions"]):
            vs = "n/a (the peer ran a different load)"
        pb = pct_of(r["calls_per_sec"], get("bare", label, "calls_per_sec")) if s == "ours" else ""
        vr = ratio(r["calls_per_sec"], get("rmcp", label, "calls_per_sec")) if s == "ours" and res("rmcp", label) else ""
        w(f"| {title} | {NAMES[s]}{note} | {num(r['calls_per_sec'])} | {num(lat['p50_ms'], 2)} | {num(lat['p90_ms'], 2)} | {num(lat['p99_ms'], 2)} | {num(lat['max_ms'], 1)} | {num(r['errors'])} | {cpu(s, label)} | {num(per_cpu_sec(s, label, 'calls_ok'))} | {vs} | {vr} | {pb} |")
w("")
w("*stock rmcp* is `mcp-rmcp` (crates/mcp-load/src/bin): rmcp's `StreamableHttpService` with its")
w("`LocalSessionManager` and default configuration on axum, listing our tools (dumped from our")
w("server) and answering every call with `mcp-bare`'s canned text: the server a Rust user would")
w("write from rmcp's documentation, doing less work per call than ours.")
w("")

w("## 2b. Open loop: latency at a fixed offered rate")
w("")
w("`mcp-load throughput --rate R --in-flight 4 …`: calls are due on a fixed schedule, R per second")
w("spread evenly over the sessions, R being half of the bare server's maximum on that transport in")
w("this run; latency runs from each call's due time, so a stalled server's queue shows in the")
w("latency instead of slowing the load (no coordinated omission). Goal: p99 ≤ 5 ms.")
w("")
w("| Transport | offered calls/s | achieved calls/s | p50 ms | p99 ms | p99.9 ms | max ms | errors |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for transport, title in (("sse", "legacy SSE"), ("streamable", "Streamable HTTP, session era"), ("stateless", "Streamable HTTP, stateless era")):
    r = res("ours", f"ol_{transport}_list")
    if not r:
        continue
    lat = r["latency"]
    w(f"| {title} | {num(r.get('offered_rate'))} | {num(r['calls_per_sec'])} | {num(lat['p50_ms'], 2)} | {num(lat['p99_ms'], 2)} | {num(lat.get('p999_ms'), 2)} | {num(lat['max_ms'], 1)} | {num(r['errors'])} |")
w("")

# Churn
w("## 3. Session churn")
w("")
w("`mcp-load churn --url … --rate 20000 --max-in-flight 64 --duration T`: each session opens its")
w("stream (or initializes over `/mcp`), initializes, calls `list_sentinel_tables` once and disconnects")
w("(DELETE for Streamable HTTP). The rate asked for is above what any server reaches, so the figure is")
w("the sustained maximum with 64 sessions in progress.")
w("")
w("| Server | transport | sessions/s | p50 ms | p99 ms | errors | server CPU | sessions/CPU-s | vs peer |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for label in ("churn_sse", "churn_streamable"):
    for s in NAMES:
        r = res(s, label)
        if not r:
            continue
        vs = ratio(r["sessions_per_sec"], get("peer", "churn_sse", "sessions_per_sec")) if s == "ours" else ""
        w(f"| {NAMES[s]} | {r['transport']} | {num(r['sessions_per_sec'])} | {num(r['latency']['p50_ms'], 2)} | {num(r['latency']['p99_ms'], 2)} | {num(r['errors'])} | {cpu(s, label)} | {num(per_cpu_sec(s, label, 'completed'))} | {vs} |")
w("")

# Cold start
w("## 4. Cold start")
w("")
w("`mcp-load cold-start --cmd \"<server command>\" --url http://127.0.0.1:P/health --runs K`: spawn,")
w("poll `/health` every millisecond, stop at the first 200, kill; the median of K runs.")
w("")
w("| Server | median ms | min ms | max ms | runs | failures |")
w("| --- | ---: | ---: | ---: | ---: | ---: |")
for s in NAMES:
    r = res(s, "cold_start")
    if r:
        w(f"| {NAMES[s]} | {num(r['median_ms'], 1)} | {num(r['min_ms'], 1)} | {num(r['max_ms'], 1)} | {r['runs']} | {r['failures']} |")
w("")

# Profile
w("## 5. Where the time goes (sentinel-mcp, tools/call over legacy SSE)")
w("")
cg_dir = os.path.join(env["OUT"], "callgrind")
summary = os.path.join(cg_dir, "summary.jsonl")
PHASES = {
    "sse_list": "legacy SSE, `list_sentinel_tables`",
    "sse_kql": "legacy SSE, `run_kql_query` (`print x = 1`)",
    "stateless_list": "Streamable HTTP stateless, `list_sentinel_tables`",
    "session_list": "Streamable HTTP session era, `list_sentinel_tables`",
    "sse_summarize": "legacy SSE, `run_kql_query` (a 1,000-row `summarize`)",
}
if os.path.exists(summary):
    w("Instructions per tools/call, counted by `valgrind --tool=callgrind` in the server over 5 s of one")
    w("session calling back to back, after a warm-up (hardware counters are not available in this VM, so")
    w("`perf stat` cannot count them; instruction counts, unlike wall time, do not depend on the")
    w("machine's other load). Everything the server does per call is included: HTTP parse, routing")
    w("and tower layers, JSON-RPC decode, rmcp dispatch, the tool, encode, the SSE write, logging.")
    w("")
    w("| Path | calls | instructions per call |")
    w("| --- | ---: | ---: |")
    for l in open(summary):
        d = json.loads(l)
        if d.get("calls"):
            w(f"| {PHASES.get(d['phase'], d['phase'])} | {num(d['calls'])} | {num(d['instructions'] / d['calls'])} |")
    w("")
    for phase, title in PHASES.items():
        top = os.path.join(cg_dir, f"{phase}.top.txt")
        if os.path.exists(top) and os.path.getsize(top) > 0:
            w(f"Inclusive instructions by function, {title} (share of the phase):")
            w("")
            w("```")
            for l in open(top):
                w(l.rstrip()[:150])
            w("```")
            w("")
dh_out = os.path.join(env["OUT"], "dhat", "dhat.out")
dh_idle = os.path.join(env["OUT"], "dhat", "idle.json")
if os.path.exists(dh_out) and os.path.exists(dh_idle):
    try:
        n = json.load(open(dh_idle))["sessions_open"]
        d = json.load(open(dh_out))
    except (ValueError, KeyError):
        n, d = 0, None
    if n and d:
        # Attribute each live block at the heap peak to its first frame outside allocator plumbing.
        plumbing = re.compile(r"alloc::|__rust|__rdl|malloc|memalign|realloc|calloc|core::|std::|RawVec|hashbrown|bytes::|"
                              r"tokio::runtime::task|tokio::runtime::scheduler|tokio::task::spawn|Vec<|String|fmt::|Arc<|Box<|::clone|"
                              r"serde_json::|futures_util::|0x[0-9A-F]+: \?\?\?")
        sites = collections.Counter()
        for pp in d["pps"]:
            if not pp.get("gb"):
                continue
            frames = [d["ftbl"][i] for i in pp["fs"]]
            names = [f.split(": ", 1)[-1].split(" (")[0] for f in frames]
            spawned = any("tokio::task::spawn" in f for f in names[:6])
            key = next((f for f in names if not plumbing.search(f)), names[0] if names else "?")
            if spawned:
                key = "task spawned in " + key
            sites[key[:110]] += pp["gb"]
        total = sum(sites.values())
        w(f"Live heap at the peak with {num(n)} idle initialized legacy SSE sessions held, by allocation site")
        w("(`valgrind --tool=dhat`; bytes allocated, an upper bound on RSS: untouched pages are not resident;")
        w("start-up data such as the demo workspace is in the shares' total but left out of the rows):")
        w("")
        w("| Allocation site | bytes per session | share |")
        w("| --- | ---: | ---: |")
        for k, v in [kv for kv in sites.most_common(20) if not kv[0].startswith("kql::")][:10]:
            if v / n < 100:
                break
            w(f"| `{k}` | {num(v / n)} | {100 * v / total:.0f} % |")
        w("")

dso = os.path.join(env["OUT"], "perf-dso.txt")
top = os.path.join(env["OUT"], "perf-top.txt")
if os.path.exists(top) and os.path.getsize(top) > 0:
    w("Wall-clock sampling with `perf record -e cpu-clock -F 999` over 4 s of 64 sessions (legacy SSE,")
    w("`list_sentinel_tables`), by binary, then self time by symbol (≥ 0.8 %):")
    w("")
    w("```")
    if os.path.exists(dso):
        for l in open(dso):
            w(l.rstrip()[:150])
        w("")
    for l in open(top):
        w(re.sub(r"\s+-\s+-\s*$", "", l.rstrip())[:150])
    w("```")
    w("")

# Preserved notes
notes = ""
if os.path.exists(out_path):
    m = re.search(r"<!-- notes:begin -->.*?<!-- notes:end -->", open(out_path).read(), re.S)
    if m:
        notes = m.group(0)
if not notes:
    notes = "<!-- notes:begin -->\n## Notes\n\n(analysis written by hand; kept across runs)\n<!-- notes:end -->"
w(notes)
w("")
w("## Reproduce")
w("")
w("```")
w("scripts/bench.sh                 # everything above, ~6-9 min on 2 cores; QUICK=1 for a smoke run")
w("target/release/mcp-load --help   # each scenario on its own; results as one JSON line on stdout")
w("```")
w("Raw results of the last run: `target/bench/results.jsonl`; server logs: `target/bench/servers.log`.")
open(out_path, "w").write("\n".join(lines) + "\n")
