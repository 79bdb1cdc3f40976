//! The deploy kit (deploy/Dockerfile, deploy/infra, deploy/scripts, .github/workflows) against
//! the binary: every environment variable the kit sets is one `sentinel-mcp --help` lists, the
//! port, probe paths, metrics path and healthcheck command are the binary's, and the build
//! features the image names exist. The kit is read as text: there is no Docker or Bicep here.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, Server};
use regex::Regex;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every file under `dir` whose name ends with `ext`, as (repo-relative path, text).
fn files(dir: &str, ext: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![repo().join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(ext) {
                let rel = path
                    .strip_prefix(repo())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no {ext} files under {dir}");
    out
}

fn captures(re: &str, text: &str) -> Vec<String> {
    Regex::new(re)
        .unwrap()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

fn help() -> String {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The variables `serve --help` lists, with their defaults.
fn help_settings() -> BTreeMap<String, Option<String>> {
    let help = help();
    // A secret's value is hidden: clap prints `[env: NAME]` with no `=`.
    let re = Regex::new(r"\[env: ([A-Z0-9_]+)(?:=[^\]]*)?\](?:\s*\[default: ([^\]]*)\])?").unwrap();
    re.captures_iter(&help)
        .map(|c| (c[1].to_string(), c.get(2).map(|m| m.as_str().to_string())))
        .collect()
}

/// The Dockerfile's `ENV K=V ...` pairs.
fn dockerfile_env(dockerfile: &str) -> BTreeMap<String, String> {
    let line = dockerfile
        .lines()
        .find(|l| l.starts_with("ENV "))
        .expect("an ENV line");
    line["ENV ".len()..]
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("ENV K=V");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Every environment variable the kit sets for the server, with where.
fn kit_settings() -> BTreeMap<String, BTreeSet<String>> {
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |name: String, file: &str| {
        found.entry(name).or_default().insert(file.to_string());
    };
    for name in dockerfile_env(&read("deploy/Dockerfile")).into_keys() {
        add(name, "deploy/Dockerfile");
    }
    // Bicep: `{ name: 'X', value: ... }` / `{ name: 'X', secretRef: ... }` entries of env arrays.
    for (file, text) in files("deploy/infra", ".bicep") {
        for name in captures(
            r"\{\s*name:\s*'([A-Z][A-Z0-9_]+)',\s*(?:value|secretRef):",
            &text,
        ) {
            add(name, &file);
        }
    }
    // Scripts: `--set-env-vars "X=..."` (and more pairs after it).
    for (file, text) in files("deploy/scripts", ".sh") {
        for args in captures(r#"--set-env-vars\s+"([^"]+)""#, &text) {
            for pair in args.split_whitespace() {
                add(pair.split('=').next().unwrap().to_string(), &file);
            }
        }
    }
    found
}

#[test]
fn every_setting_the_kit_sets_is_one_the_binary_lists() {
    let listed = help_settings();
    let kit = kit_settings();
    // Not vacuous: the extraction found what a public deployment needs.
    for needed in [
        "SENTINEL_MCP_AUTH",
        "MCP_SERVER_APP_ID",
        "AZURE_TENANT_ID",
        "SENTINEL_MCP_PUBLIC_URL",
        "SENTINEL_MCP_ALLOWED_HOSTS",
        "PORT",
    ] {
        assert!(
            kit.contains_key(needed),
            "the kit does not set {needed}: {kit:?}"
        );
    }
    let unknown: Vec<_> = kit
        .iter()
        .filter(|(name, _)| !listed.contains_key(*name))
        .collect();
    assert!(
        unknown.is_empty(),
        "the kit sets variables `sentinel-mcp --help` does not list: {unknown:?}"
    );
}

#[test]
fn the_port_is_the_same_everywhere_and_the_binarys_default() {
    let dockerfile = read("deploy/Dockerfile");
    let env = dockerfile_env(&dockerfile);
    let expose = captures(r"(?m)^EXPOSE (\d+)$", &dockerfile);
    let bicep_port = captures(
        r"param containerPort int = (\d+)",
        &read("deploy/infra/modules/app.bicep"),
    );
    let binary_default = help_settings()["PORT"].clone().expect("PORT has a default");
    assert_eq!(expose, vec![binary_default.clone()], "EXPOSE");
    assert_eq!(env["PORT"], binary_default, "ENV PORT");
    assert_eq!(bicep_port, vec![binary_default], "app.bicep containerPort");
    // The transport the image and the app select is one the binary has.
    assert_eq!(env["MCP_TRANSPORT"], "sse");
    assert!(
        help().contains("- sse:"),
        "the binary has the sse transport"
    );
}

#[test]
fn termination_grace_covers_the_drain_timeout() {
    let main = read("deploy/infra/main.bicep");
    let number = |param: &str| -> u64 {
        captures(&format!(r"param {param} int = (\d+)"), &main)[0]
            .parse()
            .unwrap()
    };
    let drain = number("drainTimeoutSecs");
    let grace = number("terminationGracePeriodSeconds");
    assert!(
        grace >= drain,
        "terminationGracePeriodSeconds {grace} < drain timeout {drain}"
    );
    // The app module gets at least the drain timeout whatever the parameters say.
    assert!(main.contains(
        "terminationGracePeriodSeconds: max(terminationGracePeriodSeconds, drainTimeoutSecs)"
    ));
    let app = read("deploy/infra/modules/app.bicep");
    assert!(app.contains("terminationGracePeriodSeconds: terminationGracePeriodSeconds"));
}

#[test]
fn the_features_the_image_names_exist() {
    let dockerfile = read("deploy/Dockerfile");
    let features = captures(r"--features ([a-z0-9,-]+)", &dockerfile);
    assert_eq!(
        features.len(),
        1,
        "one --features list (the azure build): {features:?}"
    );
    let manifest = read("crates/sentinel-mcp/Cargo.toml");
    let section = manifest
        .split("[features]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .expect("a [features] section");
    let defined: BTreeSet<String> = captures(r"(?m)^([a-z0-9-]+)\s*=", section)
        .into_iter()
        .collect();
    let named: BTreeSet<&str> = features[0].split(',').collect();
    for feature in named {
        assert!(
            defined.contains(feature),
            "the Dockerfile names feature {feature}, which crates/sentinel-mcp/Cargo.toml does not define"
        );
    }
    // The azure build leaves DataFusion out.
    assert!(dockerfile.contains("azure) echo \"--no-default-features --features"));
    assert!(!features[0].contains("datafusion"));
}

/// The paths the kit probes: Bicep's probe paths, and every path the smoke test requests.
fn kit_paths() -> BTreeSet<String> {
    let app = read("deploy/infra/modules/app.bicep");
    let mut paths: BTreeSet<String> = captures(
        r"var (?:liveness|readiness)Path = bootstrap \? '/' : '(/[a-z/]+)'",
        &app,
    )
    .into_iter()
    .collect();
    assert_eq!(paths.len(), 2, "liveness and readiness paths in app.bicep");
    let smoke = read("deploy/scripts/smoke-test.sh");
    paths.extend(captures(r"\$\(get (/[a-z/]+)\)", &smoke));
    paths.extend(captures(r#""\$url(/[a-z/]+)""#, &smoke));
    paths
}

#[tokio::test]
async fn every_path_the_kit_probes_answers_on_the_binary() {
    let paths = kit_paths();
    for expected in ["/health", "/ready", "/metrics", "/mcp"] {
        assert!(
            paths.contains(expected),
            "{expected} not found in the kit: {paths:?}"
        );
    }
    let server = Server::start(&[]).await;
    let client = reqwest::Client::new();
    for path in paths.iter().filter(|p| *p != "/mcp") {
        let r = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
    }
    // /mcp is POST-only for a new session: an initialize answers 200.
    let r = client
        .post(server.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(
            &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": common::init_params("2025-06-18")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "POST /mcp initialize");

    // The metrics the kit scales, alerts or smoke-tests on.
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let smoke = read("deploy/scripts/smoke-test.sh");
    let prefix = captures(r"grep -q '\^([a-z_]+)' ", &smoke);
    assert_eq!(prefix, vec!["sentinel_mcp_".to_string()]);
    assert!(metrics.lines().any(|l| l.starts_with(&prefix[0])));
    let app = read("deploy/infra/modules/app.bicep");
    let scaled = captures(r"metricName: '([a-z_]+)'", &app);
    assert!(!scaled.is_empty());
    for metric in scaled {
        let exported = metrics
            .lines()
            .any(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")));
        assert!(
            exported,
            "app.bicep scales on {metric}, which /metrics does not have"
        );
    }
}

#[tokio::test]
async fn the_images_healthcheck_command_is_the_binarys_and_fails_when_the_server_is_down() {
    let dockerfile = read("deploy/Dockerfile");
    let copied_to = captures(r"(?m)^COPY --from=build \S+ (\S+)$", &dockerfile);
    assert_eq!(copied_to.len(), 1, "one COPY of the binary");
    let healthcheck = captures(r#"CMD \["([^"]+)", "healthcheck"\]"#, &dockerfile);
    assert_eq!(healthcheck, copied_to, "HEALTHCHECK runs the copied binary");
    let entrypoint = captures(r#"(?m)^ENTRYPOINT \["([^"]+)"\]$"#, &dockerfile);
    assert_eq!(entrypoint, copied_to);
    assert!(dockerfile.contains("CMD [\"serve\"]"));

    let server = Server::start(&[]).await;
    let probe = || {
        Command::new(BIN)
            .arg("healthcheck")
            .env_clear()
            .env("PORT", server.port.to_string())
            .status()
            .unwrap()
    };
    assert!(probe().success(), "healthcheck against a running server");
    let port = server.port;
    drop(server);
    let status = Command::new(BIN)
        .arg("healthcheck")
        .env_clear()
        .env("PORT", port.to_string())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "healthcheck with the server stopped"
    );
}
