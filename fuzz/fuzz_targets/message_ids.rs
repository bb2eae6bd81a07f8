//! Structured requests: does `scan_id` find the same id that a full parse
//! does?
//!
//! The proxy uses `scan_id` to answer a request it cannot parse (too long,
//! malformed) or to fail the pending request a broken server reply was
//! for, and `IdKey::of` on parsed ids to key the pending map. If the two
//! disagree, the wrong request (or none) is answered.
//!
//! A request line is built from arbitrary fields around an arbitrary id
//! (integers, big integers, floats, exponents, strings, or any valid JSON
//! scalar text). Invariants: it parses as a `Request` whose raw id is the
//! id's text and whose method is the method; `scan_id` on the line, and on
//! any fragment that starts at a member boundary before the `"id"` member
//! and ends after its value (what a too-long line's head, or a tail cut at
//! a member, would hold), gives exactly `IdKey::of(id)`.
#![no_main]

use gatehouse_engine::proxy::{IdKey, Kind, Message, scan_id};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Arbitrary, Debug)]
enum Id {
    Int(i64),
    Big(u64),
    Float(f64),
    Exp(i16, i16, bool),
    Str(String),
    /// Any text that is one JSON string or number.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    id: Id,
    method: String,
    before: Vec<(String, String)>,
    after: Vec<(String, String)>,
    spaces: (u8, u8),
    cut: (u16, u16),
}

const RESERVED: [&str; 5] = ["id", "method", "params", "result", "error"];

fuzz_target!(|input: Input| {
    let id = match input.id {
        Id::Int(n) => n.to_string(),
        Id::Big(n) => (u128::from(n) + 1 + i64::MAX as u128).to_string(),
        Id::Float(f) if f.is_finite() => serde_json::to_string(&f).unwrap(),
        Id::Float(_) => return,
        Id::Exp(m, e, upper) => format!("{m}{}{e}", if upper { 'E' } else { 'e' }),
        Id::Str(s) => serde_json::to_string(&s).unwrap(),
        Id::Raw(s) => {
            let scalar = matches!(
                serde_json::from_str::<Value>(&s),
                Ok(Value::String(_) | Value::Number(_))
            ) || serde_json::from_str::<&RawValue>(&s).is_ok_and(|r| {
                // Numbers beyond f64 (which `Value` refuses) are still ids.
                r.get()
                    .starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
            });
            if !scalar || s.trim() != s {
                return;
            }
            s
        }
    };

    let fields = |list: &[(String, String)]| -> String {
        list.iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
            .map(|(k, v)| {
                format!(
                    "{}:{},",
                    serde_json::to_string(k).unwrap(),
                    serde_json::to_string(v).unwrap()
                )
            })
            .collect()
    };
    let ws = |n: u8| {
        " \t\r"
            .chars()
            .cycle()
            .take(usize::from(n % 4))
            .collect::<String>()
    };
    let prefix = format!(r#"{{"jsonrpc":"2.0",{}"#, fields(&input.before));
    let key_at = prefix.len();
    let member = format!(r#""id"{}:{}{id}"#, ws(input.spaces.0), ws(input.spaces.1));
    let id_end = key_at + member.len();
    let after = fields(&input.after);
    let line = format!(
        r#"{prefix}{member},"method":{},"params":{{}}{}{}}}"#,
        serde_json::to_string(&input.method).unwrap(),
        if after.is_empty() { "" } else { "," },
        after.trim_end_matches(',')
    );
    let line = line.as_bytes();

    let (kind, msg) = Message::parse(line)
        .unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(line)));
    assert_eq!(kind, Kind::Request);
    assert_eq!(msg.method(), Some(input.method.as_str()));
    let raw = msg.id().expect("the request has an id");
    assert_eq!(raw.get(), id);
    let key = IdKey::of(raw);

    assert_eq!(
        scan_id(line).as_ref(),
        Some(&key),
        "scan_id of the whole line {:?}",
        String::from_utf8_lossy(line)
    );

    // A fragment holding the whole `"id": value` and at least one byte
    // after it (so a number is known to have ended).
    // It starts at a member's boundary: a fragment that starts inside a
    // string cannot tell an escaped quote from a real one (`"a\"id":1`
    // read from after the backslash has an `"id"` member), which is the
    // inherent limit of scanning a too-long line's tail.
    let boundaries: Vec<usize> = std::iter::once(0)
        .chain(prefix.match_indices(',').map(|(i, _)| i + 1))
        .filter(|&i| i == 0 || is_member_start(&prefix, i))
        .collect();
    let start = boundaries[usize::from(input.cut.0) % boundaries.len()];
    let end = id_end + 1 + usize::from(input.cut.1) % (line.len() - id_end);
    assert_eq!(
        scan_id(&line[start..end]).as_ref(),
        Some(&key),
        "scan_id of the fragment {:?}",
        String::from_utf8_lossy(&line[start..end])
    );
});

/// Whether the `,` before `at` in `prefix` ends a member (rather than sits
/// inside a string): the text before it is the opening `{` and whole
/// members, so it holds an even number of unescaped quotes.
fn is_member_start(prefix: &str, at: usize) -> bool {
    let bytes = prefix.as_bytes();
    let mut quotes = 0;
    let mut i = 0;
    while i < at {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => quotes += 1,
            _ => {}
        }
        i += 1;
    }
    quotes % 2 == 0
}
