//! What `gatehouse clients list` warns about, per entry: plain-text secrets,
//! packages launched without a pinned version, and the same server in
//! several clients.
//!
//! A finding names where the problem is (`env GITHUB_TOKEN`), never the
//! secret value itself.

use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

use super::{ClientConfig, Entry};
use crate::audit::redact::key_looks_secret;

/// One thing worth the person's attention in a client's server entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Finding {
    /// Which check found it.
    pub rule: FindingRule,
    /// How much it matters.
    pub severity: Severity,
    /// Which part of the entry it is about: `env.KEY`, `headers.NAME`,
    /// `args.N` (from 0), `url`, `command`, or none for the entry as a whole.
    pub field: Option<String>,
    /// What and where, without the secret value.
    pub message: String,
}

/// The checks behind [`Finding`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum FindingRule {
    /// A secret written in plain text in the config file.
    PlaintextSecret,
    /// An `npx`/`uvx`/`pipx`/`bunx` package without a pinned version.
    UnpinnedPackage,
    /// The same command and arguments, or URL, in another client's config.
    Duplicate,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Severity {
    /// Worth knowing.
    Low,
    /// Worth fixing.
    Medium,
    /// Fix it.
    High,
}

/// Prefixes of well-known credential formats, and whose they are.
const TOKEN_PREFIXES: &[(&str, &str)] = &[
    ("github_pat_", "a GitHub token"),
    ("ghp_", "a GitHub token"),
    ("gho_", "a GitHub token"),
    ("ghu_", "a GitHub token"),
    ("ghs_", "a GitHub token"),
    ("ghr_", "a GitHub token"),
    ("glpat-", "a GitLab token"),
    ("xoxb-", "a Slack token"),
    ("xoxp-", "a Slack token"),
    ("xoxa-", "a Slack token"),
    ("xoxs-", "a Slack token"),
    ("xapp-", "a Slack token"),
    ("sk-", "an API key (sk-)"),
    ("sk_live_", "a Stripe key"),
    ("sk_test_", "a Stripe key"),
    ("rk_live_", "a Stripe key"),
    ("hf_", "a Hugging Face token"),
    ("AIza", "a Google API key"),
    ("npm_", "an npm token"),
    ("pypi-", "a PyPI token"),
    ("lin_api_", "a Linear key"),
    ("ntn_", "a Notion token"),
    ("dop_v1_", "a DigitalOcean token"),
];

/// Whether `value` is a reference the client resolves at launch
/// (`${env:X}`, `${input:x}`, `${{ secrets.X }}`, `$VAR`, `%VAR%`) or a
/// placeholder (`<token>`), possibly after an auth scheme (`Bearer ...`).
pub(super) fn is_reference(value: &str) -> bool {
    let v = value.trim();
    if v.contains("${") {
        return true;
    }
    let v = ["Bearer ", "Basic ", "Token ", "token ", "bearer "]
        .iter()
        .find_map(|scheme| v.strip_prefix(scheme))
        .unwrap_or(v)
        .trim();
    let name = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    v.strip_prefix('$').is_some_and(name)
        || v.strip_prefix('%')
            .and_then(|s| s.strip_suffix('%'))
            .is_some_and(name)
        || (v.starts_with('<') && v.ends_with('>'))
}

/// A known credential format at the start of `value`.
fn known_token(value: &str) -> Option<&'static str> {
    if let Some(rest) = value
        .strip_prefix("AKIA")
        .or_else(|| value.strip_prefix("ASIA"))
        && rest.len() == 16
        && rest
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some("an AWS access key");
    }
    TOKEN_PREFIXES.iter().find_map(|(prefix, what)| {
        let rest = value.strip_prefix(prefix)?;
        (rest.len() >= 8 && !rest.contains(char::is_whitespace)).then_some(*what)
    })
}

/// A long random-looking string: 20 characters or more, no spaces, letters
/// and digits mixed, and high Shannon entropy. Paths, URLs and
/// dash-separated words are not taken for tokens.
fn high_entropy(value: &str) -> bool {
    let len = value.chars().count();
    if len < 20
        || value.contains(char::is_whitespace)
        || value.starts_with(['/', '~', '.'])
        || value.contains("://")
        || value.contains('\\')
    {
        return false;
    }
    if !value.chars().any(|c| c.is_ascii_alphabetic()) || !value.chars().any(|c| c.is_ascii_digit())
    {
        return false;
    }
    // `claude-sonnet-4-5-20250929`: words and numbers, not a token.
    if value.split(['-', '.', '_']).all(|part| {
        part.chars().all(|c| c.is_ascii_alphabetic()) || part.chars().all(|c| c.is_ascii_digit())
    }) {
        return false;
    }
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in value.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let entropy: f64 = counts
        .values()
        .map(|&n| {
            let p = n as f64 / len as f64;
            -p * p.log2()
        })
        .sum();
    entropy >= 3.5
}

/// Why a value under `key` looks like a plain-text secret, or `None`.
/// References and placeholders are not secrets.
pub fn value_looks_secret(key: &str, value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.is_empty() || is_reference(v) {
        return None;
    }
    let bare = ["Bearer ", "Basic ", "Token ", "token ", "bearer "]
        .iter()
        .find_map(|scheme| v.strip_prefix(scheme))
        .unwrap_or(v)
        .trim();
    if let Some(what) = known_token(bare) {
        return Some(what);
    }
    if key_looks_secret(key)
        && bare.len() >= 4
        && !matches!(
            bare.to_ascii_lowercase().as_str(),
            "true" | "false" | "none" | "null" | "yes" | "no"
        )
    {
        return Some("its name says it is a secret");
    }
    if high_entropy(bare) {
        return Some("a long random-looking value");
    }
    None
}

/// Whether a URL carries a password (`user:pass@host`) or a secret-looking
/// query parameter.
fn url_secret(url: &str) -> Option<&'static str> {
    let after_scheme = url.split_once("://")?.1;
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
        && !password.is_empty()
        && !is_reference(password)
    {
        return Some("a password in the URL");
    }
    let query = after_scheme.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (key_looks_secret(k) && !v.is_empty() && !is_reference(v))
            .then_some("a secret-looking query parameter in the URL")
    })
}

fn secret(field: String, where_: String, why: &str) -> Finding {
    Finding {
        rule: FindingRule::PlaintextSecret,
        severity: Severity::High,
        field: Some(field),
        message: format!(
            "{where_} holds a plain-text secret ({why}); it belongs in the keychain, not in this file"
        ),
    }
}

/// The command's file name without directory or `.exe`/`.cmd`.
fn program(command: &str) -> &str {
    let file = command.rsplit(['/', '\\']).next().unwrap_or(command);
    [".exe", ".cmd", ".EXE", ".CMD"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
        .unwrap_or(file)
}

/// The package a package runner launches: `(runner, spec)`.
fn package(entry: &Entry) -> Option<(&'static str, &str)> {
    let runner = match program(entry.command.as_deref()?) {
        "npx" => "npx",
        "pnpx" => "pnpx",
        "bunx" => "bunx",
        "uvx" => "uvx",
        "pipx" => "pipx",
        _ => return None,
    };
    let mut args = entry.args.iter().map(String::as_str).peekable();
    if runner == "pipx" {
        // `pipx run [--spec SPEC] PACKAGE`
        if args.next() != Some("run") {
            return None;
        }
    }
    let with_value: &[&str] = match runner {
        "uvx" => &[
            "--with",
            "--python",
            "-p",
            "--index",
            "--index-url",
            "--extra-index-url",
        ],
        "pipx" => &["--python", "--pip-args", "--index-url"],
        _ => &["--registry", "--cache", "--userconfig"],
    };
    let spec_flags: &[&str] = match runner {
        "uvx" => &["--from"],
        "pipx" => &["--spec"],
        _ => &["-p", "--package"],
    };
    while let Some(arg) = args.next() {
        if spec_flags.contains(&arg) {
            return args.next().map(|spec| (runner, spec));
        }
        if let Some((flag, spec)) = arg.split_once('=')
            && spec_flags.contains(&flag)
        {
            return Some((runner, spec));
        }
        if with_value.contains(&arg) {
            args.next();
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        return Some((runner, arg));
    }
    None
}

/// The version a package spec pins, `Err` with why it pins none.
fn pinned(runner: &str, spec: &str) -> Result<(), &'static str> {
    if spec.starts_with(['.', '/', '~']) || spec.contains("://") || spec.starts_with("file:") {
        // A local path or URL is not a registry package.
        return Ok(());
    }
    let version = if matches!(runner, "uvx" | "pipx") {
        spec.split_once("==")
            .map(|(_, v)| v)
            .or_else(|| spec.split_once('@').map(|(_, v)| v.trim()))
    } else {
        // `@scope/name@1.2.3`: the version follows the last `@` after the scope.
        let name_start = if spec.starts_with('@') { 1 } else { 0 };
        spec[name_start..].rsplit_once('@').map(|(_, v)| v)
    };
    match version {
        None | Some("") => Err("no version"),
        Some("latest" | "next" | "*") => Err("a moving tag, not a version"),
        Some(v) if v.starts_with(['^', '~', '>', '<']) => Err("a range, not a version"),
        Some(_) => Ok(()),
    }
}

/// The name a package spec launches, without its version.
fn package_name(spec: &str) -> &str {
    let name_start = usize::from(spec.starts_with('@'));
    let end = spec[name_start..]
        .find(['@', '=', '<', '>', '~', '['])
        .map_or(spec.len(), |i| i + name_start);
    &spec[..end]
}

/// Findings about one entry on its own: secrets and unpinned packages.
pub(super) fn entry_findings(entry: &Entry) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, value) in &entry.env {
        if let Some(why) = value_looks_secret(key, value) {
            out.push(secret(format!("env.{key}"), format!("env {key}"), why));
        }
    }
    // The bearer token of a gateway entry is Gatehouse's own loopback
    // credential, which the client must hold to reach the gateway.
    let gateway = entry.gateway_route().is_some();
    for (key, value) in &entry.headers {
        if gateway && key.eq_ignore_ascii_case("authorization") {
            continue;
        }
        if let Some(why) = value_looks_secret(key, value) {
            out.push(secret(
                format!("headers.{key}"),
                format!("header {key}"),
                why,
            ));
        }
    }
    if let Some(why) = entry.url.as_deref().and_then(url_secret) {
        out.push(secret("url".into(), "the URL".into(), why));
    }
    let mut previous: Option<&str> = None;
    for (i, arg) in entry.args.iter().enumerate() {
        let flag = previous
            .filter(|p| p.starts_with('-'))
            .map(|p| p.trim_start_matches('-'));
        let (flag, value) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (Some(f.trim_start_matches('-')), v),
            _ => (flag, arg.as_str()),
        };
        let why = if is_reference(value) {
            None
        } else if let Some(what) = known_token(value) {
            Some(what)
        } else if let Some(what) = url_secret(value) {
            Some(what)
        } else if flag.is_some_and(key_looks_secret) && value.len() >= 4 {
            Some("it follows a secret-looking option")
        } else {
            None
        };
        if let Some(why) = why {
            out.push(secret(
                format!("args.{i}"),
                format!("argument {}", i + 1),
                why,
            ));
        }
        previous = Some(arg);
    }
    if let Some((runner, spec)) = package(entry)
        && let Err(why) = pinned(runner, spec)
    {
        out.push(Finding {
            rule: FindingRule::UnpinnedPackage,
            severity: Severity::Medium,
            field: Some("args".into()),
            message: format!(
                "`{runner} {spec}` is not pinned ({why}): each launch may run a different release; pin an exact version, or import it and let Gatehouse install one pinned release and launch it from its cache (`gatehouse server pin NAME`)"
            ),
        });
    }
    out
}

/// What makes two entries the same server: the URL of a remote server (or
/// of an `mcp-remote` bridge), else the program and its arguments.
fn identity(entry: &Entry) -> Option<String> {
    if entry.routed() {
        return None;
    }
    if let Some(url) = &entry.url {
        return Some(format!("url {}", url.trim_end_matches('/')));
    }
    let command = entry.command.as_deref()?;
    if let Some((_, spec)) = package(entry)
        && package_name(spec) == "mcp-remote"
        && let Some(url) = entry.args.iter().find(|a| a.contains("://"))
    {
        return Some(format!("url {}", url.trim_end_matches('/')));
    }
    let mut id = format!("cmd {}", program(command));
    for arg in &entry.args {
        id.push('\0');
        id.push_str(arg);
    }
    Some(id)
}

/// Fills in every entry's findings, duplicates across files included.
pub(super) fn annotate(configs: &mut [ClientConfig]) {
    let mut seen: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (c, config) in configs.iter_mut().enumerate() {
        for (e, entry) in config.servers.iter_mut().enumerate() {
            entry.findings = entry_findings(entry);
            if let Some(id) = identity(entry) {
                seen.entry(id).or_default().push((c, e));
            }
        }
    }
    for places in seen.values() {
        for &(c, e) in places {
            let mut others: Vec<String> = places
                .iter()
                .filter(|(oc, _)| configs[*oc].path != configs[c].path)
                .map(|&(oc, oe)| {
                    format!("{} ({})", configs[oc].client, configs[oc].servers[oe].name)
                })
                .collect();
            others.dedup();
            if !others.is_empty() {
                configs[c].servers[e].findings.push(Finding {
                    rule: FindingRule::Duplicate,
                    severity: Severity::Low,
                    field: None,
                    message: format!("the same server is also in {}", others.join(", ")),
                });
            }
        }
    }
}
