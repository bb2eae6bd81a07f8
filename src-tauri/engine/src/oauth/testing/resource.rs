//! The protected MCP resource: RFC 9728 metadata and a minimal MCP
//! endpoint behind bearer tokens the test authorization server issued.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::super::grant::now_secs;
use super::auth_server::Shared;
use super::http::{Request, Response, serve};

/// Where a protected resource publishes its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataAt {
    /// Named in the 401's `resource_metadata` (served at the path-aware
    /// well-known URI).
    Header,
    /// Only at the path-aware well-known URI; the 401 does not name it.
    PathWellKnown,
    /// Only at the root well-known URI; the 401 does not name it.
    RootWellKnown,
}

/// How a protected resource behaves.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// The MCP endpoint's path, e.g. `/mcp`.
    pub path: String,
    /// Where its metadata is.
    pub metadata: MetadataAt,
    /// A `resource` for its metadata other than its own URL.
    pub advertised_resource: Option<String>,
    /// A scope tokens must have (named in the challenge and in
    /// `scopes_supported`).
    pub scope: Option<String>,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        Self {
            path: "/mcp".into(),
            metadata: MetadataAt::Header,
            advertised_resource: None,
            scope: None,
        }
    }
}

/// Each MCP request a resource saw: the bearer token and the status.
type Seen = Arc<Mutex<Vec<(Option<String>, u16)>>>;

/// A protected MCP endpoint.
pub struct ProtectedResource {
    url: String,
    seen: Seen,
}

impl ProtectedResource {
    pub(super) fn start(auth: Arc<Shared>, config: ResourceConfig) -> Self {
        let seen: Seen = Arc::default();
        let base: Arc<Mutex<String>> = Arc::default();
        let (b, s) = (base.clone(), seen.clone());
        let cfg = config.clone();
        let shared = auth.clone();
        let url = serve(Arc::new(move |r| {
            let base = b.lock().unwrap().clone();
            resource(&shared, &cfg, &base, &s, r)
        }));
        *base.lock().unwrap() = url.clone();
        let endpoint = format!("{url}{}", config.path);
        auth.book().resources.push(endpoint.clone());
        Self {
            url: endpoint,
            seen,
        }
    }

    /// The MCP endpoint's URL (its resource identifier).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Each MCP request: the bearer token it carried and the status answered.
    pub fn requests(&self) -> Vec<(Option<String>, u16)> {
        self.seen.lock().unwrap().clone()
    }
}

fn resource(
    auth: &Shared,
    cfg: &ResourceConfig,
    base: &str,
    seen: &Mutex<Vec<(Option<String>, u16)>>,
    r: &Request,
) -> Response {
    const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
    let endpoint = format!("{base}{}", cfg.path);
    let path_aware = format!("{WELL_KNOWN}{}", cfg.path);
    let metadata_here = match cfg.metadata {
        MetadataAt::Header | MetadataAt::PathWellKnown => r.path == path_aware,
        MetadataAt::RootWellKnown => r.path == WELL_KNOWN,
    };
    if r.method == "GET" && metadata_here {
        let mut m = json!({
            "resource": cfg.advertised_resource.clone().unwrap_or_else(|| endpoint.clone()),
            "authorization_servers": [auth.issuer()],
            "bearer_methods_supported": ["header"],
        });
        if let Some(scope) = &cfg.scope {
            m["scopes_supported"] = json!([scope]);
        }
        return Response::json(200, m);
    }
    if r.path != cfg.path {
        return Response::empty(404);
    }
    let token = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_string);
    let issued = token
        .as_ref()
        .and_then(|t| auth.book().access.get(t).cloned());
    let challenge = |error: Option<(&str, &str)>| {
        let mut params = Vec::new();
        if let Some((error, description)) = error {
            params.push(format!(
                "error=\"{error}\", error_description=\"{description}\""
            ));
        }
        if cfg.metadata == MetadataAt::Header {
            params.push(format!("resource_metadata=\"{base}{path_aware}\""));
        }
        if let Some(scope) = &cfg.scope {
            params.push(format!("scope=\"{scope}\""));
        }
        format!("Bearer {}", params.join(", "))
    };
    let refusal = match (&token, &issued) {
        (None, _) => Some((401, challenge(None))),
        (Some(_), None) => Some((401, challenge(Some(("invalid_token", "unknown token"))))),
        (Some(_), Some(i)) if i.expires_at <= now_secs() => {
            Some((401, challenge(Some(("invalid_token", "expired")))))
        }
        (Some(_), Some(i)) if i.resource != endpoint => Some((
            401,
            challenge(Some(("invalid_token", "the token is for another resource"))),
        )),
        (Some(_), Some(i))
            if cfg.scope.as_ref().is_some_and(|need| {
                !i.scope
                    .as_deref()
                    .unwrap_or_default()
                    .split(' ')
                    .any(|s| s == need)
            }) =>
        {
            Some((
                403,
                challenge(Some(("insufficient_scope", "more scope needed"))),
            ))
        }
        _ => None,
    };
    if let Some((status, header)) = refusal {
        seen.lock().unwrap().push((token, status));
        return Response::json(status, json!({"error": "unauthorized"}))
            .header("WWW-Authenticate", header);
    }
    let answer = mcp(r);
    seen.lock().unwrap().push((token, answer.status));
    answer
}

/// The MCP server behind the endpoint: one JSON-RPC message per POST.
fn mcp(r: &Request) -> Response {
    if r.method != "POST" {
        return Response::empty(405).header("Allow", "POST");
    }
    let Ok(message) = serde_json::from_slice::<Value>(&r.body) else {
        return Response::json(
            400,
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}}),
        );
    };
    let Some(id) = message.get("id").cloned() else {
        return Response::empty(202);
    };
    let method = message["method"].as_str().unwrap_or_default();
    let result = match method {
        "initialize" => json!({
            "protocolVersion": message["params"]["protocolVersion"].as_str().unwrap_or("2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "oauth-test", "version": "1.0.0"},
        }),
        "ping" => json!({}),
        "tools/list" => json!({"tools": [{
            "name": "echo",
            "description": "Repeats the text it is given.",
            "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        }]}),
        "tools/call" if message["params"]["name"] == "echo" => json!({
            "content": [{"type": "text", "text": message["params"]["arguments"]["text"]}],
        }),
        _ => {
            return Response::json(
                200,
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("no method {method}")}}),
            );
        }
    };
    Response::json(200, json!({"jsonrpc": "2.0", "id": id, "result": result}))
}
