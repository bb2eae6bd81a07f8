//! Registered MCP servers: what to launch (or where to connect) and which of
//! their environment variables are secrets kept in the keychain.
//!
//! Secret *values* never reach this module: a server records only the names
//! of its secret variables; [`crate::secrets`] holds the values.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result, Store, now_micros, rfc3339};

/// How Gatehouse reaches a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "transport", rename_all = "lowercase")]
#[ts(export)]
pub enum Transport {
    /// A local process speaking MCP on stdin/stdout.
    Stdio {
        /// The program to run.
        command: String,
        /// Its arguments.
        #[serde(default)]
        args: Vec<String>,
        /// Plain environment variables.
        #[serde(default)]
        env: BTreeMap<String, String>,
        /// Names of environment variables whose values live in the keychain.
        #[serde(default)]
        secrets: Vec<String>,
    },
    /// A remote server reached over HTTP.
    Http {
        /// The endpoint.
        url: String,
        /// Static request headers.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// Names of request headers whose values live in the keychain
        /// (an API key, a bearer token), added to every request.
        #[serde(default)]
        secrets: Vec<String>,
    },
}

impl Transport {
    /// A stdio transport with no environment.
    pub fn stdio<I, S>(command: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Transport::Stdio {
            command: command.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            secrets: Vec::new(),
        }
    }

    /// The names of the values kept in the keychain: environment
    /// variables of a stdio server, headers of a remote one.
    pub fn secret_names(&self) -> &[String] {
        match self {
            Transport::Stdio { secrets, .. } | Transport::Http { secrets, .. } => secrets,
        }
    }
}

/// A server as the user asks to register it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NewServer {
    /// The unique name clients use: `gatehouse run NAME`.
    pub name: String,
    /// How to reach it.
    #[serde(flatten)]
    pub transport: Transport,
}

/// A registered server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Server {
    /// The unique name.
    pub name: String,
    /// How to reach it.
    #[serde(flatten)]
    pub transport: Transport,
    /// When it was registered (RFC 3339).
    pub created_at: String,
}

/// Checks that `name` is usable as a server name in configs and on the
/// command line: 1–64 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn validate_server_name(name: &str) -> Result<()> {
    if is_plain_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

/// 1–64 of `[A-Za-z0-9._-]`, starting with a letter or digit: what server
/// and gateway client names may be.
pub(crate) fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks that `key` is a portable environment variable name.
pub fn validate_env_key(key: &str) -> Result<()> {
    let mut bytes = key.bytes();
    let ok = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSpec(format!(
            "{key:?} is not a valid environment variable name: use letters, digits and '_', not starting with a digit"
        )))
    }
}

/// Checks that `name` is an HTTP header name (RFC 9110 `token`).
pub fn validate_header_name(name: &str) -> Result<()> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        Ok(())
    } else {
        Err(Error::InvalidSpec(format!(
            "{name:?} is not a valid HTTP header name"
        )))
    }
}

impl NewServer {
    /// Checks the whole description, so nothing half-valid is stored.
    pub fn validate(&self) -> Result<()> {
        validate_server_name(&self.name)?;
        match &self.transport {
            Transport::Stdio {
                command,
                env,
                secrets,
                ..
            } => {
                if command.trim().is_empty() {
                    return Err(Error::InvalidSpec(
                        "a stdio server needs a command to run".into(),
                    ));
                }
                for key in env.keys().chain(secrets) {
                    validate_env_key(key)?;
                }
                let mut seen = std::collections::BTreeSet::new();
                for key in secrets {
                    if env.contains_key(key) {
                        return Err(Error::InvalidSpec(format!(
                            "{key} is given both as a plain variable and as a secret; keep only --secret {key}"
                        )));
                    }
                    if !seen.insert(key) {
                        return Err(Error::InvalidSpec(format!("secret {key} is listed twice")));
                    }
                }
            }
            Transport::Http {
                url,
                headers,
                secrets,
            } => {
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                if rest.is_none_or(|host| host.is_empty() || host.starts_with('/')) {
                    return Err(Error::InvalidSpec(format!(
                        "{url:?} is not an http:// or https:// URL"
                    )));
                }
                for name in headers.keys().chain(secrets) {
                    validate_header_name(name)?;
                }
                let mut seen = std::collections::BTreeSet::new();
                for name in secrets {
                    let lower = name.to_ascii_lowercase();
                    if headers.keys().any(|h| h.eq_ignore_ascii_case(name)) {
                        return Err(Error::InvalidSpec(format!(
                            "header {name} is given both with a plain value and as a secret; keep only the secret"
                        )));
                    }
                    if !seen.insert(lower) {
                        return Err(Error::InvalidSpec(format!(
                            "secret header {name} is listed twice"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

const SERVER_COLUMNS: &str =
    "name, transport, command, args, env, secrets, url, headers, created_at";

impl Store {
    /// Registers a server. Fails if the name is taken or the spec is invalid.
    pub fn add_server(&mut self, new: &NewServer) -> Result<Server> {
        new.validate()?;
        let created_at = now_micros();
        let (transport, command, args, env, secrets, url, headers) = match &new.transport {
            Transport::Stdio {
                command,
                args,
                env,
                secrets,
            } => (
                "stdio",
                Some(command.as_str()),
                json(args),
                json(env),
                json(secrets),
                None,
                "{}".to_string(),
            ),
            Transport::Http {
                url,
                headers,
                secrets,
            } => (
                "http",
                None,
                "[]".to_string(),
                "{}".to_string(),
                json(secrets),
                Some(url.as_str()),
                json(headers),
            ),
        };
        let inserted = self.conn().execute(
            "INSERT INTO servers (name, transport, command, args, env, secrets, url, headers, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (name) DO NOTHING",
            params![new.name, transport, command, args, env, secrets, url, headers, created_at],
        )?;
        if inserted == 0 {
            return Err(Error::ServerExists(new.name.clone()));
        }
        Ok(Server {
            name: new.name.clone(),
            transport: new.transport.clone(),
            created_at: rfc3339(created_at),
        })
    }

    /// Every registered server, ordered by name.
    pub fn servers(&self) -> Result<Vec<Server>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {SERVER_COLUMNS} FROM servers ORDER BY name"
        ))?;
        let rows = stmt.query_map([], server_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One server by name.
    pub fn server(&self, name: &str) -> Result<Server> {
        self.conn()
            .query_row(
                &format!("SELECT {SERVER_COLUMNS} FROM servers WHERE name = ?1"),
                [name],
                server_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::ServerNotFound(name.to_string()))
    }

    /// Removes a server (and, by cascade, its pins). Returns what was removed
    /// so the caller can clean up its secrets.
    pub fn remove_server(&mut self, name: &str) -> Result<Server> {
        let tx = self.conn_mut().transaction()?;
        let server = tx
            .query_row(
                &format!("SELECT {SERVER_COLUMNS} FROM servers WHERE name = ?1"),
                [name],
                server_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::ServerNotFound(name.to_string()))?;
        tx.execute("DELETE FROM servers WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(server)
    }

    /// Records `key` as a secret of a server: an environment variable of a
    /// stdio server, a request header of a remote one. A plain value of the
    /// same name is removed (the keychain holds it from now on). Returns
    /// whether anything changed.
    pub fn declare_secret(&mut self, name: &str, key: &str) -> Result<bool> {
        let server = self.server(name)?;
        let (plain_column, plain, mut secrets, was_plain) = match server.transport {
            Transport::Stdio {
                mut env, secrets, ..
            } => {
                validate_env_key(key)?;
                let was_plain = env.remove(key).is_some();
                ("env", json(&env), secrets, was_plain)
            }
            Transport::Http {
                mut headers,
                secrets,
                ..
            } => {
                validate_header_name(key)?;
                let before = headers.len();
                headers.retain(|h, _| !h.eq_ignore_ascii_case(key));
                let was_plain = headers.len() != before;
                ("headers", json(&headers), secrets, was_plain)
            }
        };
        let is_new = !secrets.iter().any(|s| s.eq_ignore_ascii_case(key));
        if is_new {
            secrets.push(key.to_string());
        }
        if was_plain || is_new {
            self.conn().execute(
                &format!("UPDATE servers SET {plain_column} = ?2, secrets = ?3 WHERE name = ?1"),
                params![name, plain, json(&secrets)],
            )?;
        }
        Ok(was_plain || is_new)
    }
}

fn server_from_row(row: &Row<'_>) -> rusqlite::Result<Server> {
    fn parse<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
        let text: String = row.get(idx)?;
        serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    }
    let transport: String = row.get(1)?;
    let transport = if transport == "http" {
        Transport::Http {
            url: row.get(6)?,
            headers: parse(row, 7)?,
            secrets: parse(row, 5)?,
        }
    } else {
        Transport::Stdio {
            command: row.get(2)?,
            args: parse(row, 3)?,
            env: parse(row, 4)?,
            secrets: parse(row, 5)?,
        }
    };
    Ok(Server {
        name: row.get(0)?,
        transport,
        created_at: rfc3339(row.get(8)?),
    })
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataDir;

    fn store() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
        (tmp, store)
    }

    fn stdio(name: &str) -> NewServer {
        let mut env = BTreeMap::new();
        env.insert("LOG_LEVEL".to_string(), "debug".to_string());
        NewServer {
            name: name.into(),
            transport: Transport::Stdio {
                command: "python3".into(),
                args: vec!["server.py".into(), "--flag".into()],
                env,
                secrets: vec!["API_KEY".into()],
            },
        }
    }

    #[test]
    fn add_list_get_remove_round_trip() {
        let (_tmp, mut store) = store();
        let added = store.add_server(&stdio("demo")).unwrap();
        let remote = store
            .add_server(&NewServer {
                name: "remote".into(),
                transport: Transport::Http {
                    url: "https://example.com/mcp".into(),
                    headers: BTreeMap::from([("X-Team".into(), "blue".into())]),
                    secrets: vec!["X-Api-Key".into()],
                },
            })
            .unwrap();
        assert_eq!(store.servers().unwrap(), vec![added.clone(), remote]);
        assert_eq!(store.server("demo").unwrap(), added);
        assert_eq!(store.remove_server("demo").unwrap(), added);
        assert_eq!(store.servers().unwrap().len(), 1);
        assert_eq!(store.server("demo").unwrap_err().code(), "server_not_found");
    }

    #[test]
    fn duplicate_name_is_refused_and_keeps_the_first() {
        let (_tmp, mut store) = store();
        store.add_server(&stdio("demo")).unwrap();
        let mut other = stdio("demo");
        other.transport = Transport::stdio("node", ["other.js"]);
        assert_eq!(
            store.add_server(&other).unwrap_err().code(),
            "server_exists"
        );
        let Transport::Stdio { command, .. } = store.server("demo").unwrap().transport else {
            panic!("transport changed")
        };
        assert_eq!(command, "python3");
    }

    #[test]
    fn invalid_specs_are_refused_before_storing() {
        let (_tmp, mut store) = store();
        for name in ["", "-lead", "has space", "slash/name", &"x".repeat(65)] {
            assert_eq!(
                store.add_server(&stdio(name)).unwrap_err().code(),
                "invalid_name",
                "{name:?}"
            );
        }
        let mut bad_env = stdio("a");
        if let Transport::Stdio { env, .. } = &mut bad_env.transport {
            env.insert("1BAD".into(), "x".into());
        }
        assert_eq!(
            store.add_server(&bad_env).unwrap_err().code(),
            "invalid_spec"
        );
        let both = NewServer {
            name: "b".into(),
            transport: Transport::Stdio {
                command: "x".into(),
                args: vec![],
                env: BTreeMap::from([("K".into(), "v".into())]),
                secrets: vec!["K".into()],
            },
        };
        assert!(
            store
                .add_server(&both)
                .unwrap_err()
                .to_string()
                .contains("both")
        );
        for url in ["ftp://x", "https://", "example.com", "http:///path"] {
            let remote = NewServer {
                name: "r".into(),
                transport: Transport::Http {
                    url: url.into(),
                    headers: BTreeMap::new(),
                    secrets: Vec::new(),
                },
            };
            assert_eq!(
                store.add_server(&remote).unwrap_err().code(),
                "invalid_spec",
                "{url}"
            );
        }
        assert!(store.servers().unwrap().is_empty());
    }

    #[test]
    fn declaring_a_secret_moves_it_out_of_plain_env() {
        let (_tmp, mut store) = store();
        store.add_server(&stdio("demo")).unwrap();
        assert!(store.declare_secret("demo", "LOG_LEVEL").unwrap());
        assert!(
            !store.declare_secret("demo", "LOG_LEVEL").unwrap(),
            "second time is a no-op"
        );
        let Transport::Stdio { env, secrets, .. } = store.server("demo").unwrap().transport else {
            unreachable!()
        };
        assert!(env.is_empty());
        assert_eq!(secrets, vec!["API_KEY", "LOG_LEVEL"]);
    }

    #[test]
    fn a_remote_servers_secrets_are_headers() {
        let (_tmp, mut store) = store();
        store
            .add_server(&NewServer {
                name: "far".into(),
                transport: Transport::Http {
                    url: "https://example.com/mcp".into(),
                    headers: BTreeMap::from([
                        ("Authorization".into(), "Bearer plain".into()),
                        ("X-Team".into(), "blue".into()),
                    ]),
                    secrets: Vec::new(),
                },
            })
            .unwrap();
        assert!(store.declare_secret("far", "authorization").unwrap());
        assert!(!store.declare_secret("far", "Authorization").unwrap());
        let Transport::Http {
            headers, secrets, ..
        } = store.server("far").unwrap().transport
        else {
            unreachable!()
        };
        assert_eq!(headers.keys().collect::<Vec<_>>(), ["X-Team"]);
        assert_eq!(secrets, ["authorization"]);
        let e = store.declare_secret("far", "bad header").unwrap_err();
        assert_eq!(e.code(), "invalid_spec");
    }

    #[test]
    fn json_shape_matches_the_cli_contract() {
        let server = Server {
            name: "demo".into(),
            transport: Transport::stdio("python3", ["server.py"]),
            created_at: "2026-01-01T00:00:00.000000Z".into(),
        };
        insta::assert_json_snapshot!(server, @r#"
        {
          "name": "demo",
          "transport": "stdio",
          "command": "python3",
          "args": [
            "server.py"
          ],
          "env": {},
          "secrets": [],
          "created_at": "2026-01-01T00:00:00.000000Z"
        }
        "#);
    }
}
