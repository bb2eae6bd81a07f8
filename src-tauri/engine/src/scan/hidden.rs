//! Text a person does not see but the model reads: invisible and control
//! characters, HTML comments, and encoded blobs. These rules read the
//! original string (folding would drop exactly what they look for); hidden
//! text they can decode is scanned by the phrase rules too.

use std::sync::LazyLock;

use regex::Regex;

use super::ScanRule::{EncodedBlob, HtmlComment, InvisibleChars};
use super::ScanSeverity::{Critical, High, Low, Medium};
use super::rules::{Hit, scan_hidden_text};

/// Invisible and control characters, in runs.
pub fn scan_invisible(field: &str, s: &str, hits: &mut Vec<Hit>) {
    // Fast path: nothing outside printable ASCII and ordinary whitespace.
    if s.bytes()
        .all(|b| (0x20..0x7F).contains(&b) || matches!(b, b'\n' | b'\t' | b'\r'))
    {
        return;
    }
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut zero_width = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            '\u{E0000}'..='\u{E007F}' => {
                let j = run_end(&chars, i, |c| ('\u{E0000}'..='\u{E007F}').contains(&c));
                let end = end_of(&chars, j, s);
                let flag_emoji = i > 0
                    && chars[i - 1].1 == '\u{1F3F4}'
                    && chars[j - 1].1 == '\u{E007F}'
                    && j - i <= 7;
                if !flag_emoji {
                    let decoded: String = chars[i..j]
                        .iter()
                        .filter_map(|&(_, c)| {
                            let v = c as u32 - 0xE0000;
                            (0x20..0x7F).contains(&v).then(|| char::from(v as u8))
                        })
                        .collect();
                    let readable = decoded.chars().any(char::is_alphanumeric);
                    let (severity, message) = if readable {
                        (
                            Critical,
                            format!("hidden Unicode tag text: \"{}\"", shorten(&decoded)),
                        )
                    } else {
                        (
                            High,
                            "Unicode tag characters, invisible when rendered".to_string(),
                        )
                    };
                    hits.push(Hit::new(
                        InvisibleChars,
                        Some(severity),
                        message,
                        field,
                        s,
                        (at, end),
                    ));
                    if readable {
                        scan_hidden_text(field, s, (at, end), &decoded, hits);
                    }
                }
                i = j;
            }
            '\u{E0100}'..='\u{E01EF}' => {
                let j = run_end(&chars, i, |c| {
                    ('\u{E0100}'..='\u{E01EF}').contains(&c)
                        || ('\u{FE00}'..='\u{FE0F}').contains(&c)
                });
                let end = end_of(&chars, j, s);
                if j - i >= 2 {
                    let bytes: Vec<u8> = chars[i..j]
                        .iter()
                        .map(|&(_, c)| match c as u32 {
                            v @ 0xFE00..=0xFE0F => (v - 0xFE00) as u8,
                            v => (v - 0xE0100 + 16) as u8,
                        })
                        .collect();
                    let decoded = String::from_utf8_lossy(&bytes).into_owned();
                    hits.push(Hit::new(
                        InvisibleChars,
                        Some(High),
                        format!(
                            "variation selectors carrying hidden bytes: \"{}\"",
                            shorten(&decoded)
                        ),
                        field,
                        s,
                        (at, end),
                    ));
                    scan_hidden_text(field, s, (at, end), &decoded, hits);
                }
                i = j;
            }
            '\u{202D}' | '\u{202E}' => {
                let end = at + c.len_utf8();
                hits.push(Hit::new(
                    InvisibleChars,
                    Some(High),
                    "a bidi override that shows text in a different order than the model reads it",
                    field,
                    s,
                    (at, end),
                ));
                i += 1;
            }
            '\u{202A}'..='\u{202C}' | '\u{2066}'..='\u{2069}' => {
                let end = at + c.len_utf8();
                let rtl = s.chars().any(is_rtl_letter);
                let severity = if rtl { Low } else { Medium };
                hits.push(Hit::new(
                    InvisibleChars,
                    Some(severity),
                    "a bidi embedding control outside right-to-left text",
                    field,
                    s,
                    (at, end),
                ));
                i += 1;
            }
            '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{180E}'
            | '\u{00AD}' => {
                let j = run_end(
                    &chars,
                    i,
                    |c| matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}'),
                );
                let before = i.checked_sub(1).map(|k| chars[k].1);
                let after = chars.get(j).map(|&(_, c)| c);
                let joins_script = matches!(c, '\u{200C}' | '\u{200D}')
                    && j - i == 1
                    && (before.is_some_and(|b| {
                        is_emoji(b) || (!b.is_ascii() && b.is_alphabetic()) || is_mark(b)
                    }) || after
                        .is_some_and(|a| is_emoji(a) || (!a.is_ascii() && a.is_alphabetic())));
                let soft_hyphen = c == '\u{00AD}' && j - i == 1;
                let bom = c == '\u{FEFF}' && at == 0 && j - i == 1;
                if !joins_script && !soft_hyphen {
                    zero_width += j - i;
                    let end = end_of(&chars, j, s);
                    let in_word = before.is_some_and(|b| b.is_ascii_alphanumeric())
                        && after.is_some_and(|a| a.is_ascii_alphanumeric());
                    let (severity, message) = if j - i >= 4 {
                        (
                            High,
                            "a run of zero-width characters that can encode hidden data",
                        )
                    } else if in_word {
                        (
                            Medium,
                            "a zero-width character inside a word, hiding it from filters",
                        )
                    } else if bom {
                        (Low, "a byte-order mark")
                    } else {
                        (Low, "a zero-width character")
                    };
                    hits.push(Hit::new(
                        InvisibleChars,
                        Some(severity),
                        message,
                        field,
                        s,
                        (at, end),
                    ));
                }
                i = j;
            }
            '\u{1B}' => {
                let end = ansi_end(s, at);
                hits.push(Hit::new(
                    InvisibleChars,
                    Some(High),
                    "an ANSI escape sequence that can hide or rewrite text in a terminal",
                    field,
                    s,
                    (at, end),
                ));
                i = chars
                    .iter()
                    .position(|&(k, _)| k >= end)
                    .unwrap_or(chars.len());
            }
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => {
                let j = run_end(&chars, i, |c| {
                    c.is_control() && !matches!(c, '\n' | '\t' | '\r' | '\u{1B}')
                });
                let end = end_of(&chars, j, s);
                hits.push(Hit::new(
                    InvisibleChars,
                    Some(Medium),
                    "control characters in text meant to be read",
                    field,
                    s,
                    (at, end),
                ));
                i = j;
            }
            _ => i += 1,
        }
    }
    if zero_width >= 8 {
        // Many scattered zero-width characters: steganography, not typing.
        for h in hits
            .iter_mut()
            .filter(|h| h.field == field && h.rule == InvisibleChars && h.severity == Some(Low))
        {
            h.severity = Some(Medium);
        }
    }
}

/// The index after the run of chars from `i` that satisfy `f`.
fn run_end(chars: &[(usize, char)], i: usize, f: impl Fn(char) -> bool) -> usize {
    let mut j = i;
    while j < chars.len() && f(chars[j].1) {
        j += 1;
    }
    j
}

/// The byte offset of char index `j` (or the end of `s`).
fn end_of(chars: &[(usize, char)], j: usize, s: &str) -> usize {
    chars.get(j).map_or(s.len(), |&(k, _)| k)
}

/// The end of the ANSI escape sequence starting at `at` (an ESC byte).
fn ansi_end(s: &str, at: usize) -> usize {
    static ANSI: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
            .expect("ANSI regex compiles")
    });
    ANSI.find(&s[at..]).map_or(at + 1, |m| at + m.end())
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF | 0xFE0F)
}

/// Combining marks (viramas and vowel signs of Indic scripts, among others).
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0900..=0x0DFF | 0x0E00..=0x0FFF | 0x1000..=0x109F)
}

fn is_rtl_letter(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// At most 120 characters of `s`, for messages.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

static COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)<!--(.*?)(?:-->|\z)|(?m)^\[//\]:\s*#\s*\((.*)\)\s*$")
        .expect("comment regex compiles")
});

/// HTML comments and long base64 or hex blobs.
pub fn scan_structure(field: &str, s: &str, hits: &mut Vec<Hit>) {
    if s.contains("<!--") || s.contains("[//]:") {
        for caps in COMMENT.captures_iter(s) {
            let m = caps.get(0).expect("group 0");
            let inner = caps
                .get(1)
                .or_else(|| caps.get(2))
                .map_or("", |g| g.as_str());
            hits.push(Hit::new(
                HtmlComment,
                Some(Medium),
                "a comment: text the person does not see when it is rendered",
                field,
                s,
                (m.start(), m.end()),
            ));
            if !inner.trim().is_empty() {
                scan_hidden_text(field, s, (m.start(), m.end()), inner, hits);
            }
        }
    }
    if s.len() < 40 {
        return;
    }
    for (start, end) in runs(s, is_base64_byte, 40) {
        let end = end + s[end..].bytes().take(2).take_while(|&b| b == b'=').count();
        let blob = &s[start..end];
        let has = |f: fn(&u8) -> bool| blob.as_bytes().iter().any(f);
        if !(has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit))
        {
            continue; // words, identifiers, hex
        }
        if is_url_part(s, start) {
            continue;
        }
        match decode_base64(blob).and_then(|b| printable(&b)) {
            Some(text) => {
                hits.push(Hit::new(
                    EncodedBlob,
                    Some(Medium),
                    format!("base64 text: \"{}\"", shorten(&text)),
                    field,
                    s,
                    (start, end),
                ));
                scan_hidden_text(field, s, (start, end), &text, hits);
            }
            None => hits.push(Hit::new(
                EncodedBlob,
                Some(Low),
                "a long base64 blob",
                field,
                s,
                (start, end),
            )),
        }
    }
    for (start, end) in runs(s, |b| b.is_ascii_hexdigit(), 64) {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let bounded = (start == 0 || !word(s.as_bytes()[start - 1]))
            && s.as_bytes().get(end).is_none_or(|&b| !word(b));
        if !bounded || (end - start) % 2 != 0 {
            continue;
        }
        let hex = &s[start..end];
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|k| u8::from_str_radix(&hex[k..k + 2], 16).ok())
            .collect();
        if let Some(text) = bytes.and_then(|b| printable(&b)) {
            hits.push(Hit::new(
                EncodedBlob,
                Some(Medium),
                format!("hex-encoded text: \"{}\"", shorten(&text)),
                field,
                s,
                (start, end),
            ));
            scan_hidden_text(field, s, (start, end), &text, hits);
        }
    }
}

/// The maximal runs of bytes satisfying `f` that are at least `min` long.
fn runs(s: &str, f: fn(u8) -> bool, min: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if !f(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && f(bytes[i]) {
                i += 1;
            }
            if i - start >= min {
                return Some((start, i));
            }
        }
        None
    })
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-')
}

/// Whether the match at `start` sits inside a URL (a path segment, a query).
fn is_url_part(s: &str, start: usize) -> bool {
    let before = &s[..start];
    let word_start = before.rfind(char::is_whitespace).map_or(0, |k| k + 1);
    before[word_start..].contains("://")
}

/// Decodes standard or URL-safe base64, padded or not.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `bytes` as text if it is UTF-8 and mostly printable.
fn printable(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let total = text.chars().count();
    let good = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .count();
    let letters = text
        .chars()
        .filter(|c| c.is_alphabetic() || *c == ' ')
        .count();
    (total >= 8 && good * 100 >= total * 95 && letters * 100 >= total * 60)
        .then(|| text.to_string())
}
