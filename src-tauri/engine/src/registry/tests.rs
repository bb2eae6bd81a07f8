//! The registry client and vetting against recorded answers served locally:
//! the real reqwest client, URL encoding and parsing run; nothing outside
//! this machine is contacted.

use super::testing::{FixtureServer, Recorded, acme_registry};
use super::*;
use crate::install::{Checksum, PackageKind};

fn client_for(server: &FixtureServer) -> RegistryClient {
    let url = server.url().to_string();
    RegistryClient::new(RegistryConfig {
        registry_url: url.clone(),
        npm_url: url.clone(),
        pypi_url: url.clone(),
        oci_url: Some(url),
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap()
}

fn run<T: Send>(f: impl std::future::Future<Output = T> + Send) -> T {
    block_on(f).unwrap()
}

#[test]
fn search_follows_next_cursor_across_three_pages() {
    let server = acme_registry();
    let client = client_for(&server);
    let all = run(client.search_all("acme", Some("latest"), 10)).unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.server.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "io.github.acme/weather",
            "io.github.acme/tides",
            "io.github.acme/radar",
            "com.acme/maps"
        ]
    );
    // Each cursor was sent, percent-encoded, exactly once.
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests[1].contains("cursor=io.github.acme%2Ftides%3A0.3.1"));
    assert!(requests[2].contains("cursor=io.github.acme%2Fradar%3A2.0.0"));
}

#[test]
fn one_page_keeps_its_cursor_and_a_page_limit_is_enforced() {
    let server = acme_registry();
    let client = client_for(&server);
    let page = run(client.search("acme", None, Some(30), Some("latest"))).unwrap();
    assert_eq!(page.servers.len(), 2);
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("io.github.acme/tides:0.3.1")
    );
    let err = run(client.search_all("acme", Some("latest"), 2)).unwrap_err();
    assert!(err.to_string().contains("more than 2 pages"), "{err}");
}

#[test]
fn statuses_are_read_and_only_active_is_installable() {
    let server = acme_registry();
    let client = client_for(&server);
    let all = run(client.search_all("acme", Some("latest"), 10)).unwrap();
    let status = |name: &str| all.iter().find(|e| e.server.name == name).unwrap();
    let tides = status("io.github.acme/tides");
    assert_eq!(tides.status, Status::Deprecated);
    assert_eq!(
        tides.status_message.as_deref(),
        Some("Use io.github.acme/weather instead")
    );
    assert!(!tides.status.installable());
    let radar = status("io.github.acme/radar");
    assert_eq!(radar.status, Status::Deleted);
    assert!(!radar.status.installable());
    assert_eq!(radar.server.remotes[0].headers[0].name, "Authorization");
    assert!(radar.server.remotes[0].headers[0].is_secret);
    assert!(status("io.github.acme/weather").status.installable());
}

#[test]
fn an_entry_without_official_metadata_is_not_installable() {
    let server = FixtureServer::start();
    server.route(
        "/v0.1/servers/x.y%2Fz/versions/1.0.0",
        Recorded::ok(r#"{"server": {"name": "x.y/z", "version": "1.0.0"}}"#),
    );
    let entry = run(client_for(&server).version("x.y/z", "1.0.0")).unwrap();
    assert_eq!(entry.status, Status::Unknown);
    assert!(!entry.status.installable());
}

#[test]
fn versions_and_one_version_parse_server_json_fully() {
    let server = acme_registry();
    let client = client_for(&server);
    let versions = run(client.versions("io.github.acme/weather")).unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.server.version.as_str(), v.status))
            .collect::<Vec<_>>(),
        [("1.1.0", Status::Deprecated), ("1.2.0", Status::Active)]
    );

    let entry = run(client.version("io.github.acme/weather", "1.2.0")).unwrap();
    let s = &entry.server;
    assert_eq!(s.title.as_deref(), Some("Acme Weather"));
    assert_eq!(
        s.website_url.as_deref(),
        Some("https://acme.example/weather")
    );
    let repo = s.repository.as_ref().unwrap();
    assert_eq!(repo.source.as_deref(), Some("github"));
    assert_eq!(repo.subfolder.as_deref(), Some("servers/weather"));
    assert_eq!(s.packages.len(), 6);
    let npm = &s.packages[0];
    assert_eq!(npm.kind(), Some(PackageKind::Npm));
    assert_eq!(
        npm.registry_base_url.as_deref(),
        Some("https://registry.npmjs.org")
    );
    assert_eq!(npm.runtime_hint.as_deref(), Some("npx"));
    assert_eq!(npm.transport.as_ref().unwrap().kind, "stdio");
    assert_eq!(npm.runtime_arguments[0].name.as_deref(), Some("--yes"));
    let units = &npm.package_arguments[0];
    assert_eq!(
        (units.kind.as_str(), units.value_hint.as_deref()),
        ("positional", Some("units"))
    );
    assert_eq!(units.default.as_deref(), Some("metric"));
    assert_eq!(units.choices, ["metric", "imperial"]);
    let region = &npm.package_arguments[1];
    assert!(region.is_required);
    assert_eq!(region.value.as_deref(), Some("{region}"));
    let key = &npm.environment_variables[0];
    assert_eq!(key.name, "ACME_API_KEY");
    assert!(key.is_secret && key.is_required);
    assert_eq!(
        npm.environment_variables[1].default.as_deref(),
        Some("metric")
    );
    let nuget = &s.packages[5];
    assert_eq!(nuget.kind(), None);
    let t = nuget.transport.as_ref().unwrap();
    assert_eq!(
        (t.kind.as_str(), t.url.as_deref()),
        ("streamable-http", Some("http://localhost:{port}/mcp"))
    );
    assert!(t.headers[0].is_secret);
    assert_eq!(s.remotes[0].kind, "sse");
}

#[test]
fn a_server_error_names_the_url_and_status() {
    let server = acme_registry();
    let err = run(client_for(&server).versions("io.github.acme/broken")).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.code(), "registry");
    assert!(
        msg.contains("/v0.1/servers/io.github.acme%2Fbroken/versions"),
        "{msg}"
    );
    assert!(msg.contains("HTTP 500"), "{msg}");
    assert!(msg.contains("Internal Server Error"), "{msg}");
}

#[test]
fn a_malformed_body_names_the_url() {
    let server = acme_registry();
    let err = run(client_for(&server).version("io.github.acme/broken", "latest")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("io.github.acme%2Fbroken/versions/latest"),
        "{msg}"
    );
    assert!(msg.contains("not the JSON the API documents"), "{msg}");
}

#[test]
fn an_unreachable_registry_is_an_error_naming_it() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = RegistryClient::new(RegistryConfig {
        registry_url: format!("http://127.0.0.1:{port}"),
        ..RegistryConfig::default()
    })
    .unwrap();
    let err = run(client.search("x", None, None, None)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{port}/v0.1/servers")),
        "{msg}"
    );
    assert!(msg.contains("cannot connect"), "{msg}");
}

#[test]
fn a_bad_base_url_is_refused() {
    let client = RegistryClient::new(RegistryConfig {
        registry_url: "ftp://example.invalid".into(),
        ..RegistryConfig::default()
    })
    .unwrap();
    let err = run(client.search("x", None, None, None)).unwrap_err();
    assert!(err.to_string().contains("not an http(s) URL"), "{err}");
}

#[test]
fn a_registry_under_a_path_keeps_it() {
    let url = client::join("https://corp.example/mcp/", "v0.1", &["servers", "a.b/c"]).unwrap();
    assert_eq!(
        url.as_str(),
        "https://corp.example/mcp/v0.1/servers/a.b%2Fc"
    );
}

fn weather_report(server: &FixtureServer) -> VettingReport {
    let client = client_for(server);
    run(async {
        let entry = client.version("io.github.acme/weather", "1.2.0").await?;
        Ok::<_, crate::Error>(vet(&client, &entry).await)
    })
    .unwrap()
}

#[test]
fn the_report_checks_npm_ownership_and_pins_its_integrity() {
    let server = acme_registry();
    let report = weather_report(&server);
    assert_eq!(report.status, Status::Active);
    assert!(report.installable());
    let npm = &report.packages[0];
    assert_eq!(npm.ownership.outcome, VetOutcome::Ok);
    assert!(npm.ownership.explanation.contains("mcpName"));
    assert_eq!(npm.version_check.outcome, VetOutcome::Ok);
    let spec = npm.spec.as_ref().unwrap();
    assert_eq!(spec.kind, PackageKind::Npm);
    assert_eq!(spec.identifier, "@acme/weather-mcp");
    assert_eq!(spec.version, "1.2.0");
    assert!(
        matches!(&spec.checksum, Checksum::Integrity(i) if i.starts_with("sha512-3ZbRZ1Ri")),
        "{spec:?}"
    );
    assert!(npm.clean());
    // The secret variable is flagged for the keychain.
    assert!(
        npm.environment_variables
            .iter()
            .any(|e| e.name == "ACME_API_KEY" && e.is_secret)
    );
}

#[test]
fn a_package_without_mcp_name_is_shown_as_missing_not_hidden() {
    let server = acme_registry();
    let report = weather_report(&server);
    let unclaimed = &report.packages[3];
    assert_eq!(unclaimed.identifier, "acme-weather-unclaimed");
    assert_eq!(unclaimed.ownership.outcome, VetOutcome::Missing);
    assert!(unclaimed.ownership.explanation.contains("no mcpName"));
    // Still installable with confirmation: exact version and a checksum.
    assert!(unclaimed.spec.is_some());
    assert!(!unclaimed.clean());
}

#[test]
fn a_pypi_description_without_mcp_name_is_missing_and_the_pure_wheel_is_pinned() {
    let server = acme_registry();
    let report = weather_report(&server);
    let pypi = &report.packages[1];
    assert_eq!(pypi.ownership.outcome, VetOutcome::Missing);
    assert!(pypi.ownership.explanation.contains("mcp-name"));
    let spec = pypi.spec.as_ref().unwrap();
    assert_eq!(spec.checksum, Checksum::Sha256("3".repeat(64)));
    assert!(
        spec.file_url
            .as_deref()
            .unwrap()
            .ends_with("acme_weather_mcp-1.2.0-py3-none-any.whl")
    );
    assert!(pypi.checksum_note.contains("py3-none-any"));
}

#[test]
fn a_pypi_mcp_name_in_a_comment_is_found_and_an_sdist_is_pinned_without_a_wheel() {
    let server = acme_registry();
    let client = client_for(&server);
    let report = run(async {
        let entry = client.version("io.github.acme/tides", "0.3.1").await?;
        Ok::<_, crate::Error>(vet(&client, &entry).await)
    })
    .unwrap();
    assert_eq!(report.status, Status::Deprecated);
    assert!(!report.installable());
    let pypi = &report.packages[0];
    assert_eq!(
        pypi.ownership.outcome,
        VetOutcome::Ok,
        "{:?}",
        pypi.ownership
    );
    assert_eq!(
        pypi.spec.as_ref().unwrap().checksum,
        Checksum::Sha256("4".repeat(64))
    );
}

#[test]
fn a_range_version_is_refused_and_gets_no_spec() {
    let server = acme_registry();
    let report = weather_report(&server);
    let legacy = &report.packages[2];
    assert_eq!(
        legacy.version_check.outcome,
        VetOutcome::Mismatch {
            found: "^1.2".into()
        }
    );
    assert!(legacy.version_check.explanation.contains("range"));
    assert!(legacy.spec.is_none());
}

#[test]
fn a_bundle_whose_checksum_is_wrong_is_a_mismatch_with_no_pin() {
    let server = acme_registry();
    let report = weather_report(&server);
    let bundle = &report.packages[4];
    use sha2::Digest as _;
    let real = sha2::Sha256::digest(
        std::fs::read(testing::fixtures_dir().join("weather-1.2.0.mcpb")).unwrap(),
    );
    let real: String = real.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        bundle.ownership.outcome,
        VetOutcome::Mismatch { found: real }
    );
    assert!(bundle.spec.is_none());
    assert!(bundle.checksum.is_none());
}

#[test]
fn a_bundle_whose_checksum_matches_is_pinned() {
    let server = acme_registry();
    let body = std::fs::read(testing::fixtures_dir().join("weather-1.2.0.mcpb")).unwrap();
    use sha2::Digest as _;
    let sha: String = sha2::Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let entry = serde_json::json!({
        "server": {"name": "com.acme/bundle", "version": "1.0.0", "packages": [
            {"registryType": "mcpb", "identifier": format!("{}/bundles/weather-1.2.0.mcpb", server.url()), "fileSha256": sha, "transport": {"type": "stdio"}}
        ]},
        "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active", "isLatest": true}}
    });
    server.route(
        "/v0.1/servers/com.acme%2Fbundle/versions/1.0.0",
        Recorded::ok(entry.to_string()),
    );
    let client = client_for(&server);
    let report = run(async {
        let entry = client.version("com.acme/bundle", "1.0.0").await?;
        Ok::<_, crate::Error>(vet(&client, &entry).await)
    })
    .unwrap();
    assert_eq!(report.namespace.kind, NamespaceKind::Domain);
    assert_eq!(report.namespace.owner.as_deref(), Some("acme.com"));
    let p = &report.packages[0];
    assert_eq!(p.ownership.outcome, VetOutcome::Ok);
    let spec = p.spec.as_ref().unwrap();
    assert_eq!(spec.checksum, Checksum::Sha256(sha));
    assert_eq!(spec.version, "1.0.0");
}

#[test]
fn an_unsupported_package_type_is_listed_as_such() {
    let server = acme_registry();
    let report = weather_report(&server);
    let nuget = &report.packages[5];
    assert_eq!(nuget.ownership.outcome, VetOutcome::Unsupported);
    assert!(nuget.spec.is_none());
}

#[test]
fn the_report_names_the_namespace_and_the_publishers_other_servers() {
    let server = acme_registry();
    let report = weather_report(&server);
    assert_eq!(report.namespace.kind, NamespaceKind::Github);
    assert_eq!(report.namespace.owner.as_deref(), Some("acme"));
    assert!(report.namespace.explanation.contains("GitHub"));
    // com.acme/maps is on the page but not in the namespace.
    assert_eq!(
        report.publisher_servers,
        ["io.github.acme/radar", "io.github.acme/tides"]
    );
    assert_eq!(report.publisher_error, None);
    assert_eq!(
        report.repository.as_ref().unwrap().url,
        "https://github.com/acme/weather-mcp"
    );
}

#[test]
fn npm_ownership_mismatch_and_an_unreachable_package_registry() {
    let server = FixtureServer::start();
    let entry = serde_json::json!({
        "server": {"name": "io.github.eve/weather", "version": "1.0.0", "packages": [
            {"registryType": "npm", "identifier": "weather", "version": "1.0.0"},
            {"registryType": "npm", "identifier": "gone", "version": "1.0.0"}
        ]},
        "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active"}}
    });
    server
        .route(
            "/v0.1/servers/io.github.eve%2Fweather/versions/1.0.0",
            Recorded::ok(entry.to_string()),
        )
        .route(
            "/weather/1.0.0",
            Recorded::ok(
                r#"{"name":"weather","version":"1.0.0","mcpName":"io.github.acme/weather","dist":{"integrity":"sha512-AAAA"}}"#,
            ),
        );
    let client = client_for(&server);
    let report = run(async {
        let entry = client.version("io.github.eve/weather", "1.0.0").await?;
        Ok::<_, crate::Error>(vet(&client, &entry).await)
    })
    .unwrap();
    assert_eq!(
        report.packages[0].ownership.outcome,
        VetOutcome::Mismatch {
            found: "io.github.acme/weather".into()
        }
    );
    // The mismatch is shown, with its spec: installing needs confirmation.
    assert!(report.packages[0].spec.is_some());
    match &report.packages[1].ownership.outcome {
        VetOutcome::Unreachable { error } => {
            assert!(
                error.contains("/gone/1.0.0") && error.contains("404"),
                "{error}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(report.packages[1].spec.is_none());
    // The publisher search has no fixture: reported, not fatal.
    assert!(report.publisher_error.as_deref().unwrap().contains("404"));
}

#[test]
fn oci_label_and_digest_through_the_anonymous_token_flow() {
    let server = FixtureServer::start();
    let base = server.url().to_string();
    let config = r#"{"architecture":"amd64","os":"linux","config":{"Labels":{"io.modelcontextprotocol.server.name":"com.acme/maps"}}}"#;
    let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:cfg","size":1},"layers":[]}"#;
    let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:arm","platform":{"os":"linux","architecture":"arm64"}},{"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}}]}"#;
    let entry = serde_json::json!({
        "server": {"name": "com.acme/maps", "version": "4.1.0", "packages": [
            {"registryType": "oci", "identifier": "ghcr.io/acme/maps-mcp:4.1.0", "transport": {"type": "stdio"}},
            {"registryType": "oci", "identifier": "ghcr.io/acme/maps-mcp:latest"}
        ]},
        "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active"}}
    });
    server
        .route(
            "/v0.1/servers/com.acme%2Fmaps/versions/4.1.0",
            Recorded::ok(entry.to_string()),
        )
        .route(
            "/v2/acme/maps-mcp/manifests/4.1.0",
            Recorded::status(401, "{}").header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{base}/token",service="ghcr.io",scope="repository:acme/maps-mcp:pull""#),
            ),
        )
        .route(
            "/token?service=ghcr.io&scope=repository%3Aacme%2Fmaps-mcp%3Apull",
            Recorded::ok(r#"{"token":"anon"}"#),
        )
        .route(
            "/v2/acme/maps-mcp/manifests/sha256:amd",
            Recorded::ok(manifest),
        )
        .route("/v2/acme/maps-mcp/blobs/sha256:cfg", Recorded::ok(config));
    let client = client_for(&server);
    // First pass: the manifest still answers 401 after the token, an error
    // that names the status.
    let report = run(async {
        let entry = client.version("com.acme/maps", "4.1.0").await?;
        Ok::<_, crate::Error>(vet(&client, &entry).await)
    })
    .unwrap();
    assert!(
        matches!(&report.packages[0].ownership.outcome, VetOutcome::Unreachable { error } if error.contains("401")),
        "{:?}",
        report.packages[0].ownership
    );
    // The token was asked for with the challenge's service and scope.
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("/token?service=ghcr.io"))
    );
    // Second pass: the manifest answers (an index), with its digest header.
    server.route(
        "/v2/acme/maps-mcp/manifests/4.1.0",
        Recorded::ok(index).header("Docker-Content-Digest", "sha256:index"),
    );
    let report = run(async {
        let entry = client.version("com.acme/maps", "4.1.0").await?;
        Ok::<_, crate::Error>(vet(&client, &entry).await)
    })
    .unwrap();
    let oci = &report.packages[0];
    assert_eq!(oci.ownership.outcome, VetOutcome::Ok, "{:?}", oci.ownership);
    let spec = oci.spec.as_ref().unwrap();
    assert_eq!(spec.checksum, Checksum::Digest("sha256:index".into()));
    assert_eq!(spec.identifier, "ghcr.io/acme/maps-mcp");
    assert_eq!(spec.version, "4.1.0");
    // `latest` is not a version.
    assert!(matches!(
        report.packages[1].version_check.outcome,
        VetOutcome::Mismatch { .. }
    ));
    assert!(report.packages[1].spec.is_none());
}

#[test]
fn exact_versions_and_ranges() {
    for ok in ["1.2.0", "0.0.1-beta.2", "2024.10.1", "1.0.0+build.5", "v3"] {
        assert_eq!(exact_version(ok), Ok(()), "{ok}");
    }
    for range in [
        "^1.2", "~1", ">=1.0", "<2", "*", "latest", "LATEST", "1.x", "1.2.X", "1 - 2", "1 || 2",
        "", "=1.0", ">1,<2",
    ] {
        assert!(exact_version(range).is_err(), "{range:?} passed");
    }
}

#[test]
fn namespaces() {
    let gh = namespace_of("io.github.octo-org/server");
    assert_eq!(
        (gh.kind, gh.owner.as_deref()),
        (NamespaceKind::Github, Some("octo-org"))
    );
    let dns = namespace_of("com.example.mcp/server");
    assert_eq!(
        (dns.kind, dns.owner.as_deref()),
        (NamespaceKind::Domain, Some("mcp.example.com"))
    );
    assert!(dns.explanation.contains("domain-verified"));
    assert_eq!(namespace_of("weird/server").kind, NamespaceKind::Unknown);
}

#[test]
fn oci_references() {
    assert_eq!(
        oci_reference("ghcr.io/o/img:1.0"),
        Some(("ghcr.io".into(), "o/img".into(), "1.0".into()))
    );
    assert_eq!(
        oci_reference("user/img:1"),
        Some(("docker.io".into(), "user/img".into(), "1".into()))
    );
    assert_eq!(
        oci_reference("img@sha256:abc"),
        Some((
            "docker.io".into(),
            "library/img".into(),
            "sha256:abc".into()
        ))
    );
    assert_eq!(
        oci_reference("localhost:5000/img:2"),
        Some(("localhost:5000".into(), "img".into(), "2".into()))
    );
    assert_eq!(oci_reference("ghcr.io/o/img"), None);
}

#[test]
fn name_and_version() {
    assert_eq!(
        split_name_version("io.github.a/b@1.2.0"),
        ("io.github.a/b", Some("1.2.0"))
    );
    assert_eq!(split_name_version("io.github.a/b"), ("io.github.a/b", None));
}
