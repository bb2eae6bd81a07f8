//! `gatehouse server login|logout NAME`: a remote server's OAuth tokens.
//! The tokens go to the OS keychain and are never printed.

use std::sync::Arc;

use anyhow::bail;
use gatehouse_engine::oauth::{self, ClientCredentials, OAuth, OAuthOptions};
use gatehouse_engine::{Engine, Keychain, SecretValue, Transport};

use crate::output;

/// Authorizes now and says with whom; the token itself stays in the keychain.
pub fn login(
    engine: &Engine,
    name: &str,
    client_id: Option<String>,
    read_secret: bool,
    json: bool,
) -> anyhow::Result<()> {
    let server = engine.server(name)?;
    let Transport::Http {
        url,
        headers,
        secrets,
    } = &server.transport
    else {
        bail!("'{name}' runs a local command; only remote servers (added with --url) log in");
    };
    if headers
        .keys()
        .chain(secrets)
        .any(|h| h.eq_ignore_ascii_case("authorization"))
    {
        bail!(
            "'{name}' sends an Authorization header of its own, so Gatehouse does not use OAuth for it; remove the server and add it again without that header to use OAuth"
        );
    }
    let client_secret = if read_secret {
        Some(read_client_secret(name)?)
    } else {
        None
    };
    let options = OAuthOptions {
        client: client_id.map(|client_id| ClientCredentials {
            client_id,
            client_secret,
        }),
        ..OAuthOptions::default()
    };
    let oauth = OAuth::new(name, url, Arc::new(Keychain), options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let login = runtime.block_on(oauth.login())?;
    if json {
        output::json(&login)?;
    } else {
        let scope = login.scope.as_deref().unwrap_or("(none named)");
        let expiry = match login.expires_at {
            Some(at) => format!(
                "the token expires {}",
                gatehouse_engine::rfc3339(
                    i64::try_from(at).unwrap_or(i64::MAX / 1_000_000) * 1_000_000
                )
            ),
            None => "the token's expiry was not given".to_string(),
        };
        let refresh = if login.refreshable {
            "; Gatehouse refreshes it"
        } else {
            "; no refresh token, so you will be asked again when it expires"
        };
        println!(
            "logged in to {name} at {} as OAuth client {} (scope {scope}); {expiry}{refresh}. The tokens are in the OS keychain.",
            login.issuer, login.client_id
        );
    }
    Ok(())
}

/// The client secret, from stdin (prompted without echo on a terminal).
fn read_client_secret(name: &str) -> anyhow::Result<SecretValue> {
    let value = super::secret::read_secret(
        &format!("OAuth client secret for {name}: "),
        "the client secret",
    )?;
    if value.is_empty() {
        bail!("the client secret is empty; pass it on stdin");
    }
    Ok(SecretValue::new(value))
}

/// Deletes the server's tokens from the keychain.
pub fn logout(engine: &Engine, name: &str, json: bool) -> anyhow::Result<()> {
    engine.server(name)?;
    let had = oauth::logout(engine.secrets(), name)?;
    if json {
        output::json(&serde_json::json!({ "server": name, "logged_out": had }))?;
    } else if had {
        println!("logged out of {name}: its OAuth tokens were deleted from the OS keychain");
    } else {
        println!("{name} had no OAuth tokens; nothing to delete");
    }
    Ok(())
}
