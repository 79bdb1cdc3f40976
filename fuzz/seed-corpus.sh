#!/usr/bin/env bash
# Seeds fuzz/corpus/parse from the shared KQL corpora (one file per query; never committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${KQL_CORPUS_DIR:-$here/../../shared/kql-corpus}"
out="$here/corpus/parse"
mkdir -p "$out"
python3 - "$shared" "$out" <<'PY'
import hashlib, json, pathlib, sys
shared, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
for name, field in (("hunting-queries.jsonl", "query"), ("kql-docs-cases.jsonl", "kql")):
    path = shared / name
    if not path.exists():
        continue
    for line in path.read_text(encoding="utf-8").splitlines():
        q = json.loads(line).get(field) or ""
        data = q.encode("utf-8")
        (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
        n += 1
print(f"seeded {n} inputs into {out}")
PY
