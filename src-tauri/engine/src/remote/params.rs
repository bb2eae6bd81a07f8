//! Tool parameters mirrored into headers (`x-mcp-header`, 2026-07-28): a
//! tool's `inputSchema` may mark primitive properties, reached from the
//! root through `properties` keys only, whose values a client sends as
//! `Mcp-Param-{Name}` headers. Both sides live here: the bridge sends them
//! ([`headers_for`]) and leaves a tool whose annotations break the rules
//! out of `tools/list`, as the revision asks of clients; the gateway, a
//! server to its clients, checks them against the body ([`check`]).

use std::collections::HashMap;

use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::headers::{mirrored, unmirrored};

/// What every mirrored parameter header starts with.
const PREFIX: &str = "mcp-param-";

/// One mirrored parameter of a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamHeader {
    /// `mcp-param-{name}`.
    header: HeaderName,
    /// The `properties` keys from the schema's root to the parameter.
    path: Vec<String>,
}

/// The mirrored parameters of each tool that has any.
pub(crate) type ToolHeaders = HashMap<String, Vec<ParamHeader>>;

/// Reads a `tools/list` answer: the tools' mirrored parameters (a tool
/// listed without any forgets those it had), and the answer without the
/// tools whose annotations are invalid (`None`: keep it as it is). Any
/// other message is passed over, cheaply: unless it names `"tools"` and
/// has the annotation or something is known to forget, it is not parsed.
pub(crate) fn learn(answer: &[u8], known: &mut ToolHeaders) -> Option<Vec<u8>> {
    let marked = memchr::memmem::find(answer, b"x-mcp-header").is_some();
    if !marked && known.is_empty() {
        return None;
    }
    memchr::memmem::find(answer, b"\"tools\"")?;
    let mut value: Value = serde_json::from_slice(answer).ok()?;
    let tools = value.pointer_mut("/result/tools")?.as_array_mut()?;
    let before = tools.len();
    tools.retain(|tool| {
        let name = tool["name"].as_str().unwrap_or_default();
        match annotations(&tool["inputSchema"]) {
            Ok(found) if found.is_empty() => {
                known.remove(name);
                true
            }
            Ok(found) => {
                known.insert(name.to_string(), found);
                true
            }
            Err(why) => {
                eprintln!("gatehouse: left out tool '{name}': its x-mcp-header {why}");
                known.remove(name);
                false
            }
        }
    });
    (tools.len() != before).then(|| serde_json::to_vec(&value).expect("JSON serialises"))
}

/// The annotations of one schema, or why they are invalid.
pub(crate) fn annotations(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    walk(schema, Some(Vec::new()), &mut found)?;
    let mut seen = std::collections::HashSet::new();
    for param in &found {
        if !seen.insert(param.header.as_str().to_string()) {
            return Err(format!("names {} twice", param.header));
        }
    }
    Ok(found)
}

/// Walks every object of `schema`; `chain` is the `properties` keys that
/// reach it, `None` once the walk left such a chain.
fn walk(
    schema: &Value,
    chain: Option<Vec<String>>,
    found: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map.get("x-mcp-header") {
                let Some(path) = chain.as_ref().filter(|c| !c.is_empty()) else {
                    return Err("is not on a property reached through `properties` only".into());
                };
                let name = name.as_str().ok_or("is not a string")?;
                let token = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if !token {
                    return Err(format!("{name:?} is not a header name token"));
                }
                if !matches!(
                    map.get("type").and_then(Value::as_str),
                    Some("string" | "integer" | "boolean")
                ) {
                    return Err(format!(
                        "{name:?} is on a parameter that is not a string, integer or boolean"
                    ));
                }
                let header = HeaderName::from_bytes(
                    format!("{PREFIX}{}", name.to_ascii_lowercase()).as_bytes(),
                )
                .map_err(|_| format!("{name:?} is not a header name"))?;
                found.push(ParamHeader {
                    header,
                    path: path.clone(),
                });
            }
            for (key, child) in map {
                if key == "properties"
                    && let Value::Object(properties) = child
                {
                    for (property, schema) in properties {
                        let next = chain.as_ref().map(|c| {
                            let mut c = c.clone();
                            c.push(property.clone());
                            c
                        });
                        walk(schema, next, found)?;
                    }
                } else {
                    walk(child, None, found)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, None, found)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The headers of a call with `arguments` (raw JSON): one per mirrored
/// parameter that has a value; `null` and absent values send none.
pub(super) fn headers_for(
    params: &[ParamHeader],
    arguments: Option<&str>,
) -> Vec<(HeaderName, HeaderValue)> {
    let Some(arguments) = arguments.and_then(|a| serde_json::from_str::<Value>(a).ok()) else {
        return Vec::new();
    };
    let mut headers = Vec::with_capacity(params.len());
    for param in params {
        let text = match param.value_in(&arguments) {
            Value::String(s) => mirrored(s),
            Value::Bool(b) => HeaderValue::from_static(if *b { "true" } else { "false" }),
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                HeaderValue::from_str(&n.to_string()).expect("digits are a header value")
            }
            _ => continue,
        };
        headers.push((param.header.clone(), text));
    }
    headers
}

impl ParamHeader {
    /// The parameter's value in a call's arguments (`null` if absent).
    fn value_in<'v>(&self, arguments: &'v Value) -> &'v Value {
        let mut value = arguments;
        for key in &self.path {
            value = &value[key.as_str()];
        }
        value
    }
}

/// Checks a call's `Mcp-Param-*` headers against its `arguments` (raw
/// JSON), as a server of the 2026-07-28 revision must: each marked
/// parameter with a value has its header, carrying that value (a string as
/// it is or in the Base64 sentinel, an integer in decimal, a boolean as
/// `true` or `false`); and there is no header without a value to mirror or
/// that the tool does not mark. `Err` says what does not match, for the
/// client.
pub(crate) fn check(
    params: &[ParamHeader],
    arguments: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), String> {
    let arguments = match arguments {
        Some(text) => serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
        None => Value::Null,
    };
    for param in params {
        let name = &param.header;
        let sent = match headers.get(name) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map(|s| s.trim_matches([' ', '\t']))
                    .map_err(|_| {
                        format!("Header mismatch: {name} has characters a header may not carry")
                    })?,
            ),
        };
        let body = param.value_in(&arguments);
        let matches = match (sent, body) {
            (None, Value::Null) => continue,
            (None, _) => return Err(format!("Header mismatch: the {name} header is missing")),
            (Some(_), Value::Null) => {
                return Err(format!(
                    "Header mismatch: {name} is sent but the body has no value for it"
                ));
            }
            (Some(sent), Value::String(text)) => {
                unmirrored(sent).map_err(|why| format!("Header mismatch: {name} {why}"))? == *text
            }
            (Some(sent), Value::Bool(b)) => sent == if *b { "true" } else { "false" },
            (Some(sent), Value::Number(n)) => {
                n.as_i64().is_some_and(|n| sent.parse::<i64>() == Ok(n))
                    || n.as_u64().is_some_and(|n| sent.parse::<u64>() == Ok(n))
            }
            (Some(_), _) => false,
        };
        if !matches {
            return Err(format!(
                "Header mismatch: {name} header value '{}' does not match body value {body}",
                sent.unwrap_or_default()
            ));
        }
    }
    for (name, _) in headers {
        let unmarked =
            name.as_str().starts_with(PREFIX) && !params.iter().any(|p| p.header == *name);
        if unmarked {
            return Err(format!(
                "Header mismatch: {name} names no parameter the tool marks with x-mcp-header"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(tools: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"jsonrpc":"2.0","id":1,"result":{"tools":tools}}))
            .unwrap()
    }

    #[test]
    fn valid_annotations_are_learnt_and_invalid_tools_left_out() {
        let answer = listing(serde_json::json!([
            {"name": "sql", "inputSchema": {"type": "object", "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "opts": {"type": "object", "properties": {"limit": {"type": "integer", "x-mcp-header": "Limit"}}},
                "query": {"type": "string"}}}},
            {"name": "in-array", "inputSchema": {"type": "object", "properties": {
                "ids": {"type": "array", "items": {"type": "string", "x-mcp-header": "Id"}}}}},
            {"name": "number", "inputSchema": {"type": "object", "properties": {
                "x": {"type": "number", "x-mcp-header": "X"}}}},
            {"name": "twice", "inputSchema": {"type": "object", "properties": {
                "a": {"type": "string", "x-mcp-header": "Same"}, "b": {"type": "string", "x-mcp-header": "same"}}}},
            {"name": "plain", "inputSchema": {"type": "object"}}
        ]));
        let mut known = ToolHeaders::new();
        let kept = learn(&answer, &mut known).expect("tools were left out");
        let kept: Value = serde_json::from_slice(&kept).unwrap();
        let names: Vec<_> = kept["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sql", "plain"]);
        assert_eq!(known.keys().collect::<Vec<_>>(), ["sql"]);

        let headers = headers_for(
            &known["sql"],
            Some(r#"{"region":"Zürich","opts":{"limit":25},"query":"x"}"#),
        );
        let mut headers: Vec<_> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        headers.sort();
        assert_eq!(
            headers,
            [
                ("mcp-param-limit", "25"),
                ("mcp-param-region", "=?base64?WsO8cmljaA==?=")
            ]
        );
        assert!(headers_for(&known["sql"], Some(r#"{"region":null}"#)).is_empty());
    }

    #[test]
    fn a_listing_without_the_annotation_is_not_parsed() {
        let mut known = ToolHeaders::new();
        assert!(learn(&listing(serde_json::json!([{"name": "t"}])), &mut known).is_none());
        assert!(known.is_empty());
    }

    #[test]
    fn a_tool_listed_again_without_marks_forgets_them() {
        let marked = serde_json::json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"}}});
        let mut known = ToolHeaders::new();
        learn(
            &listing(
                serde_json::json!([{"name": "sql", "inputSchema": marked}, {"name": "other"}]),
            ),
            &mut known,
        );
        assert!(known.contains_key("sql"));
        // Another message naming no tools changes nothing.
        let call = br#"{"jsonrpc":"2.0","id":2,"result":{"content":[]}}"#;
        assert!(learn(call, &mut known).is_none());
        assert!(known.contains_key("sql"));
        // A later page without the annotation anywhere still tells.
        learn(
            &listing(serde_json::json!([{"name": "sql", "inputSchema": {"type": "object"}}])),
            &mut known,
        );
        assert!(
            !known.contains_key("sql"),
            "the marks it dropped are forgotten"
        );
    }

    /// Header name and value pairs, as a request would send them.
    type Sent<'a> = &'a [(&'static str, &'a str)];

    fn sent(pairs: Sent<'_>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_headers_a_client_sends_are_what_the_check_accepts() {
        let marked = annotations(&serde_json::json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {"limit": {"type": "integer", "x-mcp-header": "Limit"}}},
            "dry": {"type": "boolean", "x-mcp-header": "Dry"},
            "query": {"type": "string"}}}))
        .unwrap();
        let arguments = r#"{"region":"Zürich","opts":{"limit":25},"dry":false,"query":"x"}"#;
        let mut headers = HeaderMap::new();
        for (name, value) in headers_for(&marked, Some(arguments)) {
            headers.insert(name, value);
        }
        assert_eq!(headers.len(), 3);
        check(&marked, Some(arguments), &headers).expect("a client's own headers pass");

        // Plain text for an ASCII value, and spaces around a header, pass.
        let plain = sent(&[("mcp-param-region", " Bern "), ("mcp-param-limit", "7")]);
        check(
            &marked,
            Some(r#"{"region":"Bern","opts":{"limit":7}}"#),
            &plain,
        )
        .unwrap();
    }

    #[test]
    fn every_disagreement_is_refused_and_named() {
        let marked = annotations(&serde_json::json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "limit": {"type": "integer", "x-mcp-header": "Limit"},
            "dry": {"type": "boolean", "x-mcp-header": "Dry"}}}))
        .unwrap();
        let body = Some(r#"{"region":"Bern","limit":7,"dry":true}"#);
        let all = [
            ("mcp-param-region", "Bern"),
            ("mcp-param-limit", "7"),
            ("mcp-param-dry", "true"),
        ];
        check(&marked, body, &sent(&all)).unwrap();
        let cases: [(Sent<'_>, Option<&str>, &str); 8] = [
            (
                &[("mcp-param-region", "Genf"), all[1], all[2]],
                body,
                "mcp-param-region header value 'Genf'",
            ),
            (
                &[("mcp-param-region", "=?base64?R2VuZg==?="), all[1], all[2]],
                body,
                "mcp-param-region",
            ),
            (
                &[all[0], ("mcp-param-limit", "07x"), all[2]],
                body,
                "mcp-param-limit",
            ),
            (
                &[all[0], all[1], ("mcp-param-dry", "TRUE")],
                body,
                "mcp-param-dry",
            ),
            (
                &[all[0], all[2]],
                body,
                "the mcp-param-limit header is missing",
            ),
            (
                &all,
                Some(r#"{"region":"Bern","dry":true}"#),
                "mcp-param-limit is sent but the body has no value",
            ),
            (
                &[all[0], all[1], all[2], ("mcp-param-other", "1")],
                body,
                "mcp-param-other names no parameter",
            ),
            (
                &[("mcp-param-region", "=?base64?%%?="), all[1], all[2]],
                body,
                "not valid base64",
            ),
        ];
        for (headers, body, said) in cases {
            let why = check(&marked, body, &sent(headers)).unwrap_err();
            assert!(
                why.starts_with("Header mismatch: ") && why.contains(said),
                "{why}"
            );
        }
        // A tool that marks nothing takes no parameter header at all.
        assert!(check(&[], Some("{}"), &sent(&[("mcp-param-x", "1")])).is_err());
        check(&[], Some(r#"{"x":1}"#), &HeaderMap::new()).unwrap();
    }
}
