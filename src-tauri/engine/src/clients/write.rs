//! The safe write of a file that belongs to another program (a client's
//! config): the original is backed up first, the new text goes to a temp
//! file in the same directory that is fsynced and renamed over the original
//! (keeping its permissions), and the write is refused if the file changed
//! since it was read. A crash at any step leaves either the old or the new
//! complete file, and the backup.
//!
//! Backups live in the data directory's `backups/` folder (0700), named
//! `<microseconds since the epoch>-<n>-<client>-<file name>.backup`, each
//! connect's with a `<backup>.json` [`Record`] of what Gatehouse changed,
//! which is what `restore` undoes (renamed `<backup>.restored` once it is).
//! Both are sealed (`seal`): they hold the client's secrets as they were.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::Client;

/// A step of [`replace`], after which a test hook may fail (as a crash
/// there would).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The backup is written and synced.
    AfterBackup,
    /// The temp file holds the new text, not yet synced.
    AfterTempWrite,
    /// The temp file is synced.
    AfterFsync,
    /// The original was checked unchanged; the rename is next.
    BeforeRename,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 4] = [
        Step::AfterBackup,
        Step::AfterTempWrite,
        Step::AfterFsync,
        Step::BeforeRename,
    ];
}

/// Called after each [`Step`]; an error stops the write there.
pub type Hook<'a> = &'a dyn Fn(Step) -> Result<(), String>;

/// No failure injected.
pub fn no_hook(_: Step) -> Result<(), String> {
    Ok(())
}

/// One server entry Gatehouse rewrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryEdit {
    /// The project it belongs to (Claude Code's local scope), if any.
    pub scope: Option<String>,
    /// The entry's name in the client.
    pub name: String,
    /// What it was. JSON family: the entry's value text. TOML: empty (the
    /// backup holds it).
    pub original: String,
    /// What connect made of it. JSON family: the value text. TOML: the
    /// entry's values as JSON, to recognise it unchanged.
    pub connected: String,
}

/// What one connect changed in one file, stored beside its backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Whose file.
    #[serde(with = "client_id")]
    pub client: Client,
    /// The file rewritten.
    pub path: PathBuf,
    /// The backup's file name in the backups folder.
    pub backup: String,
    /// [`fingerprint`] of the text connect wrote: restore puts the backup
    /// back byte for byte when the file still has it.
    pub after: String,
    /// The entries rewritten.
    pub entries: Vec<EntryEdit>,
}

/// A [`Client`] stored as its id.
mod client_id {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Client;

    pub fn serialize<S: Serializer>(client: &Client, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(client.id())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Client, D::Error> {
        let id = String::deserialize(d)?;
        Client::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown client {id:?}")))
    }
}

impl Record {
    /// The backup file.
    pub fn backup_path(&self, backups: &Path) -> PathBuf {
        backups.join(&self.backup)
    }
}

/// A short stable fingerprint of a text (FNV-1a 64 and the length), to tell
/// whether a file is still what Gatehouse wrote. Not a security check.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}-{}", bytes.len())
}

/// Saves `original` as a new backup of `path` in `backups`, returning the
/// backup's file name.
pub fn backup(
    backups: &Path,
    client: Client,
    path: &Path,
    original: &[u8],
) -> Result<String, String> {
    crate::paths::create_private_dir(backups).map_err(|e| e.to_string())?;
    let sealed = super::seal::seal(original)?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    for _ in 0..100 {
        let name = format!(
            "{micros:016}-{:03}-{client}-{file}.backup",
            SEQ.fetch_add(1, Ordering::Relaxed) % 1000
        );
        let target = backups.join(&name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&target) {
            Ok(mut f) => {
                f.write_all(&sealed)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("cannot write the backup {}: {e}", target.display()))?;
                sync_dir(backups);
                return Ok(name);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot write the backup {}: {e}", target.display())),
        }
    }
    Err(format!("cannot name a backup in {}", backups.display()))
}

/// Reads a client's config as text; one that is not UTF-8 is left alone.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "cannot parse {}: not valid UTF-8; left alone",
            path.display()
        )
    })
}

/// Reads a backup written by [`backup`].
pub fn read_backup(path: &Path) -> Result<Vec<u8>, String> {
    let sealed =
        fs::read(path).map_err(|e| format!("cannot read the backup {}: {e}", path.display()))?;
    super::seal::unseal(&sealed).map_err(|e| format!("{}: {e}", path.display()))
}

/// Saves `record` as `<backup>.json`.
pub fn save_record(backups: &Path, record: &Record) -> Result<(), String> {
    let path = backups.join(format!("{}.json", record.backup));
    let text = serde_json::to_vec(record).map_err(|e| e.to_string())?;
    let text = super::seal::seal(&text)?;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(&path)
        .and_then(|mut f| f.write_all(&text).and_then(|()| f.sync_all()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    sync_dir(backups);
    Ok(())
}

/// The records of connects to `path` not yet restored, newest first.
pub fn records_for(backups: &Path, path: &Path) -> Vec<Record> {
    let Ok(dir) = fs::read_dir(backups) else {
        return Vec::new();
    };
    let mut records: Vec<Record> = dir
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".backup.json"))
        .filter_map(|e| fs::read(e.path()).ok())
        .filter_map(|bytes| super::seal::unseal(&bytes).ok())
        .filter_map(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
        .filter(|r| r.path == path)
        .collect();
    records.sort_by(|a, b| b.backup.cmp(&a.backup));
    records
}

/// Marks `record` restored: its record file is renamed `.restored.json`
/// (the backup stays, in case).
pub fn retire_record(backups: &Path, record: &Record) -> Result<(), String> {
    let from = backups.join(format!("{}.json", record.backup));
    let to = backups.join(format!("{}.restored", record.backup));
    fs::rename(&from, &to).map_err(|e| format!("cannot retire {}: {e}", from.display()))?;
    sync_dir(backups);
    Ok(())
}

/// Replaces `path`, whose content was `before` when read, by `after`:
/// temp file in the same directory, fsync, the original's mode, a last
/// check that the file still holds `before`, atomic rename, directory fsync.
/// `hook` runs after each [`Step`] (tests fail there).
pub fn replace(path: &Path, before: &[u8], after: &[u8], hook: Hook<'_>) -> Result<(), String> {
    let changed = || {
        format!(
            "{} changed since Gatehouse read it (the client or an editor wrote it); nothing was written, run the command again",
            path.display()
        )
    };
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))? != before {
        return Err(changed());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut f) = temp_file(&dir, &file)?;
    let result = (|| {
        f.write_all(after)
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        hook(Step::AfterTempWrite)?;
        f.sync_all()
            .map_err(|e| format!("cannot sync {}: {e}", tmp.display()))?;
        hook(Step::AfterFsync)?;
        fs::set_permissions(&tmp, meta.permissions())
            .map_err(|e| format!("cannot set the permissions of {}: {e}", tmp.display()))?;
        if fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))? != before {
            return Err(changed());
        }
        hook(Step::BeforeRename)?;
        fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    } else {
        sync_dir(&dir);
    }
    result
}

fn temp_file(dir: &Path, file: &str) -> Result<(PathBuf, File), String> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    for _ in 0..100 {
        let tmp = dir.join(format!(
            ".{file}.gatehouse-{}-{}.tmp",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "cannot create a temp file in {}: {e}",
                    dir.display()
                ));
            }
        }
    }
    Err(format!("cannot name a temp file in {}", dir.display()))
}

/// Makes a rename or a new file in `dir` durable (best effort: not every
/// OS can sync a directory).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
