//! Canonical definitions and their hashes.
//!
//! A tool is pinned by the SHA-256 of its canonical definition: the
//! object of exactly `annotations`, `description`, `inputSchema`, `name`,
//! `outputSchema` and `title` (an absent key is `null`; other keys the
//! server sends, such as `_meta` or `icons`, are not part of what the model
//! reads as the tool and are left out), written as canonical JSON: object
//! keys sorted by their bytes at every depth, no whitespace outside
//! strings, strings and numbers as `serde_json` writes them. Key order and
//! whitespace therefore never change a hash; any change of a value does.
//! A server's `instructions` are pinned the same way, as a JSON string (or
//! `null` when the server gives none).

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// A definition in canonical JSON and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    /// The canonical JSON text.
    pub json: String,
    /// SHA-256 of `json`.
    pub hash: Hash,
}

impl Canonical {
    fn of(json: String) -> Self {
        let hash = Sha256::digest(json.as_bytes()).into();
        Self { json, hash }
    }
}

/// The parts of a `tools/list` entry that are pinned. Other keys are
/// skipped while parsing, without being built.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PinnedParts {
    #[serde(default)]
    annotations: Option<Value>,
    #[serde(default)]
    description: Option<Value>,
    #[serde(default)]
    input_schema: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    output_schema: Option<Value>,
    #[serde(default)]
    title: Option<Value>,
}

/// The canonical definition of one `tools/list` entry, and its name.
/// `Err` if the entry is not a JSON object or has no string `name`.
///
/// An entry whose strings `serde_json` refuses (a lone surrogate escape,
/// which strict parsers reject but JSON allows) cannot be normalised: it is
/// pinned by its exact bytes, under the raw text of its `name` token, so
/// any change to it is still a change.
pub fn tool(entry: &RawValue) -> Result<(String, Canonical), String> {
    let parts: PinnedParts = match serde_json::from_str(entry.get()) {
        Ok(parts) => parts,
        Err(e) => {
            return verbatim(entry)
                .ok_or_else(|| format!("a tool in the list is not an object with a name ({e})"));
        }
    };
    let name = match &parts.name {
        Some(Value::String(name)) => name.clone(),
        _ => return Err("a tool in the list has no name".into()),
    };
    let mut out = String::with_capacity(entry.get().len());
    out.push('{');
    // The keys in byte order, which is also their canonical order.
    let fields = [
        ("annotations", &parts.annotations),
        ("description", &parts.description),
        ("inputSchema", &parts.input_schema),
        ("name", &parts.name),
        ("outputSchema", &parts.output_schema),
        ("title", &parts.title),
    ];
    for (i, (key, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, key);
        out.push(':');
        write_value(&mut out, value.as_ref().unwrap_or(&Value::Null));
    }
    out.push('}');
    Ok((name, Canonical::of(out)))
}

/// An entry pinned by its bytes, named by its `name` token as written.
fn verbatim(entry: &RawValue) -> Option<(String, Canonical)> {
    #[derive(Deserialize)]
    struct RawName<'a> {
        #[serde(borrow)]
        name: &'a RawValue,
    }
    let name = serde_json::from_str::<RawName>(entry.get())
        .ok()?
        .name
        .get();
    name.starts_with('"')
        .then(|| (name.to_string(), Canonical::of(entry.get().to_string())))
}

/// The canonical definition of a tool given as a parsed value (the app's
/// and the tests' way in). `Err` as for [`tool`].
pub fn tool_value(tool_json: &Value) -> Result<(String, Canonical), String> {
    let raw = serde_json::value::to_raw_value(tool_json).map_err(|e| e.to_string())?;
    tool(&raw)
}

/// The canonical form of a server's `instructions`: a JSON string, or
/// `null` when it gave none.
pub fn instructions(text: Option<&str>) -> Canonical {
    let mut out = String::new();
    match text {
        Some(text) => write_string(&mut out, text),
        None => out.push_str("null"),
    }
    Canonical::of(out)
}

/// Any JSON value in canonical form (sorted keys at every depth).
pub fn value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Object(map) => {
            // Sorted here whatever order the map keeps, so the hash does
            // not depend on serde_json's `preserve_order` feature.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, v);
            }
            out.push(']');
        }
        Value::String(s) => write_string(out, s),
        // Null, booleans and numbers: serde_json's own text.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(out: &mut String, s: &str) {
    // serde_json's escaping: `"` `\` and control characters only.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// A hash as lowercase hexadecimal, as the store keeps it.
pub fn hex(hash: &Hash) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in hash {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Reads a hash written by [`hex`]; `None` if it is not one.
pub fn parse_hex(s: &str) -> Option<Hash> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(text: &str) -> Hash {
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
        tool(&raw).unwrap().1.hash
    }

    const TOOL: &str = r#"{"name":"convert","description":"Converts units.","inputSchema":{"type":"object","properties":{"unit":{"type":"string","enum":["km","mi"]},"value":{"type":"number"}},"required":["value"]},"annotations":{"readOnlyHint":true}}"#;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_hash() {
        let reordered = r#"{
            "annotations": { "readOnlyHint": true },
            "inputSchema": {
                "required": ["value"],
                "properties": {
                    "value": { "type": "number" },
                    "unit": { "enum": ["km", "mi"], "type": "string" }
                },
                "type": "object"
            },
            "description": "Converts units.",
            "name": "convert"
        }"#;
        assert_eq!(hash_of(TOOL), hash_of(reordered));
    }

    #[test]
    fn a_one_character_change_in_a_schema_enum_changes_the_hash() {
        let changed = TOOL.replace(r#"["km","mi"]"#, r#"["km","mj"]"#);
        assert_ne!(hash_of(TOOL), hash_of(&changed));
        // Array order is meaning, not layout.
        let swapped = TOOL.replace(r#"["km","mi"]"#, r#"["mi","km"]"#);
        assert_ne!(hash_of(TOOL), hash_of(&swapped));
    }

    #[test]
    fn every_pinned_field_counts_and_nothing_else_does() {
        let base = hash_of(TOOL);
        for (key, value) in [
            ("title", r#""Convert""#),
            ("outputSchema", r#"{"type":"object"}"#),
        ] {
            let with = TOOL.replacen('{', &format!("{{\"{key}\":{value},"), 1);
            assert_ne!(base, hash_of(&with), "{key} is pinned");
        }
        let with_meta = TOOL.replacen('{', r#"{"_meta":{"x":1},"icons":[],"#, 1);
        assert_eq!(base, hash_of(&with_meta), "other keys are not pinned");
        let described = TOOL.replace("Converts units.", "Converts units!");
        assert_ne!(base, hash_of(&described));
        // An explicit null is the same as an absent key.
        let null_title = TOOL.replacen('{', r#"{"title":null,"#, 1);
        assert_eq!(base, hash_of(&null_title));
    }

    #[test]
    fn escapes_that_mean_the_same_text_hash_the_same() {
        let escaped = TOOL.replace("Converts", "\\u0043onverts");
        assert_eq!(hash_of(TOOL), hash_of(&escaped));
    }

    #[test]
    fn the_canonical_text_is_sorted_and_compact() {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"{ "name" : "a", "inputSchema": {"b": 1, "a": [ 2, {"d": null, "c": 1.5} ]} }"#,
        )
        .unwrap();
        let (name, canon) = tool(&raw).unwrap();
        assert_eq!(name, "a");
        assert_eq!(
            canon.json,
            r#"{"annotations":null,"description":null,"inputSchema":{"a":[2,{"c":1.5,"d":null}],"b":1},"name":"a","outputSchema":null,"title":null}"#
        );
    }

    #[test]
    fn an_entry_strict_parsers_refuse_is_pinned_by_its_bytes() {
        let odd = r#"{"name":"odd\ud800","description":"x"}"#;
        let raw: Box<RawValue> = serde_json::from_str(odd).unwrap();
        let (name, canon) = tool(&raw).unwrap();
        assert_eq!(name, r#""odd\ud800""#);
        assert_eq!(canon.json, odd);
        let other: Box<RawValue> =
            serde_json::from_str(r#"{"name":"odd\ud800","description":"y"}"#).unwrap();
        assert_ne!(tool(&other).unwrap().1.hash, canon.hash);
    }

    #[test]
    fn a_tool_without_a_name_is_an_error() {
        for text in [r#"{"description":"x"}"#, r#"{"name":3}"#, "[1]", "\"x\""] {
            let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
            assert!(tool(&raw).is_err(), "{text}");
        }
    }

    #[test]
    fn instructions_hash_their_text_and_absence_is_distinct() {
        assert_eq!(instructions(Some("Be nice")).json, r#""Be nice""#);
        assert_ne!(instructions(Some("")).hash, instructions(None).hash);
        assert_ne!(instructions(Some("a")).hash, instructions(Some("b")).hash);
    }

    #[test]
    fn hex_round_trips() {
        let h = instructions(Some("x")).hash;
        assert_eq!(parse_hex(&hex(&h)), Some(h));
        assert_eq!(parse_hex("zz"), None);
    }
}
