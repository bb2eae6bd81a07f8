//! `mcp-echo-http`: `mcp-echo` over Streamable HTTP, the upstream of
//! `gateway-bench`. One endpoint, `/mcp`: `initialize` starts a session
//! (`Mcp-Session-Id: bench`), `tools/list` names `echo` and `noop`,
//! `tools/call` answers at once with a JSON body, notifications get 202,
//! GET 405 (no server-initiated stream), DELETE 200.
//!
//! Prints `listening on 127.0.0.1:PORT` on stdout once it accepts.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(port))
}

async fn serve(port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if response.status() == StatusCode::OK {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
    }
    response
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    match *request.method() {
        Method::GET => return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, Vec::new())),
        Method::DELETE => return Ok(reply(StatusCode::OK, Vec::new())),
        _ => {}
    }
    let Ok(body) = request.into_body().collect().await else {
        return Ok(reply(StatusCode::BAD_REQUEST, Vec::new()));
    };
    let Ok(message) = serde_json::from_slice::<Value>(&body.to_bytes()) else {
        return Ok(reply(StatusCode::BAD_REQUEST, Vec::new()));
    };
    let Some(id) = message.get("id") else {
        return Ok(reply(StatusCode::ACCEPTED, Vec::new()));
    };
    let result = match message["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": message["params"]["protocolVersion"].as_str().unwrap_or("2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "mcp-echo-http", "version": "1"}
        }),
        Some("tools/list") => json!({"tools": [
            {"name": "echo", "description": "Echo the text back.", "annotations": {"readOnlyHint": true},
             "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
            {"name": "noop", "description": "Do nothing.", "annotations": {"readOnlyHint": true},
             "inputSchema": {"type": "object"}}
        ]}),
        Some("tools/call") => json!({"content": [{"type": "text",
            "text": message["params"]["arguments"]["text"].as_str().unwrap_or("")}]}),
        _ => json!({}),
    };
    let body = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
        .expect("JSON serialises");
    let mut response = reply(StatusCode::OK, body);
    if message["method"] == "initialize" {
        response.headers_mut().insert(
            "mcp-session-id",
            hyper::header::HeaderValue::from_static("bench"),
        );
    }
    Ok(response)
}
