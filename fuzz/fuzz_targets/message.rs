//! `Message::parse`, `IdKey` and `scan_id` on arbitrary bytes, checked
//! against serde_json's own reading of the line.
//!
//! Invariants:
//! - no panic;
//! - `Batch` exactly when the first non-whitespace byte is `[`;
//! - a line `Message::parse` accepts is valid UTF-8 and valid JSON
//!   (serde_json's `Value` may still refuse it for a number out of `f64`
//!   range or a lone UTF-16 surrogate escape in a string, both valid JSON
//!   syntax that `Message` does not decode and relays as is);
//! - for a line serde_json reads as an object with no repeated top-level
//!   key: the kind is what JSON-RPC says (method + non-null id: request;
//!   method alone: notification; non-null id + result or error, or error
//!   alone: response; else not JSON-RPC; a non-string method is
//!   malformed), and `method`, `id`, `params`, `result`, `error` are the
//!   object's members;
//! - `IdKey::of(id)` is the id: `Num(n)` for an integer id `n`, else the
//!   id's JSON text, and `to_json()` gives it back;
//! - whatever `scan_id` finds can be echoed: its `to_json()` is one valid
//!   JSON string or number (it is pasted into error responses).
//!
//! Lines holding serde_json's private raw-value token are not compared with
//! `Value`, which reinterprets such objects.
#![no_main]

use std::fmt;

use gatehouse_engine::proxy::{IdKey, Invalid, Kind, Message, scan_id};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

const RAW_VALUE_TOKEN: &[u8] = b"$serde_json::private::RawValue";

fuzz_target!(|data: &[u8]| {
    let parsed = Message::parse(data);

    if let Some(key) = scan_id(data) {
        check_echoable(&key);
    }

    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    assert_eq!(
        matches!(parsed, Err(Invalid::Batch)),
        first == Some(&b'['),
        "Batch iff the line starts with ["
    );

    if let Ok((_, msg)) = &parsed {
        assert!(
            std::str::from_utf8(data).is_ok(),
            "accepted invalid UTF-8: {data:?}"
        );
        if let Some(id) = msg.id() {
            // `-0` is keyed (and echoed) as `0`, the same number.
            let key = IdKey::of(id);
            assert!(
                key.to_json() == id.get() || key == IdKey::Num(0) && id.get() == "-0",
                "to_json gives {} for id {}",
                key.to_json(),
                id.get()
            );
        }
    }

    // With `raw_value` on, serde_json's `Value` reads an object whose first
    // key is this token as the JSON text in its value: not an oracle then.
    if memchr::memmem::find(data, RAW_VALUE_TOKEN).is_some() {
        return;
    }
    let value = serde_json::from_slice::<Value>(data);
    if let (Ok(_), Err(e)) = (&parsed, &value) {
        let e = e.to_string();
        assert!(
            e.starts_with("number out of range") || e.contains("surrogate"),
            "accepted what serde_json refuses ({e}): {:?}",
            String::from_utf8_lossy(data)
        );
    }

    let Ok(Value::Object(map)) = value else {
        return;
    };
    if first == Some(&b'[') || has_repeated_keys(data) {
        return;
    }
    check_against_value(&parsed, &map, data);
});

/// The classification agrees with the object serde_json read.
fn check_against_value(
    parsed: &Result<(Kind, Message<'_>), Invalid>,
    map: &Map<String, Value>,
    data: &[u8],
) {
    let member = |k: &str| map.get(k).filter(|v| !v.is_null());
    let method = member("method");
    let has_id = member("id").is_some();
    let expected = match method {
        Some(Value::String(_)) if has_id => Ok(Kind::Request),
        Some(Value::String(_)) => Ok(Kind::Notification),
        Some(_) => Err("malformed"),
        None if has_id && (member("result").is_some() || member("error").is_some()) => {
            Ok(Kind::Response)
        }
        None if !has_id && member("error").is_some() => Ok(Kind::Response),
        None => Err("not json-rpc"),
    };
    let line = String::from_utf8_lossy(data);
    match (parsed, expected) {
        (Ok((kind, msg)), Ok(want)) => {
            assert_eq!(*kind, want, "wrong kind for {line}");
            assert_eq!(
                msg.method(),
                method.and_then(Value::as_str),
                "method: {line}"
            );
            for (name, raw) in [
                ("id", msg.id()),
                ("params", msg.params()),
                ("result", msg.result()),
                ("error", msg.error()),
            ] {
                let got = raw.map(|r| {
                    serde_json::from_str::<Value>(r.get()).expect("a member is valid JSON")
                });
                assert_eq!(got.as_ref(), member(name), "{name}: {line}");
            }
            if let Some(id) = msg.id() {
                match IdKey::of(id) {
                    IdKey::Num(n) => assert!(
                        map["id"].as_i64() == Some(n) || map["id"].as_f64() == Some(0.0),
                        "Num({n}) for id {}",
                        map["id"]
                    ),
                    IdKey::Text(t) => assert!(
                        !map["id"].is_i64(),
                        "Text({t}) for integer id {}",
                        map["id"]
                    ),
                }
            }
        }
        (Err(Invalid::Malformed(_)), Err("malformed")) => {}
        (Err(Invalid::NotJsonRpc), Err("not json-rpc")) => {}
        (got, want) => panic!("{line}: parsed as {got:?}, expected {want:?}"),
    }
}

/// `to_json()` of a key found by `scan_id` is a single JSON string or
/// number, so an error response built around it is valid JSON.
fn check_echoable(key: &IdKey) {
    let json = key.to_json();
    match serde_json::from_str::<Value>(&json) {
        Ok(Value::String(_) | Value::Number(_)) => {}
        Ok(other) => panic!("scan_id found a non-scalar id {json} ({other})"),
        Err(e) if e.to_string().starts_with("number out of range") => {}
        Err(e) => panic!("scan_id found an id that is not valid JSON: {json:?} ({e})"),
    }
    if let IdKey::Text(t) = key {
        assert!(
            t.parse::<i64>().is_err(),
            "an integer id {t} must be keyed as Num"
        );
    }
}

/// Whether the top-level object names a member twice (serde_json's `Value`
/// keeps the last; `Message` refuses the line).
fn has_repeated_keys(data: &[u8]) -> bool {
    struct Keys(bool);
    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut seen = std::collections::HashSet::new();
                    let mut repeated = false;
                    while let Some(k) = map.next_key::<String>()? {
                        map.next_value::<IgnoredAny>()?;
                        repeated |= !seen.insert(k);
                    }
                    Ok(Keys(repeated))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_slice::<Keys>(data).map_or(true, |k| k.0)
}
