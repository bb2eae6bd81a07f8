//! Which arguments are paths, URLs or HTTP methods: inferred from the
//! tool's input schema and the arguments' names, overridable per argument.
//!
//! Inference errs towards *not* calling a value a path: a path value is
//! held to strict cleanliness checks that ordinary text fails, so calling
//! `content` a path would refuse every write. Names therefore decide by
//! their last word (`filePath`, `target_dir`, `webhook_url`), never by
//! descriptions. The user overrides both ways with explicit kinds.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::policy::words::{last_word_is, words};

/// What an argument holds, for the rules that care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ArgKind {
    /// A file-system path: path rules apply.
    Path,
    /// A URL: domain and scheme rules apply.
    Url,
    /// An HTTP method: method rules apply.
    Method,
    /// None of these: only pattern rules apply (use it to override inference).
    Plain,
}

/// Last words that make an argument a path.
const PATH_WORDS: &[&str] = &[
    "path",
    "paths",
    "file",
    "files",
    "filename",
    "filenames",
    "filepath",
    "filepaths",
    "dir",
    "dirs",
    "directory",
    "directories",
    "folder",
    "folders",
    "cwd",
    "workdir",
];

/// `file_name`, `dirName`: a name word after one of these is a path.
const NAME_OWNERS: &[&str] = &["file", "dir", "directory", "folder"];

/// Last words that make an argument a URL.
const URL_WORDS: &[&str] = &[
    "url",
    "urls",
    "uri",
    "uris",
    "endpoint",
    "endpoints",
    "href",
    "webhook",
    "link",
    "links",
];

/// JSON Schema formats of URLs.
const URL_FORMATS: &[&str] = &["uri", "uri-reference", "iri", "iri-reference", "url"];

/// Last words that are paths in a file tool (`move_file(source, destination)`).
const FILE_TOOL_WORDS: &[&str] = &[
    "source",
    "src",
    "destination",
    "dest",
    "target",
    "from",
    "to",
];

/// The kind of an argument named `name` with JSON Schema `schema` (`Null`
/// when unknown), or `None` when nothing suggests one.
pub fn infer_kind(name: &str, schema: &Value) -> Option<ArgKind> {
    infer(name, schema, false)
}

/// [`infer_kind`] for an argument the schema does not describe.
pub(crate) fn infer_by_name(name: &str, file_tool: bool) -> Option<ArgKind> {
    infer(name, &Value::Null, file_tool)
}

/// Whether a tool name is about files (`move_file`, `fs.copy`): then
/// `source`/`destination`-like arguments are paths too.
pub(crate) fn is_file_tool(tool: &str) -> bool {
    words(tool).any(|w| {
        ["file", "files", "fs", "dir", "directory", "folder", "path"]
            .iter()
            .any(|f| w.eq_ignore_ascii_case(f))
    })
}

fn infer(name: &str, schema: &Value, file_tool: bool) -> Option<ArgKind> {
    if schema_has_url_format(schema) {
        return Some(ArgKind::Url);
    }
    if matches!(
        schema.get("type").and_then(Value::as_str),
        Some("number" | "integer" | "boolean")
    ) {
        return None;
    }
    if last_word_is(name, URL_WORDS) {
        return Some(ArgKind::Url);
    }
    if last_word_is(name, PATH_WORDS) || (file_tool && last_word_is(name, FILE_TOOL_WORDS)) {
        return Some(ArgKind::Path);
    }
    let (before, last) = words(name).fold((None, None), |(_, last), w| (last, Some(w)));
    if let (Some(before), Some(last)) = (before, last)
        && last.eq_ignore_ascii_case("name")
        && NAME_OWNERS.iter().any(|o| before.eq_ignore_ascii_case(o))
    {
        return Some(ArgKind::Path);
    }
    if last_word_is(name, &["method"]) {
        return Some(ArgKind::Method);
    }
    None
}

fn schema_has_url_format(schema: &Value) -> bool {
    let own = schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| URL_FORMATS.iter().any(|u| f.eq_ignore_ascii_case(u)));
    own || ["anyOf", "oneOf"].iter().any(|k| {
        schema
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|alts| alts.iter().any(schema_has_url_format))
    })
}

/// The schema's properties, items and inferred kinds, built once when the
/// rules are compiled.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// The kind inferred for values at this node.
    pub kind: Option<ArgKind>,
    /// The schema's `default`, when it is a string (for a missing method).
    pub default: Option<String>,
    /// Object properties.
    pub props: HashMap<String, Node>,
    /// Array items.
    pub items: Option<Box<Node>>,
}

/// How deep schemas are followed; deeper values are inferred by name only.
const MAX_DEPTH: usize = 16;

impl Node {
    /// The tree of an input schema. `$ref`s are not followed: values under
    /// them are inferred by name at call time.
    pub fn build(schema: &Value, file_tool: bool) -> Node {
        Node::build_at(schema, None, file_tool, 0)
    }

    fn build_at(schema: &Value, name: Option<&str>, file_tool: bool, depth: usize) -> Node {
        let mut node = Node {
            kind: match name {
                Some(n) => infer(n, schema, file_tool),
                None => schema_has_url_format(schema).then_some(ArgKind::Url),
            },
            default: schema
                .get("default")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..Node::default()
        };
        if depth >= MAX_DEPTH {
            return node;
        }
        // Alternatives (`anyOf: [{...}, {type: null}]`) contribute their
        // properties and items too.
        let alternatives = ["anyOf", "oneOf", "allOf"]
            .iter()
            .filter_map(|k| schema.get(*k).and_then(Value::as_array))
            .flatten();
        for s in std::iter::once(schema).chain(alternatives) {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (key, prop) in props {
                    node.props
                        .entry(key.clone())
                        .or_insert_with(|| Node::build_at(prop, Some(key), file_tool, depth + 1));
                }
            }
            if node.items.is_none()
                && let Some(items) = s.get("items").filter(|i| i.is_object())
            {
                node.items = Some(Box::new(Node::build_at(items, None, file_tool, depth + 1)));
            }
        }
        node
    }

    /// Applies the user's explicit kinds: `name` (a key at any depth) or
    /// `a.b` (a dotted path from the top).
    pub fn apply_overrides(&mut self, overrides: &[(String, ArgKind)]) {
        fn walk(node: &mut Node, path: &mut Vec<String>, overrides: &[(String, ArgKind)]) {
            for (key, child) in &mut node.props {
                path.push(key.clone());
                let dotted = path.join(".");
                if let Some((_, k)) = overrides.iter().find(|(o, _)| *o == *key || *o == dotted) {
                    child.kind = Some(*k);
                }
                walk(child, path, overrides);
                path.pop();
            }
            if let Some(items) = &mut node.items {
                walk(items, path, overrides);
            }
        }
        if !overrides.is_empty() {
            walk(self, &mut Vec::new(), overrides);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_formats() {
        let s = json!({"type": "string"});
        assert_eq!(infer_kind("path", &s), Some(ArgKind::Path));
        assert_eq!(infer_kind("filePath", &s), Some(ArgKind::Path));
        assert_eq!(infer_kind("target_dir", &s), Some(ArgKind::Path));
        assert_eq!(infer_kind("file_name", &s), Some(ArgKind::Path));
        assert_eq!(infer_kind("url", &s), Some(ArgKind::Url));
        assert_eq!(infer_kind("webhookUrl", &s), Some(ArgKind::Url));
        assert_eq!(infer_kind("endpoint", &s), Some(ArgKind::Url));
        assert_eq!(infer_kind("http_method", &s), Some(ArgKind::Method));
        assert_eq!(
            infer_kind("homepage", &json!({"type": "string", "format": "uri"})),
            Some(ArgKind::Url)
        );
        assert_eq!(
            infer_kind(
                "x",
                &json!({"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]})
            ),
            Some(ArgKind::Url)
        );
        // Not paths: the last word decides, and numbers are numbers.
        assert_eq!(infer_kind("file_content", &s), None);
        assert_eq!(infer_kind("path_style", &s), None);
        assert_eq!(infer_kind("file_count", &json!({"type": "integer"})), None);
        assert_eq!(infer_kind("name", &s), None);
        assert_eq!(infer_kind("source", &s), None);
    }

    #[test]
    fn file_tools_make_source_and_destination_paths() {
        assert!(is_file_tool("move_file"));
        assert!(is_file_tool("fs.copy"));
        assert!(!is_file_tool("translate"));
        let schema = json!({"properties": {
            "source": {"type": "string"}, "destination": {"type": "string"}}});
        let node = Node::build(&schema, true);
        assert_eq!(node.props["source"].kind, Some(ArgKind::Path));
        assert_eq!(node.props["destination"].kind, Some(ArgKind::Path));
        let node = Node::build(&schema, false);
        assert_eq!(node.props["source"].kind, None);
    }

    #[test]
    fn nested_items_and_overrides() {
        let schema = json!({"properties": {
            "paths": {"type": "array", "items": {"type": "string"}},
            "files": {"type": "array", "items": {"properties": {
                "path": {"type": "string"}, "content": {"type": "string"}}}},
            "target": {"type": "string"}}});
        let mut node = Node::build(&schema, false);
        assert_eq!(node.props["paths"].kind, Some(ArgKind::Path));
        let file = node.props["files"].items.as_ref().unwrap();
        assert_eq!(file.props["path"].kind, Some(ArgKind::Path));
        assert_eq!(file.props["content"].kind, None);
        node.apply_overrides(&[
            ("target".into(), ArgKind::Path),
            ("files.path".into(), ArgKind::Plain),
        ]);
        assert_eq!(node.props["target"].kind, Some(ArgKind::Path));
        let file = node.props["files"].items.as_ref().unwrap();
        assert_eq!(file.props["path"].kind, Some(ArgKind::Plain));
    }
}
