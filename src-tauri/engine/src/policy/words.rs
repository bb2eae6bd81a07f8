//! Splitting identifiers and text into words, for the risk heuristics and the
//! argument-kind inference.
//!
//! `deleteFile`, `delete_file`, `delete-file`, `files.delete` and
//! `HTTPRequest` all split into their words (`delete` `file`, ...,
//! `HTTP` `Request`), so the heuristics compare whole words: `undelete`,
//! `dropdown` and `executive_summary` contain no `delete`, `drop` or `exec`.
//! Words are slices of the input, case preserved: compare them with
//! [`str::eq_ignore_ascii_case`] or lowercase them once.

/// The words of `s`: runs of letters and digits, further split at
/// lower→upper case changes (`readFile`), before the last capital of a run
/// of capitals followed by a lowercase letter (`HTTPRequest`), and between
/// letters and digits (`base64`). Everything else separates words.
pub(crate) fn words(s: &str) -> Words<'_> {
    Words { s, pos: 0 }
}

/// The iterator behind [`words`]. Allocates nothing.
pub(crate) struct Words<'a> {
    s: &'a str,
    pos: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Other,
}

fn class(c: char) -> Class {
    if c.is_uppercase() {
        Class::Upper
    } else if c.is_alphabetic() {
        Class::Lower
    } else if c.is_numeric() {
        Class::Digit
    } else {
        Class::Other
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.s[self.pos..];
        // Skip separators.
        let skip = rest
            .char_indices()
            .find(|&(_, c)| class(c) != Class::Other)
            .map(|(i, _)| i)?;
        let start = self.pos + skip;
        let mut chars = self.s[start..].char_indices().peekable();
        let mut end = self.s.len();
        let mut prev = Class::Other;
        while let Some((i, c)) = chars.next() {
            let cur = class(c);
            let boundary = match (prev, cur) {
                (_, Class::Other) => true,
                (Class::Lower, Class::Upper) => true,
                (Class::Digit, Class::Upper | Class::Lower)
                | (Class::Upper | Class::Lower, Class::Digit) => true,
                // "HTTPRequest": the R starts a new word when a lowercase
                // letter follows it.
                (Class::Upper, Class::Upper) => {
                    chars.peek().is_some_and(|&(_, n)| class(n) == Class::Lower)
                }
                _ => false,
            };
            if boundary && prev != Class::Other {
                end = start + i;
                break;
            }
            prev = cur;
        }
        self.pos = end;
        Some(&self.s[start..end])
    }
}

/// Whether the last of the [`words`] of `s` is one of `candidates`
/// (lowercase ASCII), ignoring ASCII case: `filePath` ends with `path`.
pub(crate) fn last_word_is(s: &str, candidates: &[&str]) -> bool {
    words(s)
        .last()
        .is_some_and(|w| candidates.iter().any(|c| w.eq_ignore_ascii_case(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        words(s).collect()
    }

    #[test]
    fn splits_every_naming_style() {
        assert_eq!(split("delete_file"), ["delete", "file"]);
        assert_eq!(split("deleteFile"), ["delete", "File"]);
        assert_eq!(split("DeleteFile"), ["Delete", "File"]);
        assert_eq!(split("delete-file"), ["delete", "file"]);
        assert_eq!(split("files.delete"), ["files", "delete"]);
        assert_eq!(split("HTTPRequest"), ["HTTP", "Request"]);
        assert_eq!(split("sendHTTP"), ["send", "HTTP"]);
        assert_eq!(
            split("  base64Decode__v2 "),
            ["base", "64", "Decode", "v", "2"]
        );
        assert_eq!(split("doesn't"), ["doesn", "t"]);
        assert_eq!(split("écrire_fichier"), ["écrire", "fichier"]);
        assert!(split("__--..").is_empty());
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(split("undelete"), ["undelete"]);
        assert_eq!(split("dropdown_menu"), ["dropdown", "menu"]);
        assert_eq!(split("executive_summary"), ["executive", "summary"]);
    }

    #[test]
    fn last_word() {
        assert!(last_word_is("filePath", &["path"]));
        assert!(last_word_is("target_DIR", &["dir"]));
        assert!(!last_word_is("path_style", &["path"]));
        assert!(!last_word_is("", &["path"]));
    }
}
