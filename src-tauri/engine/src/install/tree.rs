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
use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// The link's target text, for links; `None` for regular files.
    target: Option<String>,
}

/// Files a hashing thread takes from the shared queue at a time.
const BATCH: usize = 16;

/// Lists and hashes every file under `root`. The walk reads only
/// directories (their entries' types come with them); opening, `fstat`
/// (for the executable bit) and reading each file happen on up to
/// `available_parallelism` threads (at most 8) that take files from a
/// shared queue in small batches, each with one reused buffer.
pub fn manifest(root: &Path) -> Result<Manifest> {
    let mut found = Vec::new();
    walk(root, root, &mut String::new(), &mut found)?;
    found.sort_unstable_by(|a, b| a.path.cmp(&b.path));

    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(found.len().div_ceil(BATCH).max(1));
    let next = AtomicUsize::new(0);
    let hashed: Vec<(EntryKind, [u8; 32])> = if threads == 1 {
        let mut out = vec![(EntryKind::File, [0u8; 32]); found.len()];
        hash_queue(root, &found, &next, |i, v| out[i] = v)?;
        out
    } else {
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        hash_queue(root, &found, &next, |i, v| mine.push((i, v)))?;
                        Ok::<_, Error>(mine)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a hashing thread panicked"))
                .collect::<Result<Vec<_>>>()
        })?;
        let mut out = vec![(EntryKind::File, [0u8; 32]); found.len()];
        for (i, v) in results.into_iter().flatten() {
            out[i] = v;
        }
        out
    };
    let entries = found
        .into_iter()
        .zip(hashed)
        .map(|(f, (kind, digest))| Entry {
            path: f.path,
            kind,
            digest,
        })
        .collect();
    Ok(Manifest { entries })
}

/// The tree hash of `root` (see [`Manifest::hash`]).
pub fn tree_hash(root: &Path) -> Result<String> {
    Ok(manifest(root)?.hash())
}

/// Takes batches of `files` from the queue `next` until it is empty and
/// gives each file's index, kind and digest to `put`.
fn hash_queue(
    root: &Path,
    files: &[Found],
    next: &AtomicUsize,
    mut put: impl FnMut(usize, (EntryKind, [u8; 32])),
) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let start = next.fetch_add(BATCH, Ordering::Relaxed);
        if start >= files.len() {
            return Ok(());
        }
        for (i, f) in files.iter().enumerate().skip(start).take(BATCH) {
            put(i, hash_one(root, f, &mut buf)?);
        }
    }
}

fn hash_one(root: &Path, f: &Found, buf: &mut [u8]) -> Result<(EntryKind, [u8; 32])> {
    if let Some(target) = &f.target {
        return Ok((EntryKind::Symlink, Sha256::digest(target.as_bytes()).into()));
    }
    let path = root.join(&f.path);
    let mut file = open_no_follow(&path).map_err(|e| Error::io(&path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
    if !meta.is_file() {
        // Replaced by something else since the walk.
        return Err(refused(root, &f.path, "it is no longer a regular file"));
    }
    let kind = if is_executable(&meta) {
        EntryKind::Executable
    } else {
        EntryKind::File
    };
    let mut hasher = Sha256::new();
    let mut left = meta.len();
    // Reads until the size `fstat` gave (no extra read to see the end):
    // what is hashed is the file as it was opened.
    while left > 0 {
        let n = file.read(buf).map_err(|e| Error::io(&path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        left = left.saturating_sub(n as u64);
    }
    Ok((kind, hasher.finalize().into()))
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
        // The type comes with the directory entry on most file systems:
        // no `stat` here.
        let ft = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        if ft.is_dir() {
            walk(root, &entry.path(), rel, found)?;
        } else if ft.is_file() {
            found.push(Found {
                path: rel.clone(),
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

/// Opens `path` for reading without following a link (one put there
/// since the walk is an error) and without blocking on a FIFO.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    File::open(path)
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
