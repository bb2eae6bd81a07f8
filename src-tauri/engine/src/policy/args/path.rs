//! Paths as the server will see them: cleaned, expanded, made absolute and
//! resolved through symlinks, before any glob is matched.
//!
//! A value is refused outright when it is not one clean path: control
//! characters (NUL, line breaks), shell syntax (`;`, `|`, `&&`, backticks,
//! `$(`, `${`, `<`, `>`), a second path after a space (`a /etc/passwd`), a
//! leading `-` (read as an option), or `~user`.
//!
//! A clean value can still mean different things to different servers, so
//! every reading is checked and all of them must pass:
//!
//! - as written, and percent-decoded (layer by layer, up to three);
//! - with `\` as a literal character, and as a separator (on Unix);
//! - `..` applied after symlinks, as the kernel does (`a/link/../b`), and
//!   before them, as `path.resolve` in Node does.
//!
//! Symlinks are resolved component by component with `lstat`, including
//! dangling ones (a write through them creates their target), at most 40
//! links deep. Components that do not exist are appended as written. The
//! server is assumed to see the same file system as Gatehouse, which holds
//! for the stdio servers it launches.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Where relative paths and `~` lead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathContext {
    /// The user's home directory, for `~`. Without it, `~` is refused.
    pub home: Option<PathBuf>,
    /// The server's working directory, for relative paths. Without it,
    /// relative paths are refused.
    pub base_dir: Option<PathBuf>,
}

impl PathContext {
    /// The current user's home and this process's working directory.
    pub fn from_env() -> PathContext {
        PathContext {
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_owned()),
            base_dir: std::env::current_dir().ok(),
        }
    }
}

/// Why a value is not a path the rules can judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathProblem {
    /// Not one clean path; says what was found.
    Unclean(&'static str),
    /// Relative, and no working directory is known.
    Relative,
    /// `~` with no known home, or `~user`.
    Tilde,
    /// More than three layers of percent-encoding.
    TooEncoded,
    /// The file system could not be inspected, or links loop.
    Unresolvable(String),
}

impl PathProblem {
    pub fn describe(&self) -> Cow<'static, str> {
        match self {
            PathProblem::Unclean(what) => {
                Cow::Owned(format!("it is not a single clean path ({what})"))
            }
            PathProblem::Relative => {
                "it is a relative path and the server's working directory is not known".into()
            }
            PathProblem::Tilde => "it starts with `~` that cannot be expanded".into(),
            PathProblem::TooEncoded => "it has more than three layers of percent-encoding".into(),
            PathProblem::Unresolvable(e) => Cow::Owned(format!("it cannot be resolved ({e})")),
        }
    }
}

/// One reading of a path value: absolute with `.`/`..` applied as text, and
/// the real path after symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Absolute, normalised as text, symlinks not followed.
    pub lexical: PathBuf,
    /// Absolute, symlinks resolved.
    pub real: PathBuf,
}

/// What makes a value not one clean path, if anything.
fn unclean(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("it is empty");
    }
    if s.contains('\0') {
        return Some("a NUL byte");
    }
    if s.chars().any(char::is_control) {
        return Some("a control character such as a line break");
    }
    for (needle, what) in [
        (";", "`;`"),
        ("|", "`|`"),
        ("`", "a backtick"),
        ("$(", "`$(`"),
        ("${", "`${`"),
        ("&&", "`&&`"),
        ("<", "`<`"),
        (">", "`>`"),
    ] {
        if s.contains(needle) {
            return Some(what);
        }
    }
    if s.starts_with('-') {
        return Some("a leading `-`, read as an option");
    }
    let b = s.as_bytes();
    if b.windows(2)
        .any(|w| w[0].is_ascii_whitespace() && matches!(w[1], b'/' | b'~' | b'\\'))
    {
        return Some("a second path after a space");
    }
    None
}

/// Decodes `%XX` sequences; `None` if there are none.
fn percent_decoded(s: &str) -> Option<Result<String, PathProblem>> {
    let b = s.as_bytes();
    let has = b
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit());
    if !has {
        return None;
    }
    Some(
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(Cow::into_owned)
            .map_err(|_| PathProblem::Unclean("percent-encoding that is not UTF-8")),
    )
}

/// Every reading of `raw` (see the module docs). Fails on the first problem.
pub(crate) fn readings(raw: &str, ctx: &PathContext) -> Result<Vec<Reading>, PathProblem> {
    let mut texts: Vec<Cow<'_, str>> = vec![Cow::Borrowed(raw)];
    let mut last = Cow::Borrowed(raw);
    for layer in 0.. {
        match percent_decoded(&last) {
            None => break,
            Some(_) if layer == 3 => return Err(PathProblem::TooEncoded),
            Some(decoded) => {
                let decoded: Cow<'_, str> = Cow::Owned(decoded?);
                texts.push(decoded.clone());
                last = decoded;
            }
        }
    }
    if cfg!(unix) {
        let with_separators: Vec<_> = texts
            .iter()
            .filter(|t| t.contains('\\'))
            .map(|t| Cow::Owned(t.replace('\\', "/")))
            .collect();
        texts.extend(with_separators);
    }
    let mut out = Vec::with_capacity(texts.len());
    for text in &texts {
        if let Some(what) = unclean(text) {
            return Err(PathProblem::Unclean(what));
        }
        let text = match text.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("file://") => {
                let rest = &text[7..];
                if !rest.starts_with('/') {
                    return Err(PathProblem::Unclean("a file URL naming a host"));
                }
                rest
            }
            _ => text,
        };
        let absolute = absolute(text, ctx)?;
        let lexical = normalise(&absolute);
        let real = resolve(&absolute)?;
        let has_parent = absolute.components().any(|c| c == Component::ParentDir);
        if has_parent {
            let real_of_lexical = resolve(&lexical)?;
            if real_of_lexical != real {
                out.push(Reading {
                    lexical: lexical.clone(),
                    real: real_of_lexical,
                });
            }
        }
        out.push(Reading { lexical, real });
    }
    Ok(out)
}

/// `~` expanded, and relative paths joined to the working directory.
pub(crate) fn absolute(text: &str, ctx: &PathContext) -> Result<PathBuf, PathProblem> {
    let expanded = if let Some(rest) = text.strip_prefix('~') {
        if !(rest.is_empty()
            || rest.starts_with('/')
            || rest.starts_with(std::path::MAIN_SEPARATOR))
        {
            return Err(PathProblem::Tilde);
        }
        let home = ctx.home.as_ref().ok_or(PathProblem::Tilde)?;
        home.join(rest.trim_start_matches(['/', std::path::MAIN_SEPARATOR]))
    } else {
        PathBuf::from(text)
    };
    if expanded.is_absolute() {
        Ok(expanded)
    } else {
        let base = ctx.base_dir.as_ref().ok_or(PathProblem::Relative)?;
        if !base.is_absolute() {
            return Err(PathProblem::Relative);
        }
        Ok(base.join(expanded))
    }
}

/// `.` and `..` applied as text; `..` at the root stays at the root.
pub(crate) fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// How many symlinks one path may go through, as Linux allows.
const MAX_LINKS: u32 = 40;

/// The real path of an absolute `path`: symlinks resolved component by
/// component (dangling ones too), `..` applied after them, and what does
/// not exist appended as written.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf, PathProblem> {
    // Components still to walk, last first.
    let mut todo: Vec<OsString> = Vec::new();
    let mut out = PathBuf::new();
    push_components(path, &mut todo, &mut out);
    let mut exists = true;
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            out.pop();
            continue;
        }
        out.push(&c);
        if !exists {
            continue;
        }
        match std::fs::symlink_metadata(&out) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(PathProblem::Unresolvable(format!(
                        "more than {MAX_LINKS} symlinks"
                    )));
                }
                let target = std::fs::read_link(&out)
                    .map_err(|e| PathProblem::Unresolvable(e.to_string()))?;
                out.pop();
                push_components(&target, &mut todo, &mut out);
            }
            Ok(_) => {}
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.kind() == io::ErrorKind::NotADirectory =>
            {
                exists = false;
            }
            Err(e) => return Err(PathProblem::Unresolvable(e.to_string())),
        }
    }
    Ok(out)
}

/// Queues `path`'s components onto `todo` (so they pop in order); an
/// absolute `path` first resets `out` to its root.
fn push_components(path: &Path, todo: &mut Vec<OsString>, out: &mut PathBuf) {
    let start = todo.len();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => {
                out.clear();
                out.push(c);
            }
            Component::CurDir => {}
            Component::ParentDir => todo.push("..".into()),
            Component::Normal(n) => todo.push(n.to_owned()),
        }
    }
    todo[start..].reverse();
}

/// A glob as written, made absolute the way values are, plus its form with
/// the literal directory prefix resolved through symlinks when that
/// differs. `**/x` style globs stay as they are.
pub(crate) fn glob_forms(glob: &str, ctx: &PathContext) -> Result<Vec<String>, PathProblem> {
    if glob.starts_with('*') {
        return Ok(vec![glob.to_owned()]);
    }
    let absolute = absolute(glob, ctx)?;
    let normalised = normalise(&absolute);
    let text = normalised
        .to_str()
        .ok_or(PathProblem::Unclean("a path that is not UTF-8"))?
        .to_owned();
    // The components before the first one with glob syntax.
    let mut prefix = PathBuf::new();
    let mut rest = PathBuf::new();
    let mut in_rest = false;
    for c in normalised.components() {
        let has_meta = c
            .as_os_str()
            .to_str()
            .is_some_and(|s| s.contains(['*', '?', '[', '{']));
        in_rest |= has_meta;
        if in_rest {
            rest.push(c);
        } else {
            prefix.push(c);
        }
    }
    let real = resolve(&prefix)?.join(rest);
    let mut out = vec![text];
    if let Some(real) = real.to_str()
        && *real != out[0]
    {
        out.push(real.to_owned());
    }
    Ok(out)
}
