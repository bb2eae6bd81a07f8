//! Text normalisation before matching, with a map back to the original.
//!
//! Rules match on a folded copy of each string so that trivial obfuscations
//! do not evade them: look-alike letters (full-width forms, mathematical
//! alphanumerics, Cyrillic and Greek homoglyphs) fold to ASCII, letters are
//! lowercased, every run of whitespace becomes one space, and invisible
//! characters (zero-width, bidi controls, Unicode tags, other controls) are
//! dropped. The invisible characters themselves are reported by the
//! `invisible-chars` rule, which reads the original text.
//!
//! Every byte of the folded text remembers the byte range of the original
//! character it came from, so a match maps back to an exact span of the
//! original string.

/// A folded string and, for each of its bytes, the original byte range of
/// the character it came from.
#[derive(Debug, Clone, Default)]
pub struct Folded {
    /// The folded text: lowercase, look-alikes folded, whitespace collapsed,
    /// invisible characters dropped.
    pub text: String,
    /// For each byte of `text`, the start of its source character.
    starts: Vec<u32>,
    /// For each byte of `text`, the end of its source character (or of the
    /// whitespace run it stands for).
    ends: Vec<u32>,
}

impl Folded {
    /// Folds `original` (see the module documentation).
    pub fn new(original: &str) -> Folded {
        let mut out = Folded {
            text: String::with_capacity(original.len()),
            starts: Vec::with_capacity(original.len()),
            ends: Vec::with_capacity(original.len()),
        };
        let mut in_space = false;
        for (i, c) in original.char_indices() {
            let end = (i + c.len_utf8()) as u32;
            if c.is_whitespace() {
                let sep = if c == '\n' { '\n' } else { ' ' };
                if in_space {
                    // One separator stands for the whole run; a newline in
                    // the run makes it a newline (a sentence boundary).
                    if let Some(last) = out.ends.last_mut() {
                        *last = end;
                    }
                    if sep == '\n' {
                        out.text.pop();
                        out.text.push('\n');
                    }
                } else if !out.text.is_empty() {
                    out.push(sep, i as u32, end);
                    in_space = true;
                }
                continue;
            }
            if is_invisible(c) {
                continue;
            }
            in_space = false;
            let folded = fold_char(c);
            if folded.is_ascii() || folded.is_lowercase() || !folded.is_uppercase() {
                out.push(folded.to_ascii_lowercase(), i as u32, end);
            } else {
                for l in folded.to_lowercase() {
                    out.push(l, i as u32, end);
                }
            }
        }
        if out.text.ends_with([' ', '\n']) {
            out.text.pop();
            out.starts.pop();
            out.ends.pop();
        }
        out
    }

    fn push(&mut self, c: char, start: u32, end: u32) {
        self.text.push(c);
        for _ in 0..c.len_utf8() {
            self.starts.push(start);
            self.ends.push(end);
        }
    }

    /// The byte range of the original string that folded bytes
    /// `start..end` came from. `start < end <= text.len()`.
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        debug_assert!(start < end && end <= self.text.len());
        let s = self.starts[start] as usize;
        // A trailing space stands for a whitespace run: keep only its first byte.
        let e = if matches!(self.text.as_bytes()[end - 1], b' ' | b'\n') {
            self.starts[end - 1] as usize + 1
        } else {
            self.ends[end - 1] as usize
        };
        (s, e)
    }
}

/// Whether `c` is invisible in ordinary rendering: zero-width characters,
/// bidi controls, Unicode tags, variation selectors of the supplement, and
/// control characters other than whitespace.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{00AD}'
        | '\u{180E}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}'
    ) || (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
}

/// Folds one look-alike character to its ASCII letter or digit; other
/// characters are returned unchanged.
pub fn fold_char(c: char) -> char {
    let cp = c as u32;
    match cp {
        // Full-width ASCII forms.
        0xFF01..=0xFF5E => char::from_u32(cp - 0xFEE0).unwrap_or(c),
        // Mathematical alphanumeric letters: styled A–Z a–z in blocks of 52.
        0x1D400..=0x1D6A3 => {
            let k = (cp - 0x1D400) % 52;
            let base = if k < 26 {
                b'a' + k as u8
            } else {
                b'a' + (k - 26) as u8
            };
            base as char
        }
        // Mathematical digits, five styles of 0–9.
        0x1D7CE..=0x1D7FF => (b'0' + ((cp - 0x1D7CE) % 10) as u8) as char,
        // Enclosed and circled letters.
        0x24B6..=0x24CF => (b'a' + (cp - 0x24B6) as u8) as char,
        0x24D0..=0x24E9 => (b'a' + (cp - 0x24D0) as u8) as char,
        _ => match c {
            // Cyrillic look-alikes.
            'а' | 'А' => 'a',
            'в' | 'В' => 'b',
            'с' | 'С' => 'c',
            'ԁ' => 'd',
            'е' | 'Е' => 'e',
            'һ' | 'Н' => 'h',
            'і' | 'І' => 'i',
            'ј' | 'Ј' => 'j',
            'к' | 'К' => 'k',
            'м' | 'М' => 'm',
            'о' | 'О' => 'o',
            'р' | 'Р' => 'p',
            'ѕ' | 'Ѕ' => 's',
            'т' | 'Т' => 't',
            'у' | 'У' => 'y',
            'х' | 'Х' => 'x',
            'ԛ' => 'q',
            'ԝ' => 'w',
            // Greek look-alikes.
            'ο' | 'Ο' => 'o',
            'α' | 'Α' => 'a',
            'Β' => 'b',
            'Ε' => 'e',
            'Ι' | 'ι' => 'i',
            'Κ' | 'κ' => 'k',
            'Ν' => 'n',
            'Ρ' | 'ρ' => 'p',
            'Τ' => 't',
            'Χ' => 'x',
            'Υ' => 'y',
            'Ζ' => 'z',
            // Latin letter variants.
            'ı' => 'i',
            'ɡ' => 'g',
            'ℓ' => 'l',
            '‘' | '’' | 'ʼ' | '′' => '\'',
            '“' | '”' | '″' => '"',
            '‐' | '‑' | '‒' | '–' | '—' | '−' => '-',
            _ => c,
        },
    }
}
