//! How the bridge authorizes its requests to a remote server. Static
//! headers need nothing more; OAuth ([`crate::oauth`]) implements
//! [`Authorizer`] with tokens from the keychain.

use std::future::Future;
use std::pin::Pin;

use crate::{Result, SecretValue};

/// A boxed future, for the object-safe [`Authorizer`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Supplies the `Authorization` header of a remote server's requests.
pub trait Authorizer: Send + Sync {
    /// The header value to send now (`Bearer …`), if any. An implementation
    /// refreshes a token that is about to expire before answering.
    fn authorization(&self) -> BoxFuture<'_, Result<Option<SecretValue>>>;

    /// The server answered 401 (or 403 `insufficient_scope`) with this
    /// `WWW-Authenticate` header: obtain a new authorization (refresh, or
    /// ask the person), or fail with an error that says what to do.
    /// `Ok(None)`: nothing more can be tried.
    fn unauthorized<'a>(
        &'a self,
        challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretValue>>>;
}

/// No authorization beyond the server's static headers.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAuth;

impl Authorizer for NoAuth {
    fn authorization(&self) -> BoxFuture<'_, Result<Option<SecretValue>>> {
        Box::pin(async { Ok(None) })
    }

    fn unauthorized<'a>(
        &'a self,
        _challenge: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<SecretValue>>> {
        Box::pin(async { Ok(None) })
    }
}
