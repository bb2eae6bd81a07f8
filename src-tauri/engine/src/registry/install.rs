//! Installing a registry server: vet it, refuse what the person did not
//! agree to (a version that is not active, a package whose ownership did not
//! check out), install the vetted package into Gatehouse's cache, register
//! a server that launches from there, pin its tree (with the registry
//! server version it came from), and put its secrets in the keychain.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Argument, PackageReport, Status, VettingReport};
use crate::install::{self, PackageKind, PackageSpec, RegistryOrigin, Step};
use crate::{
    Engine, Error, NewServer, Result, SecretValue, Server, Transport, validate_env_key,
    validate_server_name,
};

/// What the person decided about an install from the registry.
#[derive(Clone, Default, Deserialize, TS)]
#[ts(export)]
pub struct InstallOptions {
    /// The name to register the server under (`gatehouse run NAME`); by
    /// default the part of the registry name after `/`.
    #[serde(default)]
    pub local_name: Option<String>,
    /// The person confirmed installing a package whose ownership did not
    /// check out.
    #[serde(default)]
    pub confirm_mismatch: bool,
    /// The person agreed to install a deprecated version (or one whose
    /// status is unknown). A deleted version is never installed.
    #[serde(default)]
    pub allow_deprecated: bool,
    /// Environment values the person gave, `(NAME, value)`. They go
    /// straight to the OS keychain and are never logged.
    #[serde(default)]
    pub secrets: Vec<(String, String)>,
}

impl fmt::Debug for InstallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.secrets.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("InstallOptions")
            .field("local_name", &self.local_name)
            .field("confirm_mismatch", &self.confirm_mismatch)
            .field("allow_deprecated", &self.allow_deprecated)
            .field("secrets", &names)
            .finish()
    }
}

/// Where an install is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum InstallPhase {
    /// Asking the registry and the package registry (the vetting report).
    Vetting,
    /// Downloading metadata or the artifact.
    Downloading,
    /// Checking the artifact against the pinned checksum.
    Verifying,
    /// Unpacking and installing into the cache.
    Installing,
    /// Hashing the installed tree.
    Hashing,
    /// Registering the server, pinning its tree, storing its secrets.
    Registering,
}

impl From<Step> for InstallPhase {
    fn from(step: Step) -> Self {
        match step {
            Step::Downloading => InstallPhase::Downloading,
            Step::Verifying => InstallPhase::Verifying,
            Step::Installing => InstallPhase::Installing,
            Step::Hashing => InstallPhase::Hashing,
        }
    }
}

/// The `install_progress` event: which install, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct InstallProgress {
    /// The registry name of the server being installed.
    pub name: String,
    /// What is happening now.
    pub phase: InstallPhase,
}

/// A registry server, installed and registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RegistryInstalled {
    /// The registered server (it launches from the cache).
    pub server: Server,
    /// The package as vetted and installed.
    pub package: PackageSpec,
    /// The installed tree's hash, verified before every launch.
    pub tree_hash: String,
    /// Where it was installed.
    pub path: String,
}

impl Engine {
    /// Vets `name` at `version` (`latest` when `None`) and installs it as
    /// [`Engine::registry_install_with`] does, without progress reports.
    pub fn registry_install(
        &self,
        name: String,
        version: Option<String>,
        options: InstallOptions,
    ) -> Result<RegistryInstalled> {
        self.registry_install_with(name, version, options, |_| {})
    }

    /// Vets `name` at `version`, refuses a version that is not active
    /// (unless `allow_deprecated`; a deleted one always) and a package whose
    /// ownership is not confirmed (unless `confirm_mismatch`), installs the
    /// vetted package (or reuses the unchanged install a dry start of the
    /// same spec made), registers it under the local name launching from
    /// the cache, pins its tree and stores the given values in the
    /// keychain. Nothing is registered if any step fails.
    pub fn registry_install_with(
        &self,
        name: String,
        version: Option<String>,
        options: InstallOptions,
        mut progress: impl FnMut(InstallPhase),
    ) -> Result<RegistryInstalled> {
        progress(InstallPhase::Vetting);
        let report = self.registry_vet(name, version)?;
        let (package, spec) =
            accepted_package(&report, options.allow_deprecated, options.confirm_mismatch)?;

        let local = match &options.local_name {
            Some(local) => local.clone(),
            None => default_local_name(&report.name),
        };
        validate_server_name(&local)?;
        if self.store().server(&local).is_ok() {
            return Err(Error::ServerExists(local));
        }
        let given = secrets_given(&options.secrets)?;
        let plain_env = environment(package, &given)?;
        let package_args = fixed_arguments(&package.package_arguments)?;

        let installed = self.install_vetted(&spec, &mut progress)?;

        progress(InstallPhase::Registering);
        let mut env = plain_env;
        env.extend(installed.env.clone());
        let args = installed.args.iter().cloned().chain(package_args).collect();
        let server = self.server_add(NewServer {
            name: local.clone(),
            transport: Transport::Stdio {
                command: installed.command.clone(),
                args,
                env,
                secrets: Vec::new(),
            },
        })?;
        let finish = || -> Result<Server> {
            // The registry version is kept beside the pin: "check for
            // updates" compares the registry's newest version with it.
            let origin = RegistryOrigin {
                name: report.name.clone(),
                version: report.version.clone(),
            };
            self.store().package_pin_set_from(
                &local,
                &spec,
                &installed.path,
                &installed.tree_hash,
                Some(&origin),
            )?;
            for (key, value) in &given {
                self.secret_set(&local, key, value)?;
            }
            self.server(&local)
        };
        let server = match finish() {
            Ok(server) => server,
            Err(e) => {
                // Fail closed: a half-registered server (no pin, a missing
                // secret) is not left behind.
                let _ = self.server_remove(server.name);
                return Err(e);
            }
        };
        Ok(RegistryInstalled {
            server,
            package: spec,
            tree_hash: installed.tree_hash,
            path: installed.path.display().to_string(),
        })
    }
}

impl Engine {
    /// Installs a vetted package into the cache: the unchanged install a
    /// dry start of this exact spec made (it downloaded and verified it,
    /// and its tree hashes as it did then), else a fresh download checked
    /// against the spec's checksum.
    pub(super) fn install_vetted(
        &self,
        spec: &PackageSpec,
        progress: &mut impl FnMut(InstallPhase),
    ) -> Result<install::Installed> {
        if let Some(installed) = self.dry_installs.reuse(spec) {
            progress(InstallPhase::Hashing);
            return Ok(installed);
        }
        let sources = self.package_sources()?;
        install::install(self.data_dir(), spec, &sources, |step| {
            progress(step.into())
        })
    }
}

/// The package of a vetting report the person may install, with its spec:
/// the version's status allowed ([`check_status`]), a package Gatehouse
/// can install ([`choose_package`]) and its ownership confirmed
/// ([`check_ownership`]).
pub(super) fn accepted_package(
    report: &VettingReport,
    allow_deprecated: bool,
    confirm_mismatch: bool,
) -> Result<(&PackageReport, PackageSpec)> {
    check_status(report, allow_deprecated)?;
    let package = choose_package(report)?;
    check_ownership(report, package, confirm_mismatch)?;
    let spec = package.spec.clone().expect("a chosen package has a spec");
    Ok((package, spec))
}

/// Refuses a version the registry does not list as active, unless the
/// person allowed a deprecated one; a deleted version never installs.
pub(super) fn check_status(report: &VettingReport, allow_deprecated: bool) -> Result<()> {
    let why = report
        .status_message
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    match report.status {
        Status::Active => Ok(()),
        Status::Deleted => Err(Error::VersionNotActive(format!(
            "{} {} was deleted from the registry{why}; it cannot be installed",
            report.name, report.version
        ))),
        Status::Deprecated | Status::Unknown if allow_deprecated => Ok(()),
        status => Err(Error::VersionNotActive(format!(
            "{} {} is {} in the registry{why}; install it only if you mean to, with --allow-deprecated",
            report.name,
            report.version,
            status.as_str()
        ))),
    }
}

/// The first package Gatehouse can install: a vetted spec (exact version,
/// checksum found) of a kind the installer knows, run over stdio.
pub(super) fn choose_package(report: &VettingReport) -> Result<&PackageReport> {
    choose_package_of(&report.name, &report.version, &report.packages)
}

/// [`choose_package`] among the `packages` of `name` at `version`.
pub(super) fn choose_package_of<'a>(
    name: &str,
    version: &str,
    packages: &'a [PackageReport],
) -> Result<&'a PackageReport> {
    let installable = |p: &&PackageReport| {
        p.spec
            .as_ref()
            .is_some_and(|s| matches!(s.kind, PackageKind::Npm | PackageKind::Pypi))
            && p.transport.as_ref().is_none_or(|t| t.kind == "stdio")
    };
    if let Some(package) = packages.iter().find(installable) {
        return Ok(package);
    }
    let reasons: Vec<String> = packages
        .iter()
        .map(|p| {
            let why = if p.spec.is_none() {
                if p.version_check.outcome.is_ok() {
                    p.checksum_note.clone()
                } else {
                    p.version_check.explanation.clone()
                }
            } else {
                "Gatehouse installs npm and PyPI packages run over stdio".to_string()
            };
            format!("{} {}: {why}", p.registry_type, p.identifier)
        })
        .collect();
    Err(Error::InvalidSpec(if reasons.is_empty() {
        format!("{name} {version} has no package to install (it is remote only)")
    } else {
        format!(
            "no package of {name} {version} can be installed: {}",
            reasons.join("; ")
        )
    }))
}

/// Refuses a package whose ownership did not check out, unless confirmed.
pub(super) fn check_ownership(
    report: &VettingReport,
    package: &PackageReport,
    confirmed: bool,
) -> Result<()> {
    if package.ownership.outcome.is_ok() || confirmed {
        return Ok(());
    }
    Err(Error::OwnershipUnverified(format!(
        "the ownership of {} {} by {} did not check out: {}; install it only if you trust it anyway, with --confirm-mismatch",
        package.registry_type, package.identifier, report.name, package.ownership.explanation
    )))
}

/// The local name for a registry name: the part after `/`, with every
/// character a server name cannot hold made `-`.
pub fn default_local_name(registry_name: &str) -> String {
    let last = registry_name.rsplit('/').next().unwrap_or(registry_name);
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_start_matches(['.', '_', '-']).to_string();
    name.truncate(64);
    if name.is_empty() {
        "server".to_string()
    } else {
        name
    }
}

/// The given values, keys checked and values wrapped so they never print.
pub(super) fn secrets_given(secrets: &[(String, String)]) -> Result<Vec<(String, SecretValue)>> {
    let mut given: Vec<(String, SecretValue)> = Vec::with_capacity(secrets.len());
    for (key, value) in secrets {
        validate_env_key(key)?;
        if given.iter().any(|(k, _)| k == key) {
            return Err(Error::InvalidSpec(format!("{key} is given twice")));
        }
        given.push((key.clone(), SecretValue::new(value.clone())));
    }
    Ok(given)
}

/// The package's plain environment (fixed values and defaults of variables
/// not given), after checking every required variable has a value.
fn environment(
    package: &PackageReport,
    given: &[(String, SecretValue)],
) -> Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    let mut missing = Vec::new();
    for var in &package.environment_variables {
        if given.iter().any(|(k, _)| *k == var.name) {
            continue;
        }
        // A value with `{placeholders}` needs input Gatehouse does not ask for.
        let fixed = var
            .value
            .as_ref()
            .or(var.default.as_ref())
            .filter(|v| !v.contains('{'));
        match fixed {
            Some(value) if !var.is_secret => {
                env.insert(var.name.clone(), value.clone());
            }
            _ if var.is_required => missing.push(var.name.as_str()),
            _ => {}
        }
    }
    if missing.is_empty() {
        Ok(env)
    } else {
        Err(Error::InvalidSpec(format!(
            "{} {} needs {}; give each with --secret NAME",
            package.registry_type,
            package.identifier,
            missing.join(", ")
        )))
    }
}

/// The package arguments with a fixed value or default, in order; a
/// required one without either is an error (Gatehouse does not ask for
/// arguments yet).
pub(super) fn fixed_arguments(arguments: &[Argument]) -> Result<Vec<String>> {
    let mut args = Vec::new();
    for arg in arguments {
        let value = arg
            .value
            .as_ref()
            .or(arg.default.as_ref())
            .filter(|v| !v.contains('{'));
        match (value, arg.kind.as_str(), &arg.name) {
            (Some(v), "named", Some(flag)) => {
                args.push(flag.clone());
                args.push(v.clone());
            }
            (Some(v), _, _) => args.push(v.clone()),
            (None, "named", Some(flag)) if !arg.is_required && arg.value_hint.is_none() => {
                // A bare flag.
                args.push(flag.clone());
            }
            (None, _, _) if arg.is_required => {
                return Err(Error::InvalidSpec(format!(
                    "the package needs the argument {}, which Gatehouse cannot fill in yet",
                    arg.name
                        .as_deref()
                        .or(arg.value_hint.as_deref())
                        .unwrap_or("(unnamed)")
                )));
            }
            _ => {}
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_local_names_are_valid_server_names() {
        assert_eq!(default_local_name("io.github.acme/weather"), "weather");
        assert_eq!(default_local_name("com.example/my tools!"), "my-tools-");
        assert_eq!(default_local_name("x/_hidden"), "hidden");
        assert_eq!(default_local_name("x/@@@"), "server");
        for n in ["io.github.acme/weather", "a/b c", "x/@@@"] {
            validate_server_name(&default_local_name(n)).unwrap();
        }
    }

    #[test]
    fn options_never_print_secret_values() {
        let options = InstallOptions {
            secrets: vec![("API_KEY".into(), "hunter2".into())],
            ..InstallOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(shown.contains("API_KEY"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn fixed_arguments_keep_order_and_refuse_a_missing_required_one() {
        let arg = |kind: &str, name: Option<&str>, value: Option<&str>, required: bool| Argument {
            kind: kind.into(),
            name: name.map(Into::into),
            value_hint: None,
            value: value.map(Into::into),
            default: None,
            description: None,
            is_required: required,
            is_secret: false,
            ..serde_json::from_str(r#"{"type":"positional"}"#).unwrap()
        };
        let args = fixed_arguments(&[
            arg("positional", None, Some("serve"), true),
            arg("named", Some("--port"), Some("8080"), false),
            arg("positional", None, Some("{dir}"), false),
        ])
        .unwrap();
        assert_eq!(args, ["serve", "--port", "8080"]);
        let err = fixed_arguments(&[arg("named", Some("--root"), None, true)]).unwrap_err();
        assert!(err.to_string().contains("--root"), "{err}");
    }
}
