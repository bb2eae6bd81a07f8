//! Remote MCP servers: the bridge between the proxy's newline-delimited
//! pipes and a server reached over HTTP.

pub mod auth;

use std::sync::Arc;

use tokio::io::DuplexStream;
use tokio::task::JoinHandle;

use crate::{DataDir, Error, Result, SecretStore, SecretValue, Server};

/// A running bridge: the proxy reads the server's messages from `reader`
/// and writes the client's to `writer`, one JSON-RPC message per line.
pub struct Link {
    /// The server's messages, as lines.
    pub reader: DuplexStream,
    /// The client's messages, as lines.
    pub writer: DuplexStream,
    /// Secret values sent to the server (header values, tokens): redacted
    /// from the audit log.
    pub secrets: Vec<SecretValue>,
    /// The bridge; it ends once `writer` is closed and its session ended.
    pub task: JoinHandle<()>,
}

/// Starts the bridge to the remote server `server`.
pub async fn connect(
    _dir: &DataDir,
    server: &Server,
    _secrets: Arc<dyn SecretStore>,
) -> Result<Link> {
    Err(Error::InvalidSpec(format!(
        "'{}' is a remote server; remote servers are not supported yet",
        server.name
    )))
}
