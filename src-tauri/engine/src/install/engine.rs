//! The user-level operations on installed packages: install for a server,
//! re-install (re-vet) after a mismatch, and "pin this version" for a
//! server that runs `npx`/`uvx` unpinned.

use rusqlite::params;

use super::fetch::Fetcher;
use super::{
    Checksum, Installed, PackageKind, PackageSpec, RegistryOrigin, Sources, Step, install,
};
use crate::{Engine, Error, Result, Store, Transport};

/// A package a runner (`npx`, `uvx`...) launches, as written in a server's
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerPackage {
    /// npm for `npx`/`pnpx`/`bunx`, PyPI for `uvx`.
    pub kind: PackageKind,
    /// The package's name.
    pub name: String,
    /// The version written, if any (it may be a range or a tag).
    pub version: Option<String>,
    /// The arguments after the package: the server's own.
    pub rest: Vec<String>,
}

/// Reads `command args` as a package runner's invocation.
pub fn runner_package(command: &str, args: &[String]) -> Option<RunnerPackage> {
    let program = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let program = program
        .strip_suffix(".cmd")
        .or_else(|| program.strip_suffix(".exe"))
        .unwrap_or(program);
    let kind = match program {
        "npx" | "pnpx" | "bunx" => PackageKind::Npm,
        "uvx" => PackageKind::Pypi,
        _ => return None,
    };
    // Flags that take a value; the first other non-flag is the package.
    let with_value: &[&str] = match kind {
        PackageKind::Pypi => &[
            "--with",
            "--python",
            "-p",
            "--index",
            "--index-url",
            "--from",
        ],
        _ => &["--registry", "--cache", "--userconfig", "-p", "--package"],
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if with_value.contains(&arg) {
            // `--from X` / `-p X` name the package themselves: not handled
            // here (the command differs from the package).
            if matches!(arg, "--from" | "-p" | "--package") && kind != PackageKind::Pypi
                || arg == "--from"
            {
                return None;
            }
            i += 2;
            continue;
        }
        if arg.starts_with('-') {
            i += 1;
            continue;
        }
        let (name, version) = split_spec(kind, arg);
        return Some(RunnerPackage {
            kind,
            name: name.to_string(),
            version: version.map(str::to_string),
            rest: args[i + 1..].to_vec(),
        });
    }
    None
}

fn split_spec(kind: PackageKind, spec: &str) -> (&str, Option<&str>) {
    match kind {
        PackageKind::Pypi => spec
            .split_once("==")
            .or_else(|| spec.split_once('@'))
            .map_or((spec, None), |(n, v)| (n, Some(v))),
        _ => {
            let start = usize::from(spec.starts_with('@'));
            match spec[start..].rsplit_once('@') {
                Some((n, v)) => (&spec[..start + n.len()], Some(v)),
                None => (spec, None),
            }
        }
    }
}

impl Store {
    /// Points `server` at `installed` (its command, its arguments followed
    /// by `extra_args`, its environment merged) and pins it, with the MCP
    /// Registry server version it came from, if any.
    pub fn package_attach(
        &mut self,
        server: &str,
        spec: &PackageSpec,
        installed: &Installed,
        extra_args: &[String],
        registry: Option<&RegistryOrigin>,
    ) -> Result<()> {
        let current = self.server(server)?;
        let Transport::Stdio { mut env, .. } = current.transport else {
            return Err(Error::InvalidSpec(format!(
                "'{server}' is a remote server; it runs no package"
            )));
        };
        env.extend(installed.env.clone());
        let args: Vec<&String> = installed.args.iter().chain(extra_args).collect();
        {
            let tx = self.conn_mut().transaction()?;
            let changed = tx.execute(
                "UPDATE servers SET command = ?2, args = ?3, env = ?4 WHERE name = ?1",
                params![
                    server,
                    installed.command,
                    serde_json::to_string(&args).expect("strings serialize"),
                    serde_json::to_string(&env).expect("strings serialize"),
                ],
            )?;
            if changed == 0 {
                return Err(Error::ServerNotFound(server.to_string()));
            }
            tx.commit()?;
        }
        self.package_pin_set_from(
            server,
            spec,
            &installed.path,
            &installed.tree_hash,
            registry,
        )
    }
}

impl Engine {
    /// Where packages are downloaded from: the registry settings, each
    /// overridden by `GATEHOUSE_NPM_URL` / `GATEHOUSE_PYPI_URL`.
    pub fn package_sources(&self) -> Result<Sources> {
        let cfg = crate::registry::RegistryConfig::load(&self.store())?;
        Ok(Sources::from(&cfg))
    }

    /// Installs `spec` (verified against its pinned checksum first) and
    /// points the registered `server` at it, keeping `extra_args` after
    /// the package's entry point.
    pub fn package_install(
        &self,
        server: &str,
        spec: &PackageSpec,
        extra_args: &[String],
        progress: impl FnMut(Step),
    ) -> Result<Installed> {
        self.store().server(server)?;
        let sources = self.package_sources()?;
        let installed = install(self.data_dir(), spec, &sources, progress)?;
        self.store()
            .package_attach(server, spec, &installed, extra_args, None)?;
        Ok(installed)
    }

    /// Re-vets `server`'s pinned package: downloads it again, checks it
    /// against the same pinned checksum and replaces the installed tree
    /// (after a checksum mismatch, say). The launch works again once the
    /// new tree is in place. The pin keeps the registry version it came
    /// from.
    pub fn package_reverify(&self, server: &str) -> Result<Installed> {
        let (pin, current) = {
            let store = self.store();
            let pin = store.package_pin(server)?.ok_or_else(|| {
                Error::InvalidSpec(format!(
                    "'{server}' runs no installed package; `gatehouse server pin {server}` installs one"
                ))
            })?;
            (pin, store.server(server)?)
        };
        let sources = self.package_sources()?;
        let installed = install(self.data_dir(), &pin.spec, &sources, |_| {})?;
        // The server's own arguments follow the package's launch arguments,
        // which are the same for the same package and path.
        let extra = match &current.transport {
            Transport::Stdio { args, .. } => args.get(installed.args.len()..).unwrap_or_default(),
            Transport::Http { .. } => &[],
        };
        self.store()
            .package_attach(server, &pin.spec, &installed, extra, pin.registry.as_ref())?;
        Ok(installed)
    }

    /// "Pin this version": `server` runs a package through `npx`/`uvx`
    /// that resolves afresh at every start. Resolves `version` (or the
    /// registry's current one), takes its checksum, installs it the same
    /// way as a vetted install, and points the server at the cache.
    pub fn package_pin_unpinned(&self, server: &str, version: Option<&str>) -> Result<Installed> {
        let current = self.store().server(server)?;
        let Transport::Stdio { command, args, .. } = &current.transport else {
            return Err(Error::InvalidSpec(format!(
                "'{server}' is a remote server; it runs no package"
            )));
        };
        let Some(pkg) = runner_package(command, args) else {
            return Err(Error::InvalidSpec(format!(
                "'{server}' does not launch a package through npx or uvx; nothing to pin"
            )));
        };
        let sources = self.package_sources()?;
        let wanted = version.map(str::to_string).or_else(|| {
            pkg.version
                .clone()
                .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .filter(|v| !v.contains(['^', '~', '>', '<', '*', ' ']))
        });
        let spec = resolve(&sources, pkg.kind, &pkg.name, wanted.as_deref())?;
        self.package_install(server, &spec, &pkg.rest, |_| {})
    }
}

/// The exact version (`wanted`, or the registry's current one) of a
/// package and its checksum, as the registry states them.
pub fn resolve(
    sources: &Sources,
    kind: PackageKind,
    name: &str,
    wanted: Option<&str>,
) -> Result<PackageSpec> {
    let fetcher = Fetcher::new()?;
    match kind {
        PackageKind::Npm => {
            let base = sources.npm.trim_end_matches('/');
            let url = format!(
                "{base}/{}/{}",
                name.replace('/', "%2F"),
                wanted.unwrap_or("latest")
            );
            let meta = fetcher.get_json(&url)?;
            let (Some(version), Some(integrity)) =
                (meta["version"].as_str(), meta["dist"]["integrity"].as_str())
            else {
                return Err(Error::Registry(format!(
                    "GET {url}: no version and dist.integrity"
                )));
            };
            Ok(PackageSpec {
                kind,
                identifier: name.to_string(),
                version: version.to_string(),
                checksum: Checksum::Integrity(integrity.to_string()),
                file_url: None,
            })
        }
        PackageKind::Pypi => super::pypi::resolve(&fetcher, sources, name, wanted),
        other => Err(Error::InvalidSpec(format!(
            "{} packages are pinned by their registry entry, not resolved",
            other.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn runner_packages_are_read_with_their_own_arguments() {
        let p = runner_package("npx", &args(&["-y", "@scope/srv@1.2.3", "--port", "1"])).unwrap();
        assert_eq!(
            (p.kind, p.name.as_str(), p.version.as_deref(), p.rest),
            (
                PackageKind::Npm,
                "@scope/srv",
                Some("1.2.3"),
                args(&["--port", "1"])
            )
        );
        let p = runner_package("/usr/bin/npx", &args(&["--yes", "srv"])).unwrap();
        assert_eq!((p.name.as_str(), p.version), ("srv", None));
        let p = runner_package("uvx", &args(&["mcp-server-time==1.0", "--tz", "UTC"])).unwrap();
        assert_eq!(
            (p.kind, p.name.as_str(), p.version.as_deref()),
            (PackageKind::Pypi, "mcp-server-time", Some("1.0"))
        );
        assert!(runner_package("node", &args(&["x.js"])).is_none());
        assert!(runner_package("uvx", &args(&["--from", "pkg", "cmd"])).is_none());
    }
}

/// A server's installed package and the result of re-hashing it now: what
/// the server page shows and what `package_*` commands answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct PackageStatus {
    /// The server.
    pub server: String,
    /// The package it is pinned to, if it runs one from the cache.
    pub package: Option<PackageSpec>,
    /// The MCP Registry server version it was installed from, if it was.
    pub registry: Option<RegistryOrigin>,
    /// The install directory.
    pub path: Option<String>,
    /// The pinned tree hash (hex SHA-256).
    pub tree_hash: Option<String>,
    /// Whether the installed files match the pin right now.
    pub verified: bool,
    /// Why they do not, naming the first changed, added or removed file.
    pub problem: Option<String>,
    /// When the files were last re-hashed (at a launch or on request) and
    /// what that found.
    pub last_check: Option<super::LastCheck>,
}

impl PackageStatus {
    fn of(server: String, check: super::LaunchCheck, last_check: Option<super::LastCheck>) -> Self {
        let (pin, problem) = match check {
            super::LaunchCheck::NoPackage => (None, None),
            super::LaunchCheck::Verified(pin) => (Some(pin), None),
            super::LaunchCheck::Mismatch { pin, reason } => (Some(pin), Some(reason)),
        };
        Self {
            server,
            verified: pin.is_some() && problem.is_none(),
            path: pin.as_ref().map(|p| p.path.display().to_string()),
            tree_hash: pin.as_ref().map(|p| p.tree_hash.clone()),
            registry: pin.as_ref().and_then(|p| p.registry.clone()),
            package: pin.map(|p| p.spec),
            problem,
            last_check,
        }
    }
}

impl Engine {
    /// Re-hashes `server`'s installed package and compares it with its pin,
    /// as a launch does.
    pub fn package_verify(&self, server: String) -> Result<PackageStatus> {
        let check = {
            let store = self.store();
            store.server(&server)?;
            store.package_pin(&server)?
        };
        // Hashed without holding the store.
        let check = match check {
            None => super::LaunchCheck::NoPackage,
            Some(pin) => super::verify(&server, pin),
        };
        let last = self.store().package_check_record(&server, &check)?;
        Ok(PackageStatus::of(server, check, last))
    }

    /// `server`'s installed package as last checked, without re-hashing it;
    /// none when it runs no installed package.
    pub fn package_status(&self, server: String) -> Result<Option<PackageStatus>> {
        let pin = {
            let store = self.store();
            store.server(&server)?;
            store.package_pin(&server)?
        };
        Ok(pin.map(|pin| {
            let last = pin.last_check.clone();
            let check = match &last {
                Some(super::LastCheck {
                    ok: false, problem, ..
                }) => super::LaunchCheck::Mismatch {
                    pin,
                    reason: problem.clone().unwrap_or_default(),
                },
                _ => super::LaunchCheck::Verified(pin),
            };
            let mut status = PackageStatus::of(server, check, last);
            // Never checked: not known to be verified.
            status.verified &= status.last_check.is_some();
            status
        }))
    }

    /// "Pin this version" from the app: [`Engine::package_pin_unpinned`],
    /// then the new install's status.
    pub fn package_pin(&self, server: String, version: Option<String>) -> Result<PackageStatus> {
        self.package_pin_unpinned(&server, version.as_deref())?;
        self.package_verify(server)
    }

    /// Re-vet from the app: [`Engine::package_reverify`], then the status.
    pub fn package_reinstall(&self, server: String) -> Result<PackageStatus> {
        self.package_reverify(&server)?;
        self.package_verify(server)
    }
}
