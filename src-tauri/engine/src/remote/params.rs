//! Tool parameters mirrored into headers (`x-mcp-header`, 2026-07-28): a
//! tool's `inputSchema` may mark primitive properties, reached from the
//! root through `properties` keys only, whose values a client sends as
//! `Mcp-Param-{Name}` headers. A tool whose annotations break the rules is
//! left out of `tools/list`, as the revision asks of clients.

use std::collections::HashMap;

use hyper::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::headers::mirrored;

/// One mirrored parameter of a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParamHeader {
    /// `mcp-param-{name}`.
    header: HeaderName,
    /// The `properties` keys from the schema's root to the parameter.
    path: Vec<String>,
}

/// The mirrored parameters of each tool that has any.
pub(super) type ToolHeaders = HashMap<String, Vec<ParamHeader>>;

/// Reads a `tools/list` answer: the tools' mirrored parameters, and the
/// answer without the tools whose annotations are invalid (`None`: keep it
/// as it is). Cheap when no tool uses the annotation.
pub(super) fn learn(answer: &[u8], known: &mut ToolHeaders) -> Option<Vec<u8>> {
    memchr::memmem::find(answer, b"x-mcp-header")?;
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
fn annotations(schema: &Value) -> Result<Vec<ParamHeader>, String> {
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
                    format!("mcp-param-{}", name.to_ascii_lowercase()).as_bytes(),
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
        let mut value = &arguments;
        for key in &param.path {
            value = &value[key.as_str()];
        }
        let text = match value {
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
}
