//! One HTTP request, from its checks to the handler of its method.
//!
//! In order: the `Host` and `Origin` must be this gateway's loopback
//! address (else 403: a web page reached through DNS rebinding gets no
//! further), the bearer token must be a client's (else 401; both in
//! `access`), and the path must be `/mcp/NAME`. Then POST carries a message
//! into a session (`post`, or `stateless` for the 2026-07-28 style), GET
//! opens a session's stream of server messages and DELETE ends a session
//! (`session`). The answers are built in `reply`.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{ALLOW, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::Shared;
use super::access::{authenticate, host_is_ours, origin_is_ours};
use super::body::Body;
use super::post::post;
use super::reply::{TRANSPORT_ERROR, error};
use super::session::{delete, get};

/// Answers one request.
pub(super) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    if !host_is_ours(&parts.headers, shared.port) {
        return error(
            StatusCode::FORBIDDEN,
            None,
            TRANSPORT_ERROR,
            "Forbidden: the Host header is not this gateway's loopback address",
        );
    }
    if !origin_is_ours(&parts.headers, shared.port) {
        return error(
            StatusCode::FORBIDDEN,
            None,
            TRANSPORT_ERROR,
            "Forbidden: requests from web pages of other origins are refused",
        );
    }
    let client = match authenticate(&shared, &parts.headers).await {
        Ok(client) => client,
        Err(denied) => return *denied,
    };
    let Some(server) = parts
        .uri
        .path()
        .strip_prefix("/mcp/")
        .filter(|name| crate::validate_server_name(name).is_ok())
    else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            TRANSPORT_ERROR,
            "Not found: the gateway serves each server at /mcp/NAME",
        );
    };
    match parts.method {
        Method::POST => post(&shared, client, server, &parts, body).await,
        Method::GET => get(&shared, &client, server, &parts.headers),
        Method::DELETE => delete(&shared, &client, server, &parts.headers).await,
        _ => {
            let mut response = error(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                TRANSPORT_ERROR,
                "Method not allowed: use POST, GET or DELETE",
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            response
        }
    }
}
