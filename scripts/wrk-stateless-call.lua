-- wrk script: every request is one stateless-era (2026-07-28) `tools/call list_sentinel_tables`
-- POSTed to /mcp, as a client of that revision sends it. Used by scripts/bench.sh for a
-- cross-check with a load tool that is not ours:
--   wrk -t1 -c64 -d5s -s scripts/wrk-stateless-call.lua http://127.0.0.1:PORT/mcp
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_sentinel_tables",'
  .. '"arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
  .. '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"},'
  .. '"io.modelcontextprotocol/clientCapabilities":{}}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "list_sentinel_tables"

-- One JSON line for bench.sh: calls per second and the errors wrk counted.
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"calls_per_sec":%.1f,"requests":%d,"errors":%d,"non_2xx":%d,"p50_ms":%.3f,"p99_ms":%.3f}\n',
    summary.requests / (summary.duration / 1e6), summary.requests, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
