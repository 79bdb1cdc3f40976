//! The image's runtime stage without a container engine: a root filesystem holding only what
//! `gcr.io/distroless/cc-debian12:nonroot` plus deploy/Dockerfile's COPY put there (the binary,
//! the shared libraries `ldd` lists, a CA bundle, the nonroot home), entered with `chroot` as UID
//! 65532 with the Dockerfile's environment. No shell is present; the server must serve /health,
//! /ready and an MCP tools/list, and the Dockerfile's HEALTHCHECK command must exit 0 inside it,
//! then 1 once the server is stopped.
//!
//! Needs root (chroot, and the switch to 65532); elsewhere it says so and passes without running.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{BIN, Server, SseClient};
use regex::Regex;

const NONROOT: u32 = 65532;
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn dockerfile() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/Dockerfile"))
        .expect("deploy/Dockerfile")
}

/// Where the Dockerfile puts the binary, and the `ENV` it sets.
fn image_layout() -> (String, Vec<(String, String)>) {
    let text = dockerfile();
    let binary = Regex::new(r"(?m)^COPY --from=build \S+ (\S+)$")
        .unwrap()
        .captures(&text)
        .expect("COPY of the binary")[1]
        .to_string();
    let env = text
        .lines()
        .find_map(|l| l.strip_prefix("ENV "))
        .expect("ENV")
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    (binary, env)
}

/// Copies `host` (symlinks followed) to the same absolute path under `root`.
fn install(root: &Path, host: &Path, inside: &str) {
    let dest = root.join(inside.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(host, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", host.display()));
}

/// The shared libraries `ldd` lists for `binary` (the vDSO has no file and is left out).
fn linked_libraries(binary: &str) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(binary).output().expect("ldd");
    assert!(out.status.success(), "ldd {binary}");
    let text = String::from_utf8(out.stdout).unwrap();
    let re = Regex::new(r"(/\S+) \(0x").unwrap();
    let libs: Vec<PathBuf> = re
        .captures_iter(&text)
        .map(|c| PathBuf::from(&c[1]))
        .collect();
    assert!(
        libs.iter().any(|l| l.to_string_lossy().contains("libc.so")),
        "{text}"
    );
    libs
}

/// The root filesystem, removed when the test ends (passed or not).
struct Rootfs(PathBuf);

impl Drop for Rootfs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build_rootfs(binary_inside: &str) -> Rootfs {
    let root = common::temp_dir("rootfs");
    install(&root, Path::new(BIN), binary_inside);
    for lib in linked_libraries(BIN) {
        install(&root, &lib, &lib.to_string_lossy());
    }
    install(&root, Path::new(CA_BUNDLE), CA_BUNDLE);
    // distroless's nonroot home (the image's WORKDIR) and /tmp.
    let home = root.join("home/nonroot");
    std::fs::create_dir_all(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(NONROOT), Some(NONROOT)).unwrap();
    let tmp = root.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    Rootfs(root)
}

/// coreutils' chroot (in sbin, which a test's PATH may lack).
fn chroot_program() -> Option<&'static str> {
    ["/usr/sbin/chroot", "/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// `chroot --userspec=65532:65532 ROOT PROGRAM ARGS...` with only `env` in the environment.
fn in_rootfs(root: &Path, program: &str, args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(chroot_program().expect("chroot"));
    cmd.arg(format!("--userspec={NONROOT}:{NONROOT}"))
        .arg(root)
        .arg(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null());
    cmd
}

fn uids_of(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|u| u.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn runtime_image_rootfs_serves_mcp_as_nonroot_without_a_shell() {
    if effective_uid() != Some(0) || chroot_program().is_none() {
        eprintln!(
            "SKIPPED runtime_image_rootfs_serves_mcp_as_nonroot_without_a_shell: needs root and \
             coreutils' chroot (to enter the rootfs as UID {NONROOT}); run it as root (CI does)"
        );
        return;
    }
    let (binary, image_env) = image_layout();
    let rootfs = build_rootfs(&binary);
    let root = rootfs.0.clone();
    assert!(!root.join("bin/sh").exists() && !root.join("usr/bin/sh").exists());

    // No shell in the image: asking for one fails.
    let shell = in_rootfs(&root, "/bin/sh", &["-c", "true"], &[])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!shell.success(), "a shell ran inside the rootfs");

    // The image's environment, with a free loopback port instead of 0.0.0.0:8000 (this machine
    // is shared), and the state directory the image's WORKDIR gives (chroot starts in /).
    let mut env: Vec<(String, String)> = image_env
        .into_iter()
        .filter(|(k, _)| k != "HOST" && k != "PORT")
        .collect();
    assert!(env.iter().any(|(k, v)| k == "MCP_TRANSPORT" && v == "sse"));
    env.extend([
        ("HOST".into(), "127.0.0.1".into()),
        ("PORT".into(), "0".into()),
        (
            "SENTINEL_MCP_STATE_DIR".into(),
            "/home/nonroot/.sentinel-mcp".into(),
        ),
        (
            "SENTINEL_MCP_DEMO_ROWS".into(),
            common::TEST_DEMO_ROWS.into(),
        ),
        ("RUST_LOG".into(), common::with_listening_line("warn")),
    ]);
    let log = root.join("server.log");
    let mut child = in_rootfs(&root, &binary, &["serve"], &env)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("chroot");
    let port = common::listening_port(&mut child, &log).await.unwrap_or(0);
    // The healthcheck below reads PORT as the image sets it: the port the server chose.
    for (k, v) in &mut env {
        if k == "PORT" {
            *v = port.to_string();
        }
    }
    let server = Server {
        child,
        port,
        base: format!("http://127.0.0.1:{port}"),
        state_dir: root.clone(),
    };
    server.wait_ready().await;
    assert_eq!(
        uids_of(server.child.id()),
        vec![NONROOT; 4],
        "the server runs as {NONROOT}"
    );

    let health = reqwest::get(server.url("/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(server.url("/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);

    let mut client = SseClient::connect(&server).await;
    client.initialize().await;
    let tools = client.request("tools/list", serde_json::json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"run_kql_query"), "{tools}");
    let rows = client
        .call_tool(
            "run_kql_query",
            serde_json::json!({"query": "print x = 6 * 7"}),
        )
        .await;
    assert_eq!(common::structured(&rows)["rows"], serde_json::json!([[42]]));

    // The Dockerfile's HEALTHCHECK, inside the rootfs with the image's environment.
    let probe = |env: &[(String, String)]| {
        in_rootfs(&root, &binary, &["healthcheck"], env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    assert_eq!(
        probe(&env).code(),
        Some(0),
        "healthcheck with the server up"
    );
    drop(client);
    drop(server);
    assert_eq!(
        probe(&env).code(),
        Some(1),
        "healthcheck with the server stopped"
    );
}
