//! The HTTP requests OAuth makes: metadata GETs, registration and token
//! POSTs. One reqwest client of its own (rustls with ring), no redirects
//! followed (a token request must not be sent anywhere else), every answer
//! read whole within a cap, every failure an [`Error::Authorization`]
//! naming the URL.

use std::sync::Once;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use crate::{Error, Result, SecretValue};

/// The largest metadata or token answer read.
const MAX_BODY: usize = 1 << 20;

/// An OAuth error as sentences.
pub(super) fn fail(message: String) -> Error {
    Error::Authorization(message)
}

/// OAuth's HTTP client.
pub(super) struct Http {
    client: reqwest::Client,
}

/// An answer, read whole.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as the JSON `T`, or an error naming `url`.
    pub fn json<T: DeserializeOwned>(&self, url: &Url) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            fail(format!(
                "{url} answered something that is not the expected JSON: {e}"
            ))
        })
    }

    /// An OAuth error answer (RFC 6749 §5.2) as `error (description)`, else
    /// the HTTP status.
    pub fn oauth_error(&self) -> String {
        #[derive(serde::Deserialize)]
        struct OAuthError {
            error: String,
            #[serde(default)]
            error_description: Option<String>,
        }
        match serde_json::from_slice::<OAuthError>(&self.body) {
            Ok(OAuthError {
                error,
                error_description: Some(d),
            }) => format!("{error} ({d})"),
            Ok(OAuthError { error, .. }) => error,
            Err(_) => format!("HTTP {}", self.status),
        }
    }
}

/// A request body: a form or JSON.
pub(super) enum Body {
    Form(String),
    Json(Vec<u8>),
}

impl Http {
    /// A client whose requests each take at most `timeout`.
    pub fn new(timeout: Duration) -> Result<Self> {
        static PROVIDER: Once = Once::new();
        // Another part of the process may have installed one already: fine.
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let client = reqwest::Client::builder()
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| fail(format!("cannot set up the HTTP client for OAuth: {e}")))?;
        Ok(Self { client })
    }

    /// `GET url` for JSON.
    pub async fn get(&self, url: &Url) -> Result<Answer> {
        let request = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json");
        self.send(request, "GET", url).await
    }

    /// `POST url` with `body`, with HTTP Basic client authentication if
    /// `basic` is given.
    pub async fn post(&self, url: &Url, body: Body, basic: Option<&SecretValue>) -> Result<Answer> {
        let (kind, bytes) = match body {
            Body::Form(text) => ("application/x-www-form-urlencoded", text.into_bytes()),
            Body::Json(bytes) => ("application/json", bytes),
        };
        let mut request = self
            .client
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, kind)
            .body(bytes);
        if let Some(basic) = basic {
            let mut value = HeaderValue::from_str(basic.expose())
                .map_err(|_| fail("the client credentials cannot be sent in a header".into()))?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        self.send(request, "POST", url).await
    }

    /// A probe of an MCP endpoint without credentials: a JSON-RPC `ping`,
    /// to learn whether it asks for authorization and how.
    pub async fn probe(&self, url: &Url) -> Result<Answer> {
        let request = self
            .client
            .post(url.clone())
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#);
        let what = "POST";
        let mut response = request
            .send()
            .await
            .map_err(|e| fail(format!("{what} {url}: {}", describe(&e))))?;
        // Only the status and headers matter; never wait for a stream.
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        Ok(Answer {
            status,
            headers,
            body: Vec::new(),
        })
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
        url: &Url,
    ) -> Result<Answer> {
        let error = |e: reqwest::Error| fail(format!("{what} {url}: {}", describe(&e)));
        let mut response = request.send().await.map_err(error)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(fail(format!(
                "{what} {url}: HTTP {status}, a redirect; OAuth requests are not redirected"
            )));
        }
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(error)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(fail(format!(
                    "{what} {url}: the answer is larger than {} KiB; refused",
                    MAX_BODY >> 10
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// A reqwest error with its causes: "error sending request" alone says little.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
