use std::io::Write;
use std::process::{Command, Stdio};

use super::*;
use crate::registry::testing::{FixtureServer, Recorded};

/// A zip of `(name, contents, unix mode)`; a mode of `0o120777` makes a link.
fn zip_of(files: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, text, mode) in files {
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
        if *mode & 0o170000 == 0o120000 {
            zip.add_symlink(*name, *text, opts).unwrap();
        } else {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
    }
    zip.finish().unwrap();
    out.into_inner()
}

fn bundle_files() -> Vec<(&'static str, &'static str, u32)> {
    vec![
        (
            "manifest.json",
            r#"{"manifest_version":"0.2","name":"hello","version":"1.0.0","server":{"type":"node","entry_point":"server/index.js","mcp_config":{"command":"node","args":["${__dirname}/server/index.js"],"env":{"HELLO_HOME":"${__dirname}"}}}}"#,
            0o644,
        ),
        ("server/index.js", super::super::testing::SERVER_JS, 0o644),
        (
            "server/node_modules/gatehouse-test-dep/index.js",
            "module.exports = 'hello from the bundle';\n",
            0o644,
        ),
    ]
}

fn served(bytes: Vec<u8>) -> (FixtureServer, PackageSpec) {
    let server = FixtureServer::start();
    let spec = PackageSpec {
        kind: PackageKind::Mcpb,
        identifier: "hello".into(),
        version: "1.0.0".into(),
        checksum: Checksum::Sha256(sha256_hex(&bytes)),
        file_url: Some(format!("{}/hello-1.0.0.mcpb", server.url())),
    };
    server.route("/hello-1.0.0.mcpb", Recorded::ok(bytes));
    (server, spec)
}

#[test]
fn a_bundle_is_unpacked_and_launched_as_its_manifest_says() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path().join("data")).unwrap();
    let (_server, spec) = served(zip_of(&bundle_files()));
    let installed = install(&dir, &spec, &Sources::default(), |_| {}).unwrap();
    let root = installed.path.display().to_string();
    assert_eq!(installed.args, [format!("{root}/server/index.js")]);
    assert_eq!(installed.env["HELLO_HOME"], root);
    let mut child = Command::new(&installed.command)
        .args(&installed.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("hello from the bundle"));
}

#[test]
fn path_traversal_in_a_bundle_is_refused_and_nothing_is_kept() {
    for evil in ["../evil.js", "server/../../evil.js", "/tmp/evil.js"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::at(tmp.path().join("data")).unwrap();
        let mut files = bundle_files();
        files.push((evil, "pwned", 0o644));
        let (_server, spec) = served(zip_of(&files));
        let err = install(&dir, &spec, &Sources::default(), |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside its folder"), "{evil}: {err}");
        assert!(!cache_path(&dir, &spec).exists());
        assert!(!tmp.path().join("data/packages/evil.js").exists());
        let leftovers: Vec<_> = fs::read_dir(dir.root().join("packages/mcpb"))
            .unwrap()
            .collect();
        assert!(leftovers.is_empty(), "{evil}: {leftovers:?}");
    }
}

#[test]
fn links_in_a_bundle_and_a_wrong_checksum_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path().join("data")).unwrap();
    let mut files = bundle_files();
    files.push(("server/passwd", "/etc/passwd", 0o120777));
    let (_server, spec) = served(zip_of(&files));
    let err = install(&dir, &spec, &Sources::default(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("is a link"), "{err}");

    let (_server, mut spec) = served(zip_of(&bundle_files()));
    spec.checksum = Checksum::Sha256(sha256_hex(b"other"));
    let err = install(&dir, &spec, &Sources::default(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert!(!cache_path(&dir, &spec).exists());
}

fn image(identifier: &str, digest: &str) -> PackageSpec {
    PackageSpec {
        kind: PackageKind::Oci,
        identifier: identifier.into(),
        version: "1.0.0".into(),
        checksum: Checksum::Digest(digest.into()),
        file_url: None,
    }
}

#[test]
fn an_image_runs_by_its_pinned_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::at(tmp.path().join("data")).unwrap();
    let digest = format!("sha256:{}", "ab".repeat(32));
    let spec = image("ghcr.io/acme/mcp-server", &digest);
    let installed = install(&dir, &spec, &Sources::default(), |_| {}).unwrap();
    assert!(installed.command.ends_with("docker"));
    assert_eq!(
        installed.args,
        [
            "run",
            "-i",
            "--rm",
            "--pull",
            "missing",
            &format!("ghcr.io/acme/mcp-server@{digest}")
        ]
    );
    // The reference is part of the pinned tree.
    let record = fs::read_to_string(installed.path.join("image.json")).unwrap();
    assert!(record.contains(&digest));
    for (id, d) in [
        ("ghcr.io/acme/mcp-server:latest", digest.as_str()),
        ("ghcr.io/acme/mcp-server", "sha256:short"),
        ("ghcr.io/acme/mcp-server", "latest"),
    ] {
        assert!(
            install(&dir, &image(id, d), &Sources::default(), |_| {}).is_err(),
            "{id} {d}"
        );
    }
}
