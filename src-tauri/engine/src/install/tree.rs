//! The tree hash of an installed package: what a launch re-checks.
//!
//! A [`Manifest`] lists every file under the install directory, sorted by
//! relative path, each with its kind (a file, executable or not, or a
//! symbolic link) and the SHA-256 of its content (of its target, for a
//! link). The tree hash is the SHA-256 of the manifest's text, so the pin
//! in the store vouches for the manifest kept beside the install, and the
//! manifest in turn names the first file that differs when the hash does
//! not match.
//!
//! Links are never followed. One whose target is absolute or leaves the
//! tree is refused, as are sockets, pipes and devices, and names that are
//! not UTF-8 or hold a line break: nothing in the tree escapes the hash.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// What a manifest entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file, not executable.
    File,
    /// A regular file with an executable bit set.
    Executable,
    /// A symbolic link (its digest is of its target's text).
    Symlink,
}

impl EntryKind {
    fn tag(self) -> char {
        match self {
            EntryKind::File => 'f',
            EntryKind::Executable => 'x',
            EntryKind::Symlink => 'l',
        }
    }

    fn from_tag(c: &str) -> Option<Self> {
        match c {
            "f" => Some(EntryKind::File),
            "x" => Some(EntryKind::Executable),
            "l" => Some(EntryKind::Symlink),
            _ => None,
        }
    }
}

/// One file of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path relative to the tree's root, `/`-separated.
    pub path: String,
    /// File, executable or link.
    pub kind: EntryKind,
    /// SHA-256 of the content (or of the link's target).
    pub digest: [u8; 32],
}

/// Every file of a tree, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    entries: Vec<Entry>,
}

/// How a tree differs from its manifest: the first difference by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The file's content, kind or executable bit changed.
    Changed(String),
    /// A file that was not installed.
    Added(String),
    /// An installed file that is gone.
    Removed(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Changed(p) => write!(f, "{p} was changed"),
            Change::Added(p) => write!(f, "{p} was added"),
            Change::Removed(p) => write!(f, "{p} was removed"),
        }
    }
}

impl Manifest {
    /// The entries, sorted by path.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The manifest as text: one line per entry, `<kind> <sha256> <path>`.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.entries.len() * 96);
        for e in &self.entries {
            out.push(e.kind.tag());
            out.push(' ');
            for b in e.digest {
                let _ = write!(out, "{b:02x}");
            }
            out.push(' ');
            out.push_str(&e.path);
            out.push('\n');
        }
        out
    }

    /// Reads [`Manifest::to_text`]'s output.
    pub fn parse(text: &str) -> Option<Self> {
        let mut entries = Vec::new();
        for line in text.lines() {
            let mut parts = line.splitn(3, ' ');
            let kind = EntryKind::from_tag(parts.next()?)?;
            let digest = parse_digest(parts.next()?)?;
            let path = parts.next()?.to_string();
            entries.push(Entry { path, kind, digest });
        }
        Some(Self { entries })
    }

    /// The tree hash: SHA-256 of the manifest's text, in hex.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.to_text().as_bytes()))
    }

    /// The first difference (by path) between `self`, as installed, and
    /// `now`, as found; `None` when they are equal.
    pub fn first_change(&self, now: &Manifest) -> Option<Change> {
        let (mut a, mut b) = (
            self.entries.iter().peekable(),
            now.entries.iter().peekable(),
        );
        loop {
            match (a.peek(), b.peek()) {
                (None, None) => return None,
                (Some(x), None) => return Some(Change::Removed(x.path.clone())),
                (None, Some(y)) => return Some(Change::Added(y.path.clone())),
                (Some(x), Some(y)) => match x.path.cmp(&y.path) {
                    std::cmp::Ordering::Less => return Some(Change::Removed(x.path.clone())),
                    std::cmp::Ordering::Greater => return Some(Change::Added(y.path.clone())),
                    std::cmp::Ordering::Equal if x != y => {
                        return Some(Change::Changed(x.path.clone()));
                    }
                    std::cmp::Ordering::Equal => {
                        a.next();
                        b.next();
                    }
                },
            }
        }
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn parse_digest(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A file found by the walk, before hashing.
struct Found {
    path: String,
    kind: EntryKind,
    /// The link's target text, for links.
    target: Option<String>,
}

/// Lists and hashes every file under `root`. Files are hashed on up to
/// `available_parallelism` threads (at most 8), each with one reused buffer.
pub fn manifest(root: &Path) -> Result<Manifest> {
    let mut found = Vec::new();
    walk(root, root, &mut String::new(), &mut found)?;
    found.sort_unstable_by(|a, b| a.path.cmp(&b.path));

    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(found.len().max(1));
    let mut digests = vec![[0u8; 32]; found.len()];
    if threads == 1 {
        hash_all(root, &found, &mut digests)?;
    } else {
        // Interleaved chunks would balance better, but contiguous ones
        // keep each thread in one directory; node_modules' sizes are mixed
        // enough either way.
        let per = found.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = found
                .chunks(per)
                .zip(digests.chunks_mut(per))
                .map(|(files, out)| scope.spawn(move || hash_all(root, files, out)))
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("a hashing thread panicked"))
        })?;
    }
    let entries = found
        .into_iter()
        .zip(digests)
        .map(|(f, digest)| Entry {
            path: f.path,
            kind: f.kind,
            digest,
        })
        .collect();
    Ok(Manifest { entries })
}

/// The tree hash of `root` (see [`Manifest::hash`]).
pub fn tree_hash(root: &Path) -> Result<String> {
    Ok(manifest(root)?.hash())
}

fn hash_all(root: &Path, files: &[Found], out: &mut [[u8; 32]]) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    for (f, digest) in files.iter().zip(out.iter_mut()) {
        *digest = match &f.target {
            Some(target) => Sha256::digest(target.as_bytes()).into(),
            None => {
                let path = root.join(&f.path);
                let mut file = File::open(&path).map_err(|e| Error::io(&path, e))?;
                let mut hasher = Sha256::new();
                loop {
                    let n = file.read(&mut buf).map_err(|e| Error::io(&path, e))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
                hasher.finalize().into()
            }
        };
    }
    Ok(())
}

fn walk(root: &Path, dir: &Path, rel: &mut String, found: &mut Vec<Found>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| !n.contains(['\n', '\r'])) else {
            return Err(refused(
                dir,
                &entry.file_name().to_string_lossy(),
                "its name is not plain text",
            ));
        };
        let len = rel.len();
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str(name);
        let meta = entry.metadata().map_err(|e| Error::io(entry.path(), e))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            walk(root, &entry.path(), rel, found)?;
        } else if ft.is_file() {
            found.push(Found {
                path: rel.clone(),
                kind: if is_executable(&meta) {
                    EntryKind::Executable
                } else {
                    EntryKind::File
                },
                target: None,
            });
        } else if ft.is_symlink() {
            let target =
                std::fs::read_link(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            let Some(text) = target.to_str().filter(|t| inside(rel, t)) else {
                return Err(Error::InvalidSpec(format!(
                    "the installed package at {} has a link {rel} pointing outside it, to {}; Gatehouse refuses it",
                    root.display(),
                    target.display()
                )));
            };
            found.push(Found {
                path: rel.clone(),
                kind: EntryKind::Symlink,
                target: Some(text.to_string()),
            });
        } else {
            return Err(refused(root, rel, "it is not a file, folder or link"));
        }
        rel.truncate(len);
    }
    Ok(())
}

fn refused(root: &Path, rel: &str, why: &str) -> Error {
    Error::InvalidSpec(format!(
        "the installed package at {} holds {rel}, which Gatehouse cannot vouch for: {why}",
        root.display()
    ))
}

/// Whether a link at `link` (relative to the root) pointing to `target`
/// stays inside the tree, judged on the text alone (nothing is followed).
fn inside(link: &str, target: &str) -> bool {
    let target = Path::new(target);
    if target.is_absolute() {
        return false;
    }
    // Depth of the link's folder below the root.
    let mut depth = link.matches('/').count() as isize;
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

/// Where the manifest of the install at `path` is kept: beside it, outside
/// the tree it describes.
pub fn manifest_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".manifest");
    path.with_file_name(name)
}
