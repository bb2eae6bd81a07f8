//! A scripted HTTP/1.1 server on 127.0.0.1 for the bridge's tests: each
//! request is recorded and answered by the test's handler, including SSE
//! streams that break part-way and answers that never come.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body's JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The JSON-RPC method of the body, if any.
    pub fn rpc_method(&self) -> Option<String> {
        self.json()["method"].as_str().map(str::to_string)
    }
}

/// How to answer.
pub enum Reply {
    /// A status, headers and a body.
    Plain(u16, Vec<(&'static str, String)>, String),
    /// An SSE stream: these events (raw text, `data: …\n\n` included), then
    /// the connection closes, or stays open if `hang`.
    Stream(Vec<(&'static str, String)>, Vec<String>, bool),
    /// An SSE stream: these events, then each one sent on the channel,
    /// until it closes.
    Live(Vec<String>, tokio::sync::mpsc::UnboundedReceiver<String>),
    /// Nothing, ever (the connection stays open).
    Silence,
}

impl Reply {
    pub fn json(body: impl Into<String>) -> Self {
        Reply::Plain(
            200,
            vec![("content-type", "application/json".into())],
            body.into(),
        )
    }

    pub fn accepted() -> Self {
        Reply::Plain(202, Vec::new(), String::new())
    }

    pub fn status(code: u16, body: &str) -> Self {
        Reply::Plain(code, Vec::new(), body.into())
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// The server; stops when dropped.
pub struct Scripted {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    /// Serves `handler` at `http://127.0.0.1:PORT/mcp`.
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, handler.clone(), log.clone()));
            }
        });
        Scripted { url, seen, task }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Seen> {
        for _ in 0..500 {
            if self.seen.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.seen()
    }
}

async fn serve(stream: TcpStream, handler: Arc<Handler>, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.unwrap();
        let request = Seen {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        seen.lock().unwrap().push(request.clone());
        let stream = reader.get_mut();
        match handler(&request) {
            Reply::Plain(status, headers, body) => {
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if stream.write_all(head.as_bytes()).await.is_err()
                    || stream.write_all(body.as_bytes()).await.is_err()
                {
                    return;
                }
            }
            Reply::Stream(headers, events, hang) => {
                let mut head =
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
                        .to_string();
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                for event in events {
                    let _ = stream.write_all(event.as_bytes()).await;
                    let _ = stream.flush().await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if hang {
                    std::future::pending::<()>().await;
                }
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Live(events, mut more) => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                for event in events {
                    let _ = stream.write_all(event.as_bytes()).await;
                }
                let _ = stream.flush().await;
                while let Some(event) = more.recv().await {
                    if stream.write_all(event.as_bytes()).await.is_err() {
                        return;
                    }
                    let _ = stream.flush().await;
                }
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Silence => std::future::pending::<()>().await,
        }
    }
}
