//! The gateway URL form of a JSON entry, in each client's own schema
//! (`docs/CLIENTS.md`).

use jsonc_parser::ast::Object;

use super::super::Client;
use super::UrlForm;
use super::json::{CONNECTION_KEYS, json};

/// Keys that only a launched server has, dropped from an entry that
/// becomes a URL: Zed's `remote` (where to launch it) and `source`
/// (`"custom"`: a command, in Zed's older tagged form), VS Code's sandbox
/// and `dev` settings.
const STDIO_ONLY_KEYS: &[&str] = &["remote", "source", "sandboxEnabled", "sandbox", "dev"];

/// The fields of an entry that becomes the gateway's URL, in `client`'s
/// schema (`docs/CLIENTS.md`): the transport where the client wants one,
/// the URL, the `Authorization` header, then the entry's other
/// (client-side) keys as written.
pub(super) fn json_url_fields(
    client: Client,
    text: &str,
    obj: &Object<'_>,
    form: &UrlForm<'_>,
    server: &str,
) -> Vec<String> {
    let url = json(&form.url(server));
    let mut fields: Vec<String> = match client {
        Client::ClaudeCode | Client::VsCode => {
            vec![r#""type": "http""#.into(), format!(r#""url": {url}"#)]
        }
        Client::Cline => vec![
            r#""type": "streamableHttp""#.into(),
            format!(r#""url": {url}"#),
        ],
        Client::Windsurf => vec![format!(r#""serverUrl": {url}"#)],
        Client::GeminiCli => vec![format!(r#""httpUrl": {url}"#)],
        _ => vec![format!(r#""url": {url}"#)],
    };
    fields.push(format!(
        r#""headers": {{ "Authorization": {} }}"#,
        json(&form.bearer())
    ));
    for p in &obj.properties {
        let key = p.name.as_str();
        if !CONNECTION_KEYS.contains(&key) && !STDIO_ONLY_KEYS.contains(&key) {
            fields.push(text[p.range.start..p.range.end].to_string());
        }
    }
    fields
}
