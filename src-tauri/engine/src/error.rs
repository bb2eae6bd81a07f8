//! The engine's error type. Every variant reads as a sentence a person can act
//! on, and maps to a stable `code` that crosses the IPC boundary.

use std::path::PathBuf;

/// The engine's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A server name that cannot be used as a key or in a config file.
    #[error(
        "server name {0:?} is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    )]
    InvalidName(String),

    /// A server description that is incomplete or contradictory.
    #[error("{0}")]
    InvalidSpec(String),

    /// A client's config file could not be read, planned or written.
    #[error("{0}")]
    ClientConfig(String),

    /// `server add` for a name that is taken.
    #[error(
        "a server named '{0}' already exists; remove it first with `gatehouse server remove {0}`"
    )]
    ServerExists(String),

    /// A change that needs the person to confirm it first (always allowing
    /// a critical tool).
    #[error("{0}")]
    NeedsConfirmation(String),

    /// A name that no registered server has.
    #[error("no server named '{0}'; `gatehouse server list` shows the registered ones")]
    ServerNotFound(String),

    /// The database was written by a newer Gatehouse. We refuse rather than guess.
    #[error(
        "the database {path} has schema version {found}, but this Gatehouse knows only up to {supported}; install a newer Gatehouse or move the database aside"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest version this build can migrate to.
        supported: i64,
    },

    /// SQLite refused: locked, corrupt, unreadable, full.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),

    /// A data-directory file or folder could not be created or read.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The OS keychain could not be reached or refused the operation.
    #[error("OS keychain: {0}")]
    Keychain(String),

    /// The MCP Registry or a package registry could not be reached, answered
    /// with an error, or sent something Gatehouse cannot read; the message
    /// names the URL.
    #[error("{0}")]
    Registry(String),

    /// A registry version whose status (deprecated, deleted, unknown) keeps
    /// it from being installed without the person's explicit say-so.
    #[error("{0}")]
    VersionNotActive(String),

    /// A package whose ownership did not check out (it names another server,
    /// or nothing), installed only with the person's explicit confirmation.
    #[error("{0}")]
    OwnershipUnverified(String),

    /// A server launched to list its tools (a dry start) could not be
    /// started, exited, or answered something that is not MCP; the message
    /// ends with its stderr.
    #[error("{0}")]
    StartFailed(String),

    /// A server launched to list its tools did not list them in time; the
    /// message ends with its stderr.
    #[error("{0}")]
    StartTimedOut(String),

    /// A remote server's OAuth authorization could not be obtained: discovery,
    /// registration, consent or a token request failed, or something the
    /// authorization server or resource sent was refused; the message names
    /// the server and what to do.
    #[error("{0}")]
    Authorization(String),

    /// A secret a server needs is not in the keychain.
    #[error(
        "secret {key} of server '{server}' is not in the OS keychain; set it with `gatehouse secret set {server} {key}`"
    )]
    SecretMissing {
        /// The server.
        server: String,
        /// The environment variable name.
        key: String,
    },
}

impl Error {
    /// A stable, machine-readable code for this error, used across IPC.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidName(_) => "invalid_name",
            Error::InvalidSpec(_) => "invalid_spec",
            Error::ClientConfig(_) => "client_config",
            Error::ServerExists(_) => "server_exists",
            Error::ServerNotFound(_) => "server_not_found",
            Error::NeedsConfirmation(_) => "needs_confirmation",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::Database(_) => "database",
            Error::Io { .. } => "io",
            Error::Keychain(_) => "keychain",
            Error::SecretMissing { .. } => "secret_missing",
            Error::Registry(_) => "registry",
            Error::VersionNotActive(_) => "version_not_active",
            Error::OwnershipUnverified(_) => "ownership_unverified",
            Error::StartFailed(_) => "start_failed",
            Error::StartTimedOut(_) => "start_timed_out",
            Error::Authorization(_) => "authorization",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
