//! "Check for updates" for a server installed from the MCP Registry: the
//! registry's newest active version of the server, vetted, against the
//! installed version, vetted again. Every difference a person should weigh
//! before re-vetting is named: the server and package versions, the
//! checksum, the package itself, its transport, runtime and package
//! arguments, the environment variables it reads (secrets flagged, their
//! values never shown), whether its ownership checks out, and the
//! registry's status of the installed version.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::client::{RegistryClient, block_on};
use super::install::choose_package_of;
use super::model::{Argument, KeyValueInput, PackageTransport, RegistryEntry, Status};
use super::vet::{PackageReport, VetOutcome, vet_packages};
use crate::install::{
    PackageSpec, RegistryOrigin, RegistryUpdate, UpdateChange, UpdateChangeKind, UpdateCheck,
    spec_changes,
};
use crate::{Engine, Result};

impl Engine {
    /// The update check of `pinned`, installed from the registry's
    /// `origin`: asks the configured MCP Registry for the server's
    /// versions; when a newer active one exists, vets it and the installed
    /// one and lists what would change. An unreachable registry is an
    /// error naming the URL.
    pub(crate) fn registry_update_check(
        &self,
        pinned: &PackageSpec,
        origin: &RegistryOrigin,
    ) -> Result<UpdateCheck> {
        let client = self.registry_client()?;
        block_on(update_check(&client, pinned, origin))?
    }
}

async fn update_check(
    client: &RegistryClient,
    pinned: &PackageSpec,
    origin: &RegistryOrigin,
) -> Result<UpdateCheck> {
    let versions = client.versions(&origin.name).await?;
    let listed = versions.iter().find(|e| e.server.version == origin.version);
    let newest = newest_active(&versions);
    let registry = RegistryUpdate {
        name: origin.name.clone(),
        installed: origin.version.clone(),
        latest: newest.map(|e| e.server.version.clone()),
    };
    let newer = newest.filter(|n| {
        n.server.version != origin.version && listed.is_none_or(|i| order(n, i) != Ordering::Less)
    });
    let Some(newer) = newer else {
        // Nothing newer to move to; the installed version's own status is
        // still worth knowing (deprecated since, or withdrawn).
        let changes = match listed {
            Some(entry) if entry.status == Status::Active => Vec::new(),
            _ => vec![status_change(listed, &origin.version, None)],
        };
        return Ok(UpdateCheck {
            current: pinned.clone(),
            latest: Some(pinned.clone()),
            registry: Some(registry),
            newer: false,
            changes,
        });
    };

    // The full entries (a version list may abbreviate `server.json`). The
    // installed version may be gone from the registry: then only the
    // package pinned can be compared.
    let (installed, latest) = tokio::join!(
        client.version(&origin.name, &origin.version),
        client.version(&origin.name, &newer.server.version),
    );
    let latest = latest?;
    let installed = match (installed, listed) {
        (Ok(entry), _) => Some(entry),
        (Err(e), Some(_)) => return Err(e),
        (Err(_), None) => None,
    };
    let (old_packages, new_packages) = match &installed {
        Some(old) => tokio::join!(
            vet_packages(client, &old.server),
            vet_packages(client, &latest.server)
        ),
        None => (Vec::new(), vet_packages(client, &latest.server).await),
    };

    let mut changes = vec![UpdateChange::new(
        UpdateChangeKind::ServerVersion,
        Some(origin.version.clone()),
        Some(latest.server.version.clone()),
        format!(
            "server version: {} \u{2192} {}",
            origin.version, latest.server.version
        ),
    )];
    let old_status = installed
        .as_ref()
        .map(|e| (e.status, e.status_message.as_deref()));
    if old_status.map(|(s, _)| s) != Some(latest.status) {
        changes.push(status_change(
            installed.as_ref(),
            &origin.version,
            Some(&latest),
        ));
    }

    let pinned_package = |p: &&PackageReport| {
        p.registry_type == pinned.kind.as_str() && p.identifier == pinned.identifier
    };
    let chosen = choose_package_of(&latest.server.name, &latest.server.version, &new_packages);
    let (new_package, latest_spec) = match chosen {
        Ok(p) => {
            if !pinned_package(&p) {
                changes.push(UpdateChange::new(
                    UpdateChangeKind::Package,
                    Some(package_text(pinned.kind.as_str(), &pinned.identifier)),
                    Some(package_text(&p.registry_type, &p.identifier)),
                    format!(
                        "package: {} \u{2192} {}",
                        package_text(pinned.kind.as_str(), &pinned.identifier),
                        package_text(&p.registry_type, &p.identifier)
                    ),
                ));
            }
            (Some(p), p.spec.clone())
        }
        Err(e) => {
            changes.push(UpdateChange::new(
                UpdateChangeKind::Package,
                Some(package_text(pinned.kind.as_str(), &pinned.identifier)),
                None,
                e.to_string(),
            ));
            // Still compared below: what the package would ask for.
            (new_packages.iter().find(pinned_package), None)
        }
    };
    if let Some(spec) = &latest_spec {
        changes.extend(spec_changes(pinned, spec));
    }
    let old_package = old_packages.iter().find(pinned_package);
    if let (Some(old), Some(new)) = (old_package, new_package) {
        changes.extend(package_changes(old, new));
    }
    // Stable: within a kind, the order found (variables by name).
    changes.sort_by_key(|c| c.kind);
    Ok(UpdateCheck {
        current: pinned.clone(),
        latest: latest_spec,
        registry: Some(registry),
        newer: true,
        changes,
    })
}

/// The registry's newest active version: the one it marks latest if that
/// is active, else the active one ordered last.
pub(super) fn newest_active(versions: &[RegistryEntry]) -> Option<&RegistryEntry> {
    let active = || versions.iter().filter(|e| e.status == Status::Active);
    active()
        .find(|e| e.is_latest)
        .or_else(|| active().max_by(|a, b| order(a, b)))
}

/// How two versions of a server compare: as semantic versions when both
/// are (numeric `MAJOR.MINOR.PATCH...`, a pre-release before its release),
/// else by publication time, as the registry orders them.
fn order(a: &RegistryEntry, b: &RegistryEntry) -> Ordering {
    match (semver(&a.server.version), semver(&b.server.version)) {
        (Some((ca, pa)), Some((cb, pb))) => {
            let len = ca.len().max(cb.len());
            let at = |c: &[u64], i: usize| c.get(i).copied().unwrap_or(0);
            (0..len)
                .map(|i| at(&ca, i).cmp(&at(&cb, i)))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| match (pa, pb) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(x), Some(y)) => x.cmp(y),
                })
        }
        _ => a.published_at.cmp(&b.published_at),
    }
}

/// A version's numeric core and pre-release, when it is a semantic version.
fn semver(version: &str) -> Option<(Vec<u64>, Option<&str>)> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let v = v.split_once('+').map_or(v, |(core, _build)| core);
    let (core, pre) = match v.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (v, None),
    };
    let parts: Option<Vec<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty()).map(|p| (p, pre))
}

/// The registry's status of the installed version (`installed`, none when
/// no longer listed) against `latest`'s, if there is a newer one.
fn status_change(
    installed: Option<&RegistryEntry>,
    version: &str,
    latest: Option<&RegistryEntry>,
) -> UpdateChange {
    let before = installed.map_or("not listed", |e| e.status.as_str());
    let now = match installed {
        None => format!(
            "{version} is no longer listed in the registry; what it declared cannot be compared"
        ),
        Some(e) => {
            let why = e
                .status_message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            format!("{version} is {} in the registry{why}", e.status.as_str())
        }
    };
    let text = match latest {
        Some(l) => format!(
            "status: {now}; {} is {}",
            l.server.version,
            l.status.as_str()
        ),
        None => format!("status: {now}"),
    };
    UpdateChange::new(
        UpdateChangeKind::Status,
        Some(before.to_string()),
        latest.map(|l| l.status.as_str().to_string()),
        text,
    )
}

/// `TYPE IDENTIFIER`, as a package is named in a change.
fn package_text(registry_type: &str, identifier: &str) -> String {
    format!("{registry_type} {identifier}")
}

/// What differs between the installed version's package and the new
/// version's, beyond the spec: transport, arguments, environment,
/// ownership.
fn package_changes(old: &PackageReport, new: &PackageReport) -> Vec<UpdateChange> {
    let mut out = Vec::new();
    let mut differs = |kind: UpdateChangeKind, what: &str, before: String, after: String| {
        if before != after {
            out.push(UpdateChange::new(
                kind,
                Some(before.clone()),
                Some(after.clone()),
                format!("{what}: {before} \u{2192} {after}"),
            ));
        }
    };
    differs(
        UpdateChangeKind::Transport,
        "transport",
        transport_text(old.transport.as_ref()),
        transport_text(new.transport.as_ref()),
    );
    differs(
        UpdateChangeKind::RuntimeArguments,
        "runtime arguments",
        arguments_text(&old.runtime_arguments),
        arguments_text(&new.runtime_arguments),
    );
    differs(
        UpdateChangeKind::PackageArguments,
        "package arguments",
        arguments_text(&old.package_arguments),
        arguments_text(&new.package_arguments),
    );
    out.extend(environment_changes(
        &old.environment_variables,
        &new.environment_variables,
    ));
    let (before, after) = (
        ownership_text(&old.ownership.outcome),
        ownership_text(&new.ownership.outcome),
    );
    if before != after {
        out.push(UpdateChange::new(
            UpdateChangeKind::Ownership,
            Some(before.clone()),
            Some(after.clone()),
            format!(
                "ownership: {before} \u{2192} {after}: {}",
                new.ownership.explanation
            ),
        ));
    }
    out
}

/// A transport as people read it: its type, URL and header names.
fn transport_text(transport: Option<&PackageTransport>) -> String {
    let Some(t) = transport else {
        return "unspecified".to_string();
    };
    let mut text = t.kind.clone();
    if let Some(url) = &t.url {
        text.push(' ');
        text.push_str(url);
    }
    if !t.headers.is_empty() {
        let names: Vec<&str> = t.headers.iter().map(|h| h.name.as_str()).collect();
        text.push_str(&format!(" (headers {})", names.join(", ")));
    }
    text
}

/// Arguments as a command line: fixed values as they are, a secret's as
/// `<secret>`, others as `<hint>`; optional ones in brackets, repeatable
/// ones followed by `...`.
fn arguments_text(arguments: &[Argument]) -> String {
    if arguments.is_empty() {
        return "(none)".to_string();
    }
    let shown: Vec<String> = arguments
        .iter()
        .map(|a| {
            let fixed = a.value.as_ref().or(a.default.as_ref());
            let value = match (fixed, &a.value_hint) {
                (Some(_), _) if a.is_secret => Some("<secret>".to_string()),
                (Some(v), _) => Some(v.clone()),
                (None, Some(hint)) => Some(format!("<{hint}>")),
                (None, None) if a.kind != "named" => Some("<value>".to_string()),
                (None, None) => None,
            };
            let mut text = match (&a.name, a.kind.as_str(), value) {
                (Some(flag), "named", Some(v)) => format!("{flag} {v}"),
                (Some(flag), "named", None) => flag.clone(),
                (_, _, v) => v.unwrap_or_default(),
            };
            if a.is_repeated {
                text.push_str(" ...");
            }
            if a.is_required || a.value.is_some() {
                text
            } else {
                format!("[{text}]")
            }
        })
        .collect();
    shown.join(" ")
}

/// Environment variables read by the new version and not the old, no
/// longer read, or read differently, by name.
fn environment_changes(old: &[KeyValueInput], new: &[KeyValueInput]) -> Vec<UpdateChange> {
    let by_name = |vars: &[KeyValueInput]| -> BTreeMap<String, KeyValueInput> {
        vars.iter().map(|v| (v.name.clone(), v.clone())).collect()
    };
    let (old, new) = (by_name(old), by_name(new));
    let mut out = Vec::new();
    for (name, var) in &new {
        match old.get(name) {
            None => out.push(
                UpdateChange::new(
                    UpdateChangeKind::EnvAdded,
                    None,
                    Some(variable_text(var)),
                    format!("new environment variable {name}: {}", variable_text(var)),
                )
                .about(name),
            ),
            Some(before) if !same_variable(before, var) => {
                let (b, a) = (variable_text(before), variable_text(var));
                let text = if b == a {
                    format!("environment variable {name}: its preset secret value changes")
                } else {
                    format!("environment variable {name}: {b} \u{2192} {a}")
                };
                out.push(
                    UpdateChange::new(UpdateChangeKind::EnvChanged, Some(b), Some(a), text)
                        .about(name),
                );
            }
            Some(_) => {}
        }
    }
    for (name, var) in &old {
        if !new.contains_key(name) {
            out.push(
                UpdateChange::new(
                    UpdateChangeKind::EnvRemoved,
                    Some(variable_text(var)),
                    None,
                    format!("environment variable {name} is no longer read"),
                )
                .about(name),
            );
        }
    }
    out
}

/// Whether two declarations of a variable ask for the same thing (its
/// description aside).
fn same_variable(a: &KeyValueInput, b: &KeyValueInput) -> bool {
    a.is_required == b.is_required
        && a.is_secret == b.is_secret
        && a.default == b.default
        && a.value == b.value
        && a.choices == b.choices
        && a.format == b.format
}

/// How a variable is asked for: required or optional, secret (its value
/// never shown), its default, fixed value and choices.
fn variable_text(var: &KeyValueInput) -> String {
    let mut parts = vec![
        if var.is_required {
            "required"
        } else {
            "optional"
        }
        .to_string(),
    ];
    if var.is_secret {
        parts.push("secret: asked for at install and kept in the keychain".into());
        if var.value.is_some() || var.default.is_some() {
            parts.push("has a preset value (not shown)".into());
        }
    } else {
        if let Some(v) = &var.value {
            parts.push(format!("value {v}"));
        }
        if let Some(d) = &var.default {
            parts.push(format!("default {d}"));
        }
        if !var.choices.is_empty() {
            parts.push(format!("one of {}", var.choices.join("|")));
        }
    }
    if let Some(f) = &var.format {
        parts.push(format!("format {f}"));
    }
    parts.join(", ")
}

/// An ownership check's outcome in a word or two (the explanation goes in
/// the change's text).
fn ownership_text(outcome: &VetOutcome) -> String {
    match outcome {
        VetOutcome::Ok => "verified".into(),
        VetOutcome::Mismatch { found } => format!("claimed by {found}"),
        VetOutcome::Missing => "unproven".into(),
        VetOutcome::Unreachable { .. } => "not checked (unreachable)".into(),
        VetOutcome::Unsupported => "not checkable".into(),
    }
}
