//! `clients import`: registers the servers found in clients' configs as
//! Gatehouse servers.
//!
//! - The same server in several clients (the same command line, or the same
//!   URL) becomes one Gatehouse server; one already registered is reused.
//! - Environment values that look like secrets go to the keychain and the
//!   server records only their names. References the client fills in itself
//!   (`${env:X}`, `${input:x}`) become secret names without a value: the
//!   server will not start until `gatehouse secret set` gives them one.
//! - An entry whose secret sits where Gatehouse cannot move it (an argument,
//!   the URL, a remote server's header) is skipped with the reason: nothing
//!   secret is ever written to the database.
//!
//! Importing leaves the client's file alone; `clients connect` rewrites it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::findings::is_reference;
use super::{Client, ClientConfig, Entry, FindingRule, value_looks_secret};
use crate::{Engine, NewServer, Result, SecretValue, Server, Transport, validate_env_key};

/// Where an imported server was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Source {
    /// The client.
    pub client: Client,
    /// Its config file.
    #[ts(type = "string")]
    pub path: PathBuf,
    /// The entry's name in that client.
    pub entry: String,
}

/// What became of one server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[ts(export)]
pub enum Outcome {
    /// Registered now.
    Added,
    /// It was registered already (under `server`).
    AlreadyRegistered,
    /// Not imported, and why.
    Skipped {
        /// Why, in words.
        reason: String,
    },
}

/// One server of the import, as the CLI and the app report it. Names only:
/// no secret value is in here.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Imported {
    /// The Gatehouse server's name (for a skipped entry, the name it would
    /// have had).
    pub server: String,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Every client entry that is this server.
    pub sources: Vec<Source>,
    /// Variables whose values were moved to the keychain.
    pub secrets_moved: Vec<String>,
    /// Variables the client filled in itself: set them with
    /// `gatehouse secret set SERVER KEY`.
    pub secrets_needed: Vec<String>,
}

/// Imports the servers of `configs` into `engine`. Each server is
/// independent: one that fails is reported and the others go on.
pub fn import(engine: &Engine, configs: &[ClientConfig]) -> Result<Vec<Imported>> {
    let mut registered = engine.server_list()?;
    let mut report = Vec::new();
    for group in group_by_identity(configs) {
        let imported = import_group(engine, &registered, &group);
        if imported.outcome == Outcome::Added {
            registered = engine.server_list()?;
        }
        report.push(imported);
    }
    Ok(report)
}

/// Entries that are the same server, first-seen order kept.
struct Group<'a> {
    identity: String,
    entries: Vec<(&'a ClientConfig, &'a Entry)>,
}

fn group_by_identity(configs: &[ClientConfig]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for config in configs.iter().filter(|c| c.error.is_none()) {
        for entry in config.servers.iter().filter(|e| !e.routed()) {
            let identity = identity(entry);
            match groups.iter_mut().find(|g| g.identity == identity) {
                Some(group) => group.entries.push((config, entry)),
                None => groups.push(Group {
                    identity,
                    entries: vec![(config, entry)],
                }),
            }
        }
    }
    groups
}

/// What makes two entries the same server: the command line, or the URL.
fn identity(entry: &Entry) -> String {
    match (&entry.command, &entry.url) {
        (Some(command), _) => format!("stdio\0{command}\0{}", entry.args.join("\0")),
        (None, Some(url)) => format!("url\0{}", url.trim_end_matches('/')),
        (None, None) => format!("unnamed\0{}", entry.name),
    }
}

fn identity_of_server(server: &Server) -> String {
    match &server.transport {
        Transport::Stdio { command, args, .. } => {
            format!("stdio\0{command}\0{}", args.join("\0"))
        }
        Transport::Http { url, .. } => format!("url\0{}", url.trim_end_matches('/')),
    }
}

fn import_group(engine: &Engine, registered: &[Server], group: &Group) -> Imported {
    let (_, first) = group.entries[0];
    let sources = group
        .entries
        .iter()
        .map(|(config, entry)| Source {
            client: config.client,
            path: config.path.clone(),
            entry: entry.name.clone(),
        })
        .collect();
    let mut imported = Imported {
        server: server_name(&first.name),
        outcome: Outcome::Added,
        sources,
        secrets_moved: Vec::new(),
        secrets_needed: Vec::new(),
    };
    if let Some(reason) = unmovable_secret(group) {
        imported.outcome = Outcome::Skipped { reason };
        return imported;
    }
    // The first value of each variable wins; clients rarely disagree.
    let mut env = BTreeMap::new();
    for (_, entry) in &group.entries {
        for (key, value) in &entry.env {
            env.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    let mut plain = BTreeMap::new();
    let mut secrets = Vec::new();
    for (key, value) in env {
        if let Err(e) = validate_env_key(&key) {
            imported.outcome = Outcome::Skipped {
                reason: e.to_string(),
            };
            return imported;
        }
        if is_reference(&value) {
            imported.secrets_needed.push(key);
        } else if value_looks_secret(&key, &value).is_some() {
            secrets.push((key, SecretValue::new(value)));
        } else {
            plain.insert(key, value);
        }
    }
    for (_, entry) in &group.entries {
        for key in &entry.env_refs {
            if !imported.secrets_needed.contains(key) && validate_env_key(key).is_ok() {
                imported.secrets_needed.push(key.clone());
            }
        }
    }

    let transport = match (&first.command, &first.url) {
        (Some(command), _) => Transport::Stdio {
            command: command.clone(),
            args: first.args.clone(),
            env: plain,
            secrets: Vec::new(),
        },
        (None, Some(url)) => {
            // Environment variables mean nothing to a remote server; the
            // headers that carry its credentials arrive with remote-server
            // support.
            imported.secrets_needed.clear();
            Transport::Http {
                url: url.clone(),
                headers: first.headers.clone(),
                secrets: Vec::new(),
            }
        }
        (None, None) => {
            imported.outcome = Outcome::Skipped {
                reason: format!(
                    "the entry has neither a command nor a URL ({} server)",
                    first.transport
                ),
            };
            return imported;
        }
    };

    let existing = registered
        .iter()
        .find(|s| identity_of_server(s) == group.identity);
    match existing {
        Some(server) => {
            imported.server = server.name.clone();
            imported.outcome = Outcome::AlreadyRegistered;
        }
        None => {
            imported.server = free_name(&imported.server, registered);
            let new = NewServer {
                name: imported.server.clone(),
                transport,
            };
            if let Err(e) = engine.server_add(new) {
                imported.outcome = Outcome::Skipped {
                    reason: e.to_string(),
                };
                return imported;
            }
        }
    }
    if let Err(e) = store_secrets(engine, &mut imported, &secrets) {
        if imported.outcome == Outcome::Added {
            // Fail closed: no server half-registered without its secrets.
            let _ = engine.server_remove(imported.server.clone());
        }
        imported.outcome = Outcome::Skipped {
            reason: e.to_string(),
        };
        imported.secrets_moved.clear();
    }
    imported
}

/// Why an imported server's secrets could not be kept; the import of
/// that server is then skipped with this as the reason.
#[derive(Debug, thiserror::Error)]
enum SecretsError {
    /// The keychain would not take the value of `key`.
    #[error("could not store {key} in the keychain: {source}")]
    Store {
        /// The secret's name.
        key: String,
        /// What the keychain answered.
        source: crate::Error,
    },
    /// The store would not record a secret the server needs.
    #[error(transparent)]
    Declare(crate::Error),
}

/// Moves `secrets` into the keychain under the imported server and declares
/// the secrets it still needs; nothing for a remote server.
fn store_secrets(
    engine: &Engine,
    imported: &mut Imported,
    secrets: &[(String, SecretValue)],
) -> std::result::Result<(), SecretsError> {
    if matches!(
        engine.server(&imported.server).map(|s| s.transport),
        Ok(Transport::Http { .. })
    ) {
        return Ok(());
    }
    for (key, value) in secrets {
        engine
            .secret_set(&imported.server, key, value)
            .map_err(|source| SecretsError::Store {
                key: key.clone(),
                source,
            })?;
        imported.secrets_moved.push(key.clone());
    }
    let mut store = engine.store();
    for key in &imported.secrets_needed {
        store
            .declare_secret(&imported.server, key)
            .map_err(SecretsError::Declare)?;
    }
    Ok(())
}

/// A secret Gatehouse cannot move into the keychain: in an argument, in
/// the URL, or in a remote server's headers.
fn unmovable_secret(group: &Group) -> Option<String> {
    for (config, entry) in &group.entries {
        for finding in &entry.findings {
            if finding.rule != FindingRule::PlaintextSecret {
                continue;
            }
            let field = finding.field.as_deref().unwrap_or_default();
            if field.starts_with("env.") {
                continue;
            }
            return Some(format!(
                "{} ({}) has a secret in {field}, which Gatehouse can only keep in plain text; move it into an environment variable in the client's config, then import again",
                entry.name,
                config.client.display_name()
            ));
        }
    }
    None
}

/// A valid Gatehouse server name for a client's entry name.
fn server_name(entry: &str) -> String {
    let mut name: String = entry
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    name.truncate(60);
    if name.is_empty() {
        name = "server".into();
    }
    name
}

/// `name`, or `name-2`, `name-3`... if a different server has it.
fn free_name(name: &str, registered: &[Server]) -> String {
    let taken = |n: &str| registered.iter().any(|s| s.name == n);
    if !taken(name) {
        return name.to_string();
    }
    (2..)
        .map(|i| format!("{name}-{i}"))
        .find(|n| !taken(n))
        .expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::{DataDir, SecretStore};

    #[derive(Default)]
    struct MemorySecrets(Mutex<HashMap<(String, String), String>>);

    impl SecretStore for MemorySecrets {
        fn set(&self, server: &str, key: &str, value: &SecretValue) -> Result<()> {
            self.0
                .lock()
                .unwrap()
                .insert((server.into(), key.into()), value.expose().into());
            Ok(())
        }
        fn get(&self, server: &str, key: &str) -> Result<Option<SecretValue>> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(&(server.into(), key.into()))
                .map(|v| SecretValue::new(v.clone())))
        }
        fn delete(&self, server: &str, key: &str) -> Result<()> {
            self.0.lock().unwrap().remove(&(server.into(), key.into()));
            Ok(())
        }
    }

    const CANARY: &str = "ghp_importcanary0123456789abcdefABCDEF";

    fn entry(name: &str, command: &str, env: &[(&str, &str)]) -> Entry {
        Entry {
            name: name.into(),
            transport: "stdio".into(),
            command: Some(command.into()),
            args: vec![
                "-y".into(),
                "@modelcontextprotocol/server-github@2025.4.8".into(),
            ],
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    fn config(client: Client, entries: Vec<Entry>) -> ClientConfig {
        ClientConfig {
            client,
            path: PathBuf::from(format!("/home/me/{}.json", client.id())),
            source: super::super::ConfigSource::User,
            servers: entries,
            findings: Vec::new(),
            error: None,
        }
    }

    fn engine() -> (tempfile::TempDir, Engine) {
        let tmp = tempfile::tempdir().unwrap();
        let engine = Engine::open(
            DataDir::at(tmp.path()).unwrap(),
            Box::new(MemorySecrets::default()),
        )
        .unwrap();
        (tmp, engine)
    }

    #[test]
    fn one_server_in_two_clients_becomes_one_with_its_secret_in_the_keychain() {
        let (tmp, engine) = engine();
        let configs = vec![
            config(
                Client::ClaudeDesktop,
                vec![entry(
                    "GitHub",
                    "npx",
                    &[("GITHUB_TOKEN", CANARY), ("LOG_LEVEL", "debug")],
                )],
            ),
            config(
                Client::Cursor,
                vec![entry("github", "npx", &[("GITHUB_TOKEN", CANARY)])],
            ),
        ];
        let report = import(&engine, &configs).unwrap();
        let [imported] = report.as_slice() else {
            panic!("{report:?}")
        };
        assert_eq!(imported.server, "github");
        assert_eq!(imported.outcome, Outcome::Added);
        assert_eq!(imported.sources.len(), 2);
        assert_eq!(imported.secrets_moved, ["GITHUB_TOKEN"]);

        let server = engine.server("github").unwrap();
        let Transport::Stdio { env, secrets, .. } = &server.transport else {
            panic!()
        };
        assert_eq!(secrets, &["GITHUB_TOKEN"]);
        assert_eq!(env.get("LOG_LEVEL").map(String::as_str), Some("debug"));
        assert!(!env.contains_key("GITHUB_TOKEN"));
        let stored = engine.secrets().get("github", "GITHUB_TOKEN").unwrap();
        assert_eq!(stored.unwrap().expose(), CANARY);
        let db = std::fs::read(tmp.path().join("gatehouse.db")).unwrap();
        assert!(!db.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()));

        // Importing again finds it registered and adds nothing.
        let again = import(&engine, &configs).unwrap();
        assert_eq!(again[0].outcome, Outcome::AlreadyRegistered);
        assert_eq!(engine.server_list().unwrap().len(), 1);
    }

    #[test]
    fn references_become_secret_names_and_a_taken_name_gets_a_suffix() {
        let (_tmp, engine) = engine();
        engine
            .server_add(NewServer {
                name: "github".into(),
                transport: Transport::stdio("python3", ["other.py"]),
            })
            .unwrap();
        let configs = vec![config(
            Client::VsCode,
            vec![entry(
                "github",
                "npx",
                &[("GITHUB_TOKEN", "${input:token}")],
            )],
        )];
        let report = import(&engine, &configs).unwrap();
        assert_eq!(report[0].server, "github-2");
        assert_eq!(report[0].secrets_needed, ["GITHUB_TOKEN"]);
        assert!(report[0].secrets_moved.is_empty());
        let server = engine.server("github-2").unwrap();
        assert_eq!(server.transport.secret_names(), ["GITHUB_TOKEN"]);
    }

    #[test]
    fn a_secret_in_an_argument_is_not_imported() {
        let (_tmp, engine) = engine();
        let mut with_arg = entry("db", "uvx", &[]);
        with_arg.args = vec![
            "mcp-db".into(),
            "--password".into(),
            "hunter2-long-pw".into(),
        ];
        with_arg.findings = vec![super::super::Finding {
            rule: FindingRule::PlaintextSecret,
            severity: super::super::Severity::High,
            field: Some("args.2".into()),
            message: "a password".into(),
        }];
        let configs = vec![config(Client::Cursor, vec![with_arg])];
        let report = import(&engine, &configs).unwrap();
        assert!(
            matches!(&report[0].outcome, Outcome::Skipped { reason } if reason.contains("args.2")),
            "{report:?}"
        );
        assert!(engine.server_list().unwrap().is_empty());
    }

    #[test]
    fn names_are_made_valid() {
        assert_eq!(server_name("My Server (prod)"), "my-server--prod");
        assert_eq!(server_name("@scope/pkg"), "scope-pkg");
        assert_eq!(server_name("!!!"), "server");
    }
}
