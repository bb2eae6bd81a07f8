//! The authorization server's endpoints: RFC 8414 / OpenID Connect
//! metadata, RFC 7591 registration, `/authorize` and `/token`.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::super::consent::{random_token, s256};
use super::super::grant::now_secs;
use super::auth_server::{Book, Client, Code, Event, Issued, Shared};
use super::http::{Request, Response};

pub(super) fn authorization_server(shared: &Shared, r: &Request) -> Response {
    let cfg = &shared.config;
    let issuer = shared.issuer();
    let ip = &cfg.issuer_path;
    let oauth_path = format!("/.well-known/oauth-authorization-server{ip}");
    let oidc_path = format!("{ip}/.well-known/openid-configuration");
    let path = r.path.as_str();
    let metadata_here = if cfg.openid_only {
        path == oidc_path
    } else {
        path == oauth_path
    };
    if r.method == "GET" && metadata_here {
        shared.book().events.push(Event::Metadata(path.into()));
        let mut m = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "authorization_response_iss_parameter_supported": true,
        });
        if let Some(methods) = &cfg.pkce_methods {
            m["code_challenge_methods_supported"] = json!(methods);
        }
        if cfg.dynamic_registration {
            m["registration_endpoint"] = json!(format!("{issuer}/register"));
        }
        return Response::json(200, m);
    }
    let Some(endpoint) = path.strip_prefix(ip.as_str()) else {
        return Response::empty(404);
    };
    match (r.method.as_str(), endpoint) {
        ("POST", "/register") if cfg.dynamic_registration => register(shared, r),
        ("GET", "/authorize") => authorize(shared, r, &issuer),
        ("POST", "/token") => token(shared, r),
        _ => Response::empty(404),
    }
}

fn register(shared: &Shared, r: &Request) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&r.body) else {
        return Response::oauth_error(400, "invalid_client_metadata", "not JSON");
    };
    let uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if uris.is_empty() {
        return Response::oauth_error(400, "invalid_redirect_uri", "redirect_uris is required");
    }
    let client_id = format!("client-{}", &random_token().expect("random")[..12]);
    let secret = shared
        .config
        .confidential_clients
        .then(|| random_token().expect("random"));
    let mut book = shared.book();
    book.events.push(Event::Registered {
        client_id: client_id.clone(),
        redirect_uri: uris[0].clone(),
    });
    book.clients.insert(
        client_id.clone(),
        Client {
            secret: secret.clone(),
            redirect_uris: uris.clone(),
        },
    );
    let mut answer = json!({
        "client_id": client_id,
        "redirect_uris": uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": if secret.is_some() { "client_secret_basic" } else { "none" },
    });
    if let Some(secret) = secret {
        answer["client_secret"] = json!(secret);
        answer["client_secret_expires_at"] = json!(0);
    }
    Response::json(201, answer)
}

fn loopback_callback(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http" && u.host_str() == Some("127.0.0.1") && u.path() == "/callback"
    })
}

fn authorize(shared: &Shared, r: &Request, issuer: &str) -> Response {
    let q = r.query_params();
    let get = |k: &str| q.get(k).cloned();
    let (Some(client_id), Some(redirect_uri)) = (get("client_id"), get("redirect_uri")) else {
        return Response::empty(400);
    };
    let mut book = shared.book();
    book.events.push(Event::Authorize {
        client_id: client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        resource: get("resource"),
        scope: get("scope"),
    });
    // An unknown client or redirect URI is never redirected to (RFC 6749 §4.1.2.1).
    let Some(client) = book.clients.get(&client_id) else {
        return Response::empty(400);
    };
    let redirect_ok = if client.redirect_uris.is_empty() {
        loopback_callback(&redirect_uri)
    } else {
        client.redirect_uris.contains(&redirect_uri)
    };
    if !redirect_ok {
        return Response::empty(400);
    }
    let mut back = url::Url::parse(&redirect_uri).expect("checked");
    let error = if shared.config.deny {
        Some("access_denied")
    } else if get("response_type").as_deref() != Some("code") {
        Some("unsupported_response_type")
    } else if get("code_challenge_method").as_deref() != Some("S256")
        || get("code_challenge").is_none_or(|c| c.len() != 43)
    {
        Some("invalid_request")
    } else if get("resource").is_none_or(|res| !book.resources.contains(&res)) {
        Some("invalid_target")
    } else {
        None
    };
    {
        let mut pairs = back.query_pairs_mut();
        match error {
            Some(error) => {
                pairs.append_pair("error", error);
            }
            None => {
                let code = random_token().expect("random");
                book.codes.insert(
                    code.clone(),
                    Code {
                        client_id,
                        redirect_uri: redirect_uri.clone(),
                        challenge: get("code_challenge").unwrap_or_default(),
                        resource: get("resource").unwrap_or_default(),
                        scope: get("scope"),
                    },
                );
                pairs.append_pair("code", &code);
            }
        }
        if let Some(state) = get("state") {
            pairs.append_pair("state", &state);
        }
        pairs.append_pair("iss", issuer);
    }
    Response::empty(302).header("Location", back.as_str())
}

/// The client a token request authenticates as (RFC 6749 §2.3).
fn token_client(
    book: &Book,
    r: &Request,
    form: &HashMap<String, String>,
) -> Result<String, Response> {
    let basic = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((dec(id)?, Some(dec(secret)?)))
        });
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => match form.get("client_id") {
            Some(id) => (id.clone(), form.get("client_secret").cloned()),
            None => return Err(Response::oauth_error(401, "invalid_client", "no client")),
        },
    };
    match book.clients.get(&id) {
        Some(c) if c.secret == secret => Ok(id),
        Some(_) => Err(Response::oauth_error(
            401,
            "invalid_client",
            "wrong client secret",
        )),
        None => Err(Response::oauth_error(
            401,
            "invalid_client",
            "unknown client",
        )),
    }
}

fn token(shared: &Shared, r: &Request) -> Response {
    let form = r.form();
    let grant_type = form.get("grant_type").cloned().unwrap_or_default();
    let resource = form.get("resource").cloned();
    let mut book = shared.book();
    let result = issue_tokens(shared, &mut book, r, &form, &grant_type);
    book.events.push(Event::Token {
        grant_type,
        resource,
        outcome: match &result {
            Ok(_) => Ok(()),
            Err((_, error, _)) => Err(error.to_string()),
        },
    });
    match result {
        Ok(body) => Response::json(200, body),
        Err((status, error, why)) => Response::oauth_error(status, error, &why),
    }
}

type TokenResult = Result<Value, (u16, &'static str, String)>;

fn issue_tokens(
    shared: &Shared,
    book: &mut Book,
    r: &Request,
    form: &HashMap<String, String>,
    grant_type: &str,
) -> TokenResult {
    let client_id = token_client(book, r, form).map_err(|_| {
        (
            401,
            "invalid_client",
            "client authentication failed".to_string(),
        )
    })?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (resource, scope) = match grant_type {
        "authorization_code" => {
            let code = book.codes.remove(&field("code")).ok_or((
                400,
                "invalid_grant",
                "unknown or used code".to_string(),
            ))?;
            if code.client_id != client_id {
                return Err((400, "invalid_grant", "code issued to another client".into()));
            }
            if code.redirect_uri != field("redirect_uri") {
                return Err((400, "invalid_grant", "redirect_uri differs".into()));
            }
            if s256(&field("code_verifier")) != code.challenge {
                return Err((400, "invalid_grant", "PKCE verifier does not match".into()));
            }
            if form.get("resource") != Some(&code.resource) {
                return Err((
                    400,
                    "invalid_target",
                    "resource differs from the authorization request's".into(),
                ));
            }
            (code.resource, code.scope)
        }
        "refresh_token" => {
            let old = book.refresh.remove(&field("refresh_token")).ok_or((
                400,
                "invalid_grant",
                "unknown or revoked refresh token".to_string(),
            ))?;
            if old.client_id != client_id {
                return Err((
                    400,
                    "invalid_grant",
                    "refresh token of another client".into(),
                ));
            }
            if form.get("resource").is_some_and(|r| *r != old.resource) {
                return Err((
                    400,
                    "invalid_target",
                    "resource differs from the grant's".into(),
                ));
            }
            (old.resource, old.scope)
        }
        _ => return Err((400, "unsupported_grant_type", grant_type.to_string())),
    };
    let lifetime = shared.config.access_lifetime;
    let issued = Issued {
        client_id,
        resource,
        scope: scope.clone(),
        expires_at: now_secs() + lifetime,
    };
    let access = random_token().expect("random");
    let refresh = random_token().expect("random");
    book.access.insert(access.clone(), issued.clone());
    book.refresh.insert(
        refresh.clone(),
        Issued {
            expires_at: u64::MAX,
            ..issued
        },
    );
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "refresh_token": refresh,
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    Ok(body)
}
