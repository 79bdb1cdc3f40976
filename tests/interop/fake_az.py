"""A fake Azure CLI (`az`) for the deploy scripts' revision and traffic logic: the `containerapp`
commands they call, over one app kept in a JSON file, with the platform's rules that matter to
them (new revisions inherit a "latest revision" traffic entry; weights must add up to 100; a
revision serving traffic cannot be deactivated; `revision list` shows active revisions unless
`--all`) and the CLI's `--query` (JMESPath) and `-o json|tsv` output.

    FAKE_AZ_STATE=state.json FAKE_AZ_LOG=calls.log python fake_az.py containerapp show ...

Run through a shim named `az` on PATH (tests/interop/test_deploy_kit.py makes one). Needs
jmespath (in .venv-deploy, as checkov's dependency).
"""

from __future__ import annotations

import json
import os
import sys

import jmespath


class AzError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def load() -> dict:
    with open(os.environ["FAKE_AZ_STATE"]) as f:
        return json.load(f)


def save(state: dict) -> None:
    with open(os.environ["FAKE_AZ_STATE"], "w") as f:
        json.dump(state, f, indent=2)


def options(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """--name value... pairs (a flag may take several values) and the positional words."""
    opts: dict[str, list[str]] = {}
    words: list[str] = []
    key = None
    for a in args:
        if a.startswith("-"):
            key = {"-g": "--resource-group", "-n": "--name", "-o": "--output"}.get(a, a)
            opts.setdefault(key, [])
        elif key is not None:
            opts[key].append(a)
        else:
            words.append(a)
    return opts, words


def one(opts: dict[str, list[str]], flag: str) -> str:
    values = opts.get(flag)
    if not values:
        raise AzError(f"the following arguments are required: {flag}", 2)
    return values[0]


def revision(state: dict, name: str) -> dict:
    for r in state["revisions"]:
        if r["name"] == name:
            return r
    raise AzError(f"(ResourceNotFound) The Revision '{name}' was not found.", 3)


def app_view(state: dict) -> dict:
    return {
        "name": state["app"],
        "properties": {
            "latestRevisionName": state["revisions"][-1]["name"],
            "configuration": {"ingress": {"fqdn": f"{state['app']}.{state['domain']}", "traffic": state["traffic"]}},
            "template": {"containers": [{"image": state["revisions"][-1]["image"]}], "scale": {"minReplicas": state["minReplicas"]}},
        },
    }


def revision_view(state: dict, r: dict) -> dict:
    weight = sum(t["weight"] for t in state["traffic"] if t.get("revisionName") == r["name"])
    if state["traffic"] and any(t.get("latestRevision") for t in state["traffic"]) and r is state["revisions"][-1]:
        weight += sum(t["weight"] for t in state["traffic"] if t.get("latestRevision"))
    return {
        "name": r["name"],
        "properties": {
            "active": r["active"],
            "createdTime": r["createdTime"],
            "runningState": "Running" if r["active"] else "Stopped",
            "fqdn": f"{r['name']}.{state['domain']}",
            "trafficWeight": weight,
            "template": {"containers": [{"image": r["image"], "env": r["env"]}]},
        },
    }


def set_traffic(state: dict, pairs: list[str]) -> None:
    traffic = []
    for pair in pairs:
        name, _, weight = pair.partition("=")
        if name == "latest":
            traffic.append({"latestRevision": True, "weight": int(weight)})
        else:
            if not revision(state, name)["active"]:
                raise AzError(f"Revision {name} is not active")
            traffic.append({"revisionName": name, "weight": int(weight)})
    if sum(t["weight"] for t in traffic) != 100:
        raise AzError("(ContainerAppInvalidTrafficWeight) Traffic weights must add up to 100.")
    state["traffic"] = traffic


def run(argv: list[str]) -> object:
    opts, words = options(argv)
    state = load()
    command = " ".join(words)
    if command in ("account show", "extension show"):
        return {}
    if words[:1] != ["containerapp"]:
        raise AzError(f"fake az does not know: {command}", 2)
    if one(opts, "--name") != state["app"] or one(opts, "--resource-group") != state["group"]:
        raise AzError("(ResourceNotFound) The Resource 'Microsoft.App/containerApps' was not found.", 3)
    if command == "containerapp show":
        return app_view(state)
    if command == "containerapp update":
        if "--min-replicas" in opts:
            state["minReplicas"] = int(one(opts, "--min-replicas"))
        if "--image" in opts:
            suffix = one(opts, "--revision-suffix")
            name = f"{state['app']}--{suffix}"
            if any(r["name"] == name for r in state["revisions"]):
                raise AzError(f"(ContainerAppRevisionSuffixConflict) Revision with suffix {suffix} already exists.")
            env = dict(e.split("=", 1) for e in opts.get("--set-env-vars", []))
            state["clock"] += 1
            state["revisions"].append(
                {"name": name, "image": one(opts, "--image"), "active": True, "createdTime": f"2026-01-01T00:00:{state['clock']:02d}Z", "env": env}
            )
        save(state)
        return app_view(state)
    if command == "containerapp revision show":
        return revision_view(state, revision(state, one(opts, "--revision")))
    if command == "containerapp revision list":
        shown = [r for r in state["revisions"] if r["active"] or "--all" in opts]
        return [revision_view(state, r) for r in shown]
    if command in ("containerapp revision activate", "containerapp revision deactivate", "containerapp revision restart"):
        r = revision(state, one(opts, "--revision"))
        if words[2] == "deactivate":
            if revision_view(state, r)["properties"]["trafficWeight"] > 0:
                raise AzError(f"Cannot deactivate revision {r['name']}: it receives traffic.")
            r["active"] = False
        elif words[2] == "activate":
            r["active"] = True
        save(state)
        return None
    if command == "containerapp ingress traffic show":
        return state["traffic"]
    if command == "containerapp ingress traffic set":
        set_traffic(state, opts.get("--revision-weight", []))
        save(state)
        return state["traffic"]
    raise AzError(f"fake az does not know: {command}", 2)


def tsv(value: object) -> str:
    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return str(v)
        if isinstance(v, (dict, list)):
            return json.dumps(v)
        return str(v)

    if isinstance(value, list):
        return "".join("\t".join(map(cell, v)) + "\n" if isinstance(v, list) else cell(v) + "\n" for v in value)
    return "" if value is None else cell(value) + "\n"


def main() -> int:
    argv = sys.argv[1:]
    with open(os.environ["FAKE_AZ_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    try:
        result = run(argv)
    except AzError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return e.code
    opts, _ = options(argv)
    if "--query" in opts:
        result = jmespath.search(one(opts, "--query"), result)
    out = (opts.get("--output") or ["json"])[0]
    if out == "none" or result is None and out == "json":
        return 0
    sys.stdout.write(tsv(result) if out == "tsv" else json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
