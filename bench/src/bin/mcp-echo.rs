//! `mcp-echo`: a minimal, fast MCP server on stdio, the upstream of the proxy
//! benchmark.
//!
//! Newline-delimited JSON-RPC. Answers `initialize` (2025-06-18 style, or
//! the version the client asks for if it is one it knows), `ping`,
//! `tools/list` (two tools: `echo` and `noop`) and `tools/call`; ignores
//! notifications and responses; anything else gets `-32601`. Output is
//! buffered and flushed once per reply, as a careful real server would.

use std::io::{self, BufRead, BufReader, BufWriter, Write};

use serde::Deserialize;
use serde_json::value::RawValue;

const PROTOCOL_VERSIONS: &[&str] = &["2025-06-18", "2025-03-26", "2024-11-05", "2025-11-25"];

const TOOLS: &str = r#"{"tools":[{"name":"echo","description":"Returns its text argument.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}},{"name":"noop","description":"Does nothing.","inputSchema":{"type":"object","properties":{}}}]}"#;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct InitializeParams<'a> {
    #[serde(borrow, rename = "protocolVersion")]
    protocol_version: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    arguments: Option<EchoArgs<'a>>,
}

#[derive(Deserialize)]
struct EchoArgs<'a> {
    #[serde(borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
}

fn main() -> io::Result<()> {
    let stdin = io::stdin().lock();
    let mut input = BufReader::with_capacity(64 * 1024, stdin);
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut line = Vec::with_capacity(8 * 1024);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = trim(&line);
        if text.is_empty() {
            continue;
        }
        if answer(text, &mut out)? {
            out.flush()?;
        }
    }
    out.flush()
}

fn trim(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

/// Writes the reply to one message, if it gets one; returns whether it did.
fn answer(line: &[u8], out: &mut impl Write) -> io::Result<bool> {
    let req: Request = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => {
            let msg = serde_json::to_string(&format!("Parse error: {e}"))?;
            writeln!(
                out,
                r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":-32700,"message":{msg}}}}}"#
            )?;
            return Ok(true);
        }
    };
    // Notifications and responses get no reply.
    let (Some(id), Some(method)) = (req.id, req.method) else {
        return Ok(false);
    };
    let id = id.get();
    match &*method {
        "initialize" => {
            let asked = req
                .params
                .and_then(|p| serde_json::from_str::<InitializeParams>(p.get()).ok())
                .and_then(|p| p.protocol_version);
            let version = match asked {
                Some(v) if PROTOCOL_VERSIONS.contains(&&*v) => v,
                _ => PROTOCOL_VERSIONS[0].into(),
            };
            writeln!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"{version}","capabilities":{{"tools":{{"listChanged":false}}}},"serverInfo":{{"name":"mcp-echo","version":"{}"}}}}}}"#,
                env!("CARGO_PKG_VERSION")
            )?;
        }
        "ping" => writeln!(out, r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#)?,
        "tools/list" => writeln!(out, r#"{{"jsonrpc":"2.0","id":{id},"result":{TOOLS}}}"#)?,
        "tools/call" => {
            let call = req
                .params
                .and_then(|p| serde_json::from_str::<CallParams>(p.get()).ok());
            match call {
                Some(c) if c.name == "echo" => {
                    let text = c.arguments.and_then(|a| a.text).unwrap_or_default();
                    let text = serde_json::to_string(&text)?;
                    writeln!(
                        out,
                        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":{text}}}],"isError":false}}}}"#
                    )?;
                }
                Some(c) if c.name == "noop" => writeln!(
                    out,
                    r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[],"isError":false}}}}"#
                )?,
                Some(c) => {
                    let msg = serde_json::to_string(&format!("Unknown tool: {}", c.name))?;
                    writeln!(
                        out,
                        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32602,"message":{msg}}}}}"#
                    )?;
                }
                None => writeln!(
                    out,
                    r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32602,"message":"Invalid params"}}}}"#
                )?,
            }
        }
        _ => {
            let msg = serde_json::to_string(&format!("Method not found: {method}"))?;
            writeln!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":{msg}}}}}"#
            )?;
        }
    }
    Ok(true)
}
