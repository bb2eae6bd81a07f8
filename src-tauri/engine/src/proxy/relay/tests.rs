use super::*;

fn splice(line: &str, drop: &[bool]) -> String {
    #[derive(serde::Deserialize)]
    struct Tools<'a> {
        #[serde(borrow)]
        tools: Vec<&'a RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        result: &'a RawValue,
    }
    let envelope: Envelope = serde_json::from_str(line).unwrap();
    let tools: Tools = serde_json::from_str(envelope.result.get()).unwrap();
    String::from_utf8(splice_out(line.as_bytes(), &tools.tools, drop).unwrap()).unwrap()
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a","z":1,"b":2}, {"name":"b","inputSchema":{"y":{},"x":{}}},{"name":"c"}],"nextCursor":"n"}}"#;

#[test]
fn a_long_result_is_previewed_at_a_character_boundary_with_its_hash() {
    use sha2::{Digest, Sha256};
    let short = r#"{"content":[]}"#;
    assert_eq!(preview(short, short.len()), (short.to_owned(), None));
    let long = r#"{"text":"ééééé"}"#; // é is two bytes: byte 12 is inside one
    let (head, hash) = preview(long, 12);
    assert_eq!(head, r#"{"text":"é"#);
    assert_eq!(hash, Some(Sha256::digest(long.as_bytes()).into()));
}

#[test]
fn removing_tools_keeps_the_rest_as_sent() {
    assert_eq!(
        splice(LIST, &[false, true, false]),
        r#"{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a","z":1,"b":2},{"name":"c"}],"nextCursor":"n"}}"#
    );
    assert_eq!(
        splice(LIST, &[true, false, false]),
        r#"{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"b","inputSchema":{"y":{},"x":{}}},{"name":"c"}],"nextCursor":"n"}}"#
    );
    assert_eq!(
        splice(LIST, &[false, false, true]),
        r#"{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"a","z":1,"b":2},{"name":"b","inputSchema":{"y":{},"x":{}}}],"nextCursor":"n"}}"#
    );
    let none_left = splice(LIST, &[true, true, true]);
    assert_eq!(
        none_left,
        r#"{"jsonrpc":"2.0","id":4,"result":{"tools":[],"nextCursor":"n"}}"#
    );
    serde_json::from_str::<serde_json::Value>(&none_left).unwrap();
}

#[test]
fn an_item_outside_the_line_is_refused_not_spliced() {
    let elsewhere: Box<RawValue> = RawValue::from_string(r#"{"name":"x"}"#.into()).unwrap();
    assert!(splice_out(LIST.as_bytes(), &[&elsewhere], &[false]).is_none());
}
