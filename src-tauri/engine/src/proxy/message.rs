//! Just enough JSON-RPC to classify a message without copying it.
//!
//! [`Message::parse`] validates the whole line (so malformed JSON and
//! invalid UTF-8 are caught) but borrows everything: `id`, `params`, `result`
//! and `error` stay slices of the original line, which is forwarded as-is
//! unless Gatehouse has a reason to change it.

use std::borrow::Cow;

use memchr::memmem;
use serde::Deserialize;
use serde_json::value::RawValue;

/// `_meta` key carrying the protocol version on each request (2026-07-28).
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying the client's name and version (2026-07-28).
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key tying a notification to a `subscriptions/listen` stream.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// JSON-RPC: the message is not valid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: the message is not a valid request.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: an internal error (here: Gatehouse or the server failed).
pub const INTERNAL_ERROR: i64 = -32603;

/// A parsed message, borrowing from its line.
#[derive(Debug, Deserialize)]
pub struct Message<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// What a line is.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    /// Has a method and an id: expects a response.
    Request,
    /// Has a method and no id.
    Notification,
    /// Has an id and a result or error.
    Response,
}

/// Why a line is not a message we can relay.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Not JSON, not UTF-8, or not an object; the text says where.
    Malformed(String),
    /// A JSON array: a JSON-RPC batch, removed from MCP in 2025-06-18.
    Batch,
    /// Valid JSON, but neither request, notification nor response.
    NotJsonRpc,
}

impl<'a> Message<'a> {
    /// Parses and classifies one line.
    pub fn parse(line: &'a [u8]) -> Result<(Kind, Self), Invalid> {
        if line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(Invalid::Batch);
        }
        // serde_json checks UTF-8 only in the strings it decodes, not in
        // members it skips (`"jsonrpc"`, unknown fields), which are relayed
        // as they are: check the whole line.
        let line = std::str::from_utf8(line).map_err(|e| {
            Invalid::Malformed(format!("invalid UTF-8 at byte {}", e.valid_up_to()))
        })?;
        let msg: Message<'a> =
            serde_json::from_str(line).map_err(|e| Invalid::Malformed(e.to_string()))?;
        let kind = match (&msg.method, msg.id.is_some()) {
            (Some(_), true) => Kind::Request,
            (Some(_), false) => Kind::Notification,
            (None, true) if msg.result.is_some() || msg.error.is_some() => Kind::Response,
            // An error answer to an unparseable message has `"id": null`.
            (None, false) if msg.error.is_some() => Kind::Response,
            _ => return Err(Invalid::NotJsonRpc),
        };
        Ok((kind, msg))
    }

    /// The raw `id`, if any.
    pub fn id(&self) -> Option<&'a RawValue> {
        self.id
    }

    /// The method, if any.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The raw `params`, if any.
    pub fn params(&self) -> Option<&'a RawValue> {
        self.params
    }

    /// The raw `result`, if any.
    pub fn result(&self) -> Option<&'a RawValue> {
        self.result
    }

    /// The raw `error`, if any.
    pub fn error(&self) -> Option<&'a RawValue> {
        self.error
    }
}

/// A request id as a map key: numbers without allocating, strings as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdKey {
    /// An integer id (the common case).
    Num(i64),
    /// Any other id, by its JSON text (so `"1"` and `1` differ).
    Text(Box<str>),
}

impl IdKey {
    /// The key for a raw JSON id.
    pub fn of(raw: &RawValue) -> Self {
        Self::of_text(raw.get())
    }

    /// The key for an id's JSON text.
    fn of_text(text: &str) -> Self {
        match text.parse::<i64>() {
            Ok(n) => IdKey::Num(n),
            Err(_) => IdKey::Text(text.into()),
        }
    }

    /// The id as JSON text, for building a message that answers it.
    pub fn to_json(&self) -> Cow<'_, str> {
        match self {
            IdKey::Num(n) => Cow::Owned(n.to_string()),
            IdKey::Text(t) => Cow::Borrowed(t),
        }
    }
}

/// Finds `"id": <number or string>` in a fragment of a message that could
/// not be parsed whole (too long, or malformed), so its request can still be
/// answered. The key is the one [`IdKey::of`] gives for the same id, and its
/// text is valid JSON (it is pasted into the answer); an id that is not
/// valid JSON is not found.
pub fn scan_id(fragment: &[u8]) -> Option<IdKey> {
    let mut from = 0;
    while let Some(pos) = memmem::find(&fragment[from..], b"\"id\"") {
        let quote = from + pos;
        let mut i = quote + 4;
        from = i;
        // `\"id"` ends a string (a key or value) that merely ends in `id`.
        let backslashes = fragment[..quote]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 1 {
            continue;
        }
        while fragment.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if fragment.get(i) != Some(&b':') {
            continue;
        }
        i += 1;
        while fragment.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let start = i;
        match fragment.get(i) {
            Some(b'"') => {
                i += 1;
                while let Some(&b) = fragment.get(i) {
                    if b == b'\\' {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if b == b'"' {
                        return json_scalar(&fragment[start..i]).map(IdKey::of_text);
                    }
                }
                return None;
            }
            Some(b'-' | b'0'..=b'9') => {
                // The whole number, fraction and exponent included: `1.5`
                // is not `1`.
                while fragment
                    .get(i)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    i += 1;
                }
                return json_scalar(&fragment[start..i]).map(IdKey::of_text);
            }
            _ => continue,
        }
    }
    None
}

/// `text` if it is one valid JSON string or number.
fn json_scalar(text: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(text).ok()?;
    let valid = if text.starts_with('"') {
        serde_json::from_str::<String>(text).is_ok()
    } else {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    };
    valid.then_some(text)
}

/// The identity fields a client may put in any request's `params._meta`.
#[derive(Debug, Default, Deserialize)]
pub struct RequestMeta<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    pub protocol_version: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", borrow, default)]
    pub client_info: Option<ClientInfo<'a>>,
}

/// `clientInfo` / `serverInfo`: only the name matters here.
#[derive(Debug, Deserialize)]
pub struct ClientInfo<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
}

/// The parts of a request's params Gatehouse reads.
#[derive(Debug, Default, Deserialize)]
pub struct RequestParams<'a> {
    /// `tools/call`: the tool.
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// `resources/read`, `resources/subscribe`: the resource.
    #[serde(borrow, default)]
    pub uri: Option<Cow<'a, str>>,
    /// `tools/call`: its arguments.
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
    /// `initialize`: the requested protocol version.
    #[serde(rename = "protocolVersion", borrow, default)]
    pub protocol_version: Option<Cow<'a, str>>,
    /// `initialize`: who the client is.
    #[serde(rename = "clientInfo", borrow, default)]
    pub client_info: Option<ClientInfo<'a>>,
    /// `subscriptions/listen`: which notifications the client wants.
    #[serde(borrow, default)]
    pub notifications: Option<&'a RawValue>,
    /// Stateless-style identity on every request.
    #[serde(rename = "_meta", borrow, default)]
    pub meta: Option<RequestMeta<'a>>,
}

impl<'a> RequestParams<'a> {
    /// Parses `params`; missing or unreadable params read as empty.
    pub fn of(params: Option<&'a RawValue>) -> Self {
        params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default()
    }
}

/// `result.protocolVersion` of an `initialize` response.
#[derive(Debug, Deserialize)]
pub struct InitializeResult<'a> {
    #[serde(rename = "protocolVersion", borrow, default)]
    pub protocol_version: Option<Cow<'a, str>>,
}

/// `result.isError` of a tool result.
#[derive(Debug, Deserialize)]
pub struct ToolResultProbe {
    #[serde(rename = "isError", default)]
    pub is_error: Option<bool>,
}

/// An error response answering `id` (or `null`).
pub fn error_response(id: Option<&str>, code: i64, message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "code": code, "message": message });
    format!(
        r#"{{"jsonrpc":"2.0","id":{},"error":{}}}"#,
        id.unwrap_or("null"),
        body
    )
    .into_bytes()
}

/// A tool result with `isError: true` and one text block: how a refused
/// call reads to the model, which can then tell the person.
pub fn tool_error_result(id: &str, text: &str) -> Vec<u8> {
    let result = serde_json::json!({
        "content": [{ "type": "text", "text": text }],
        "isError": true,
    });
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{result}}}"#).into_bytes()
}

/// `notifications/tools/list_changed`, on a listen stream if `subscription` is given.
pub fn tools_list_changed(subscription: Option<&IdKey>) -> Vec<u8> {
    match subscription {
        None => br#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#.to_vec(),
        Some(id) => format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{{"_meta":{{"{META_SUBSCRIPTION_ID}":{}}}}}}}"#,
            id.to_json()
        )
        .into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_requests_notifications_and_responses() {
        let (kind, msg) = Message::parse(
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo"}}"#,
        )
        .unwrap();
        assert_eq!(kind, Kind::Request);
        assert_eq!(msg.method(), Some("tools/call"));
        assert_eq!(IdKey::of(msg.id().unwrap()), IdKey::Num(3));
        assert_eq!(
            Message::parse(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}"#)
                .unwrap()
                .0,
            Kind::Notification
        );
        assert_eq!(
            Message::parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#)
                .unwrap()
                .0,
            Kind::Response
        );
        assert_eq!(
            Message::parse(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#)
                .unwrap()
                .0,
            Kind::Response
        );
    }

    #[test]
    fn refuses_batches_garbage_and_invalid_utf8() {
        assert_eq!(
            Message::parse(br#" [{"id":1,"method":"a"}]"#).unwrap_err(),
            Invalid::Batch
        );
        assert!(matches!(
            Message::parse(b"{not json"),
            Err(Invalid::Malformed(_))
        ));
        assert!(matches!(
            Message::parse(b"{\"method\":\"\xff\xfe\",\"id\":1}"),
            Err(Invalid::Malformed(_))
        ));
        assert_eq!(
            Message::parse(br#"{"jsonrpc":"2.0"}"#).unwrap_err(),
            Invalid::NotJsonRpc
        );
        assert!(matches!(Message::parse(b"42"), Err(Invalid::Malformed(_))));
    }

    #[test]
    fn ids_keep_their_json_type() {
        let key = |s: &str| IdKey::of(&RawValue::from_string(s.into()).unwrap());
        assert_eq!(key("7"), IdKey::Num(7));
        assert_eq!(key("\"7\""), IdKey::Text("\"7\"".into()));
        assert_ne!(key("7"), key("\"7\""));
        assert_eq!(key("\"x\"").to_json(), "\"x\"");
    }

    #[test]
    fn scans_ids_out_of_fragments() {
        assert_eq!(
            scan_id(br#"{"jsonrpc":"2.0","id": 42,"result":{"content":[{"text":"aaaa"#),
            Some(IdKey::Num(42))
        );
        assert_eq!(
            scan_id(br#"aaaa"}]},"id":"req-\"9\""}"#),
            Some(IdKey::Text(r#""req-\"9\"""#.into()))
        );
        assert_eq!(
            scan_id(br#"{"ids":[1],"x":{"id" : -3}"#),
            Some(IdKey::Num(-3))
        );
        assert_eq!(scan_id(br#"{"identity":"id","no":1}"#), None);
    }

    // Found by fuzzing (fuzz/, targets `message` and `message_ids`).
    #[test]
    fn scanned_ids_match_parsed_ids_and_are_valid_json() {
        let parsed = |line: &[u8]| IdKey::of(Message::parse(line).unwrap().1.id().unwrap());
        for id in [
            "1.5",
            "-0.25",
            "1e3",
            "2E-2",
            "9223372036854775808",
            "-9223372036854775809",
            "-0",
            r#""a\u00e9\"b""#,
        ] {
            let line = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
            let line = line.as_bytes();
            assert_eq!(scan_id(line), Some(parsed(line)), "id {id}");
        }
        // A key that merely ends in `"id` (its quote escaped) is not the id.
        let line = br#"{"x\"id":5,"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert_eq!(scan_id(line), Some(IdKey::Num(1)));
        // An id that is not valid JSON is not echoed into an answer.
        assert_eq!(scan_id(b"{\"id\":\"a\tb\",\"method\":\"x\"}"), None);
        assert_eq!(scan_id(br#"{"id":"a\qb","method":"x"}"#), None);
        assert_eq!(scan_id(br#"{"id":"\ud800","method":"x"}"#), None);
        assert_eq!(scan_id(br#"{"id":1.2.3,"method":"x"}"#), None);
        assert_eq!(scan_id(br#"{"id":-,"method":"x"}"#), None);
    }

    // Found by fuzzing: invalid UTF-8 in a member serde_json skips was
    // accepted, and would have been relayed.
    #[test]
    fn invalid_utf8_anywhere_is_malformed() {
        for line in [
            &b"{\"jsonrpc\":\"\xc3\x28\",\"id\":1,\"method\":\"ping\"}"[..],
            b"{\"id\":1,\"method\":\"ping\",\"x\":{\"y\":[\"\xff\"]}}",
            b"{\"id\":1,\"result\":{}}\xff",
        ] {
            assert!(
                matches!(Message::parse(line), Err(Invalid::Malformed(_))),
                "{line:?}"
            );
        }
    }

    #[test]
    fn reads_stateless_identity_from_meta() {
        let params = RawValue::from_string(format!(
            r#"{{"name":"get_weather","arguments":{{"city":"Oslo"}},"_meta":{{"{META_PROTOCOL_VERSION}":"2026-07-28","{META_CLIENT_INFO}":{{"name":"ExampleClient","version":"1"}}}}}}"#
        ))
        .unwrap();
        let p = RequestParams::of(Some(&params));
        assert_eq!(p.name.as_deref(), Some("get_weather"));
        assert_eq!(p.arguments.unwrap().get(), r#"{"city":"Oslo"}"#);
        let meta = p.meta.unwrap();
        assert_eq!(meta.protocol_version.as_deref(), Some("2026-07-28"));
        assert_eq!(meta.client_info.unwrap().name, "ExampleClient");
    }

    #[test]
    fn builds_valid_refusals_and_notifications() {
        let v: serde_json::Value =
            serde_json::from_slice(&tool_error_result("5", "no \"quotes\" lost")).unwrap();
        assert_eq!(v["id"], 5);
        assert_eq!(v["result"]["isError"], true);
        assert_eq!(v["result"]["content"][0]["text"], "no \"quotes\" lost");
        let e: serde_json::Value =
            serde_json::from_slice(&error_response(None, PARSE_ERROR, "bad")).unwrap();
        assert_eq!(e["id"], serde_json::Value::Null);
        assert_eq!(e["error"]["code"], PARSE_ERROR);
        let n: serde_json::Value =
            serde_json::from_slice(&tools_list_changed(Some(&IdKey::Text("\"s1\"".into()))))
                .unwrap();
        assert_eq!(n["params"]["_meta"][META_SUBSCRIPTION_ID], "s1");
    }
}
