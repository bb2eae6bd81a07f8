//! Finding a remote server's authorization server: its protected resource
//! metadata (RFC 9728), from the challenge's `resource_metadata` or the
//! well-known URIs, then the authorization server's metadata (RFC 8414, or
//! OpenID Connect Discovery), in the order the MCP specification gives.

use serde::Deserialize;
use url::Url;

use super::challenge::Challenge;
use super::wire::{Http, fail};
use crate::Result;

/// A server URL in the canonical form the MCP specification asks for as the
/// RFC 8707 `resource`: lowercase scheme and host (the URL parser does
/// both), no default port, no fragment, and no trailing slash when the path
/// is just `/`.
pub fn canonical_url(url: &str) -> Result<String> {
    let parsed =
        Url::parse(url.trim()).map_err(|e| fail(format!("{url:?} is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(fail(format!("{url:?} is not an http:// or https:// URL")));
    }
    Ok(canonical(&parsed))
}

fn canonical(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    let text = url.to_string();
    if url.path() == "/" && url.query().is_none() {
        text.trim_end_matches('/').to_string()
    } else {
        text
    }
}

/// Refuses a URL that OAuth must not use in the clear: HTTPS is required
/// (MCP authorization, "Communication Security"), except on the loopback
/// interface, which never leaves the machine.
pub(super) fn require_secure(url: &Url, what: &str) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(fail(format!(
            "{what} {url} is not an https:// URL; Gatehouse sends OAuth requests and tokens over HTTPS only (plain http only to 127.0.0.1, ::1 or localhost)"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether the protected resource metadata's `resource` covers the server
/// URL: the URL itself, or a parent of it on the same origin at a path
/// segment boundary (`https://h` or `https://h/api` for `https://h/api/mcp`),
/// as the root well-known URI names the origin (RFC 9728 §3.1) and the
/// reference MCP SDKs accept. Both are canonical.
pub(super) fn resource_covers(resource: &str, server: &str) -> bool {
    let (Ok(r), Ok(s)) = (Url::parse(resource), Url::parse(server)) else {
        return false;
    };
    if r.origin() != s.origin() || r.query().is_some() && r.query() != s.query() {
        return false;
    }
    if resource == server {
        return true;
    }
    let parent = r.path().trim_end_matches('/');
    let path = s.path();
    r.query().is_none()
        && path.starts_with(parent)
        && (path.len() == parent.len() || path.as_bytes()[parent.len()] == b'/')
}

/// RFC 9728 §2: what a protected resource says about itself.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ResourceMetadata {
    /// Its resource identifier, checked to cover the server URL.
    pub resource: String,
    /// Its authorization servers' issuer identifiers.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// The scopes it knows.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// RFC 8414 §2 (or OpenID Connect Discovery): what Gatehouse needs of an
/// authorization server's metadata.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ServerMetadata {
    /// Its issuer identifier, checked to be the one asked for.
    pub issuer: String,
    /// Where the person consents.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens become access tokens.
    pub token_endpoint: String,
    /// RFC 7591 dynamic client registration, if offered.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// PKCE methods; must include `S256`.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// If present, must include `code`.
    #[serde(default)]
    pub response_types_supported: Option<Vec<String>>,
    /// If present, must include `authorization_code`.
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Everything discovery found for one server.
#[derive(Debug, Clone)]
pub(super) struct Discovered {
    /// The RFC 8707 `resource` to ask tokens for: the protected resource's
    /// own identifier, which covers the server URL.
    pub resource: String,
    /// The scopes to ask for: the challenge's, else the resource's
    /// `scopes_supported`, else none (the parameter is left out).
    pub scope: Option<String>,
    /// The authorization server.
    pub server: ServerMetadata,
}

/// Discovers the authorization server of the resource at `server_url`
/// (canonical), starting from `challenge` if the server sent one.
pub(super) async fn discover(
    http: &Http,
    name: &str,
    server_url: &str,
    challenge: Option<&Challenge>,
) -> Result<Discovered> {
    let url = Url::parse(server_url).map_err(|e| fail(format!("{server_url:?}: {e}")))?;
    require_secure(&url, &format!("server '{name}' URL"))?;
    let metadata = resource_metadata(http, name, &url, challenge).await?;
    let resource = canonical_url(&metadata.resource).map_err(|_| {
        fail(format!(
            "server '{name}': its protected resource metadata names resource {:?}, which is not an http(s) URL",
            metadata.resource
        ))
    })?;
    if !resource_covers(&resource, server_url) {
        return Err(fail(format!(
            "server '{name}': its protected resource metadata is for {resource}, not for {server_url}; refusing to get tokens for another resource (RFC 9728 §3.3)"
        )));
    }
    // RFC 9728 §7.6 leaves the choice to the client: the first one listed.
    let issuer = metadata.authorization_servers.first().ok_or_else(|| {
        fail(format!(
            "server '{name}': its protected resource metadata lists no authorization_servers"
        ))
    })?;
    let server = server_metadata(http, name, issuer).await?;
    let scope = challenge
        .and_then(|c| c.scope.clone())
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            metadata
                .scopes_supported
                .as_ref()
                .filter(|s| !s.is_empty())
                .map(|s| s.join(" "))
        });
    Ok(Discovered {
        resource,
        scope,
        server,
    })
}

/// The protected resource metadata: from the challenge's
/// `resource_metadata` when given, else from the path-aware well-known URI,
/// then the root one (MCP authorization, "Protected Resource Metadata
/// Discovery Requirements").
async fn resource_metadata(
    http: &Http,
    name: &str,
    server: &Url,
    challenge: Option<&Challenge>,
) -> Result<ResourceMetadata> {
    const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
    let candidates: Vec<Url> = match challenge.and_then(|c| c.resource_metadata.as_deref()) {
        Some(given) => {
            let url = server.join(given).map_err(|e| {
                fail(format!(
                    "server '{name}' named resource metadata at {given:?}, which is not a URL: {e}"
                ))
            })?;
            require_secure(&url, &format!("server '{name}' resource metadata"))?;
            vec![url]
        }
        None => {
            let mut list = Vec::with_capacity(2);
            let path = server.path().trim_end_matches('/');
            if !path.is_empty() {
                let mut url = server.clone();
                url.set_path(&format!("{WELL_KNOWN}{path}"));
                url.set_fragment(None);
                list.push(url);
            }
            let mut root = server.clone();
            root.set_path(WELL_KNOWN);
            root.set_query(None);
            root.set_fragment(None);
            list.push(root);
            list
        }
    };
    let mut tried = Vec::with_capacity(candidates.len());
    for url in candidates {
        let got = http.get(&url).await?;
        if got.status.is_success() {
            let metadata: ResourceMetadata = got.json(&url)?;
            return Ok(metadata);
        }
        tried.push(format!("{url} (HTTP {})", got.status.as_u16()));
    }
    Err(fail(format!(
        "server '{name}' asked for authorization but publishes no protected resource metadata (RFC 9728); tried {}",
        tried.join(", ")
    )))
}

/// The metadata URLs to try for `issuer`, in the MCP specification's order:
/// with a path, RFC 8414 path insertion, OIDC path insertion, OIDC path
/// appending; without, RFC 8414 then OIDC.
pub(super) fn server_metadata_urls(issuer: &Url) -> Vec<Url> {
    const OAUTH: &str = "/.well-known/oauth-authorization-server";
    const OIDC: &str = "/.well-known/openid-configuration";
    let path = issuer.path().trim_end_matches('/');
    let at = |p: String| {
        let mut url = issuer.clone();
        url.set_path(&p);
        url.set_query(None);
        url.set_fragment(None);
        url
    };
    if path.is_empty() {
        vec![at(OAUTH.into()), at(OIDC.into())]
    } else {
        vec![
            at(format!("{OAUTH}{path}")),
            at(format!("{OIDC}{path}")),
            at(format!("{path}{OIDC}")),
        ]
    }
}

async fn server_metadata(http: &Http, name: &str, issuer: &str) -> Result<ServerMetadata> {
    let issuer_url = Url::parse(issuer).map_err(|e| {
        fail(format!(
            "server '{name}' names authorization server {issuer:?}, which is not a URL: {e}"
        ))
    })?;
    require_secure(
        &issuer_url,
        &format!("server '{name}' authorization server"),
    )?;
    if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
        return Err(fail(format!(
            "server '{name}' names authorization server {issuer}, whose issuer identifier has a query or fragment (RFC 8414 §2 forbids both)"
        )));
    }
    let mut tried = Vec::with_capacity(3);
    for url in server_metadata_urls(&issuer_url) {
        let got = http.get(&url).await?;
        if !got.status.is_success() {
            tried.push(format!("{url} (HTTP {})", got.status.as_u16()));
            continue;
        }
        let metadata: ServerMetadata = got.json(&url)?;
        // RFC 8414 §3.3 and OIDC Discovery §4.3: the issuer must be the one
        // the metadata was asked for, or another server could pose as it.
        if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(fail(format!(
                "authorization server metadata at {url} is for issuer {:?}, not {issuer}; refused (RFC 8414 §3.3)",
                metadata.issuer
            )));
        }
        check_server(name, &metadata)?;
        return Ok(metadata);
    }
    Err(fail(format!(
        "server '{name}': authorization server {issuer} publishes no metadata (RFC 8414 or OpenID Connect Discovery); tried {}",
        tried.join(", ")
    )))
}

/// What an authorization server must offer before Gatehouse sends the
/// person to it.
fn check_server(name: &str, m: &ServerMetadata) -> Result<()> {
    let issuer = &m.issuer;
    let s256 = m
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|methods| methods.iter().any(|x| x == "S256"));
    if !s256 {
        return Err(fail(format!(
            "server '{name}': authorization server {issuer} does not list PKCE method S256 in code_challenge_methods_supported; the MCP specification forbids authorizing without it"
        )));
    }
    if let Some(types) = &m.response_types_supported
        && !types.iter().any(|t| t == "code")
    {
        return Err(fail(format!(
            "server '{name}': authorization server {issuer} does not support the authorization code flow (response_types_supported lacks \"code\")"
        )));
    }
    if let Some(grants) = &m.grant_types_supported
        && !grants.iter().any(|g| g == "authorization_code")
    {
        return Err(fail(format!(
            "server '{name}': authorization server {issuer} does not offer the authorization_code grant"
        )));
    }
    for (what, endpoint) in [
        ("authorization endpoint", Some(&m.authorization_endpoint)),
        ("token endpoint", Some(&m.token_endpoint)),
        ("registration endpoint", m.registration_endpoint.as_ref()),
    ] {
        let Some(endpoint) = endpoint else { continue };
        let url = Url::parse(endpoint).map_err(|e| {
            fail(format!(
                "server '{name}': authorization server {issuer} gives {what} {endpoint:?}, which is not a URL: {e}"
            ))
        })?;
        require_secure(&url, &format!("server '{name}' {what}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls_drop_what_does_not_identify_the_server() {
        for (given, want) in [
            ("HTTPS://MCP.Example.com/", "https://mcp.example.com"),
            (
                "https://mcp.example.com:443/mcp",
                "https://mcp.example.com/mcp",
            ),
            (
                "https://mcp.example.com:8443",
                "https://mcp.example.com:8443",
            ),
            (
                "https://mcp.example.com/mcp#frag",
                "https://mcp.example.com/mcp",
            ),
            (
                "https://mcp.example.com/mcp/",
                "https://mcp.example.com/mcp/",
            ),
            ("http://127.0.0.1:9/a?x=1", "http://127.0.0.1:9/a?x=1"),
        ] {
            assert_eq!(canonical_url(given).unwrap(), want, "{given}");
        }
        for bad in ["mcp.example.com", "ftp://x/y", "https://"] {
            assert!(canonical_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_resource_covers_itself_and_its_parents_on_the_same_origin_only() {
        let server = "https://h.example/api/mcp";
        for ok in [
            "https://h.example/api/mcp",
            "https://h.example/api",
            "https://h.example/api/",
            "https://h.example",
        ] {
            assert!(resource_covers(ok, server), "{ok}");
        }
        for bad in [
            "https://h.example/ap",
            "https://h.example/api/mcp/more",
            "https://other.example/api/mcp",
            "http://h.example/api/mcp",
            "https://h.example:444/api/mcp",
            "https://h.example/other",
        ] {
            assert!(!resource_covers(bad, server), "{bad}");
        }
    }

    #[test]
    fn metadata_urls_follow_the_specs_order() {
        let urls = |issuer: &str| -> Vec<String> {
            server_metadata_urls(&Url::parse(issuer).unwrap())
                .into_iter()
                .map(String::from)
                .collect()
        };
        assert_eq!(
            urls("https://auth.example.com/tenant1"),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            urls("https://auth.example.com/"),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        for ok in [
            "https://a.example/x",
            "http://127.0.0.1:8/x",
            "http://[::1]:8/",
            "http://localhost/x",
        ] {
            assert!(
                require_secure(&Url::parse(ok).unwrap(), "x").is_ok(),
                "{ok}"
            );
        }
        for bad in ["http://a.example/x", "http://10.0.0.1/", "ftp://127.0.0.1/"] {
            assert!(
                require_secure(&Url::parse(bad).unwrap(), "x").is_err(),
                "{bad}"
            );
        }
    }
}
