//! An OAuth 2.1 authorization server and protected MCP resources written to
//! the RFCs, on 127.0.0.1, for the engine's and the CLI's tests. Nothing
//! here is used outside tests.
//!
//! - [`AuthServer`]: RFC 8414 metadata (or only OpenID Connect Discovery),
//!   RFC 7591 registration, `/authorize` that consents at once by
//!   redirecting to the client's `redirect_uri` with `code` and `state`
//!   (and RFC 9207 `iss`), and `/token` that checks the client, the PKCE
//!   verifier (S256), the `redirect_uri` and the RFC 8707 `resource`, and
//!   issues short-lived access tokens bound to that resource plus rotating
//!   refresh tokens.
//! - [`ProtectedResource`]: RFC 9728 metadata at the place its
//!   [`MetadataAt`] says, and a minimal MCP endpoint (JSON answers to
//!   `initialize`, `tools/list`, `tools/call` of `echo`, `ping`) that
//!   answers 401 with `WWW-Authenticate: Bearer …` when the token is
//!   missing, expired or for another resource, and 403
//!   `insufficient_scope` when it lacks the configured scope.
//! - [`auto_consent`]: a [`Browser`] that follows the authorization URL
//!   like a browser whose person always consents.
//!
//! [`Browser`]: super::consent::Browser

mod auth_server;
mod browser;
mod endpoints;
mod http;
mod resource;

pub use auth_server::{AuthServer, AuthServerConfig, Event, Issued};
pub use browser::{auto_consent, follow};
pub use resource::{MetadataAt, ProtectedResource, ResourceConfig};
