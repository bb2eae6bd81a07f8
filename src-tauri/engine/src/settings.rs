//! The Settings page: the values a person tunes in one place (how long the
//! audit history is kept, how much of long arguments and results, how long
//! a call waits for approval), and the state of the audit log beside them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::audit::{ChainReport, PruneReport, Retention};
use crate::{Engine, Error, Result, Store, approvals, rfc3339};

/// The longest an approval may wait: a call held longer is a hung client.
pub const MAX_APPROVAL_TIMEOUT_SECS: u32 = 3_600;

/// The settings the Settings page edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Settings {
    /// Audit retention and previews.
    pub retention: Retention,
    /// How long a call waits for the person's answer, in seconds.
    pub approval_timeout_secs: u32,
}

/// How big the audit log is and what retention has done, for the Settings
/// page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AuditStatus {
    /// Records kept.
    #[ts(type = "number")]
    pub records: u64,
    /// The oldest kept record's time (RFC 3339).
    pub oldest: Option<String>,
    /// The database's size in bytes (live pages).
    #[ts(type = "number")]
    pub database_bytes: u64,
    /// Records retention has deleted, in all.
    #[ts(type = "number")]
    pub pruned: u64,
    /// When retention last deleted any (RFC 3339).
    pub pruned_at: Option<String>,
}

impl Store {
    /// The Settings page's values.
    pub fn settings(&self) -> Result<Settings> {
        Ok(Settings {
            retention: self.audit_retention()?,
            approval_timeout_secs: self.approval_timeout()?.as_secs() as u32,
        })
    }

    /// Saves `settings` after checking all of them: nothing is saved if one
    /// is out of range.
    pub fn set_settings(&mut self, settings: &Settings) -> Result<()> {
        let secs = settings.approval_timeout_secs;
        if !(1..=MAX_APPROVAL_TIMEOUT_SECS).contains(&secs) {
            return Err(Error::InvalidSpec(format!(
                "a call may wait 1 to {MAX_APPROVAL_TIMEOUT_SECS} seconds for approval, not {secs}"
            )));
        }
        if settings.retention.days == Some(0) || settings.retention.max_mb == Some(0) {
            return Err(Error::InvalidSpec(
                "keep at least one day and one MiB of history, or set no limit".into(),
            ));
        }
        // Checks the preview length before anything is written.
        self.set_audit_retention(&settings.retention)?;
        self.set_approval_timeout(Duration::from_secs(u64::from(secs)))
    }

    /// Sets how long a call waits for approval.
    pub fn set_approval_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.set_setting(
            approvals::TIMEOUT_SETTING,
            Some(&timeout.as_secs().to_string()),
        )
    }

    /// How big the audit log is.
    pub fn audit_status(&self) -> Result<AuditStatus> {
        let conn = self.conn();
        let (records, oldest): (i64, Option<i64>) = conn.query_row(
            "SELECT count(*), (SELECT time FROM audit ORDER BY id LIMIT 1) FROM audit",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let pragma = |name: &str| -> rusqlite::Result<i64> {
            conn.pragma_query_value(None, name, |r| r.get(0))
        };
        let live = (pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?;
        let (pruned, pruned_at): (i64, Option<i64>) = conn.query_row(
            "SELECT pruned, pruned_at FROM audit_chain WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(AuditStatus {
            records: records as u64,
            oldest: oldest.map(rfc3339),
            database_bytes: live.max(0) as u64,
            pruned: pruned as u64,
            pruned_at: pruned_at.map(rfc3339),
        })
    }
}

impl Engine {
    /// The Settings page's values.
    pub fn settings_show(&self) -> Result<Settings> {
        self.store().settings()
    }

    /// Saves the Settings page's values.
    pub fn settings_save(&self, settings: Settings) -> Result<()> {
        self.store().set_settings(&settings)
    }

    /// How big the audit log is.
    pub fn audit_status(&self) -> Result<AuditStatus> {
        self.store().audit_status()
    }

    /// Checks the audit log's hash chain. Reads one snapshot; proxies keep
    /// writing meanwhile.
    pub fn audit_verify(&self) -> Result<ChainReport> {
        // Its own connection: a long walk must not hold the app's store.
        Store::open(self.data_dir())?.audit_verify()
    }

    /// Applies retention now.
    pub fn audit_prune(&self) -> Result<PruneReport> {
        let mut total = PruneReport {
            deleted: 0,
            anchor_id: None,
        };
        let mut store = Store::open(self.data_dir())?;
        let now = crate::now_micros();
        loop {
            let step = store.audit_prune_some(now, 5_000)?;
            if step.deleted == 0 {
                return Ok(total);
            }
            total.deleted += step.deleted;
            total.anchor_id = step.anchor_id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataDir;

    fn store() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&DataDir::at(tmp.path()).unwrap()).unwrap();
        (tmp, store)
    }

    #[test]
    fn settings_round_trip_and_start_at_the_defaults() {
        let (_tmp, mut store) = store();
        let defaults = store.settings().unwrap();
        assert_eq!(defaults.retention, Retention::default());
        assert_eq!(
            u64::from(defaults.approval_timeout_secs),
            approvals::DEFAULT_TIMEOUT.as_secs()
        );
        let changed = Settings {
            retention: Retention {
                days: None,
                max_mb: Some(512),
                preview_bytes: 1024,
            },
            approval_timeout_secs: 90,
        };
        store.set_settings(&changed).unwrap();
        assert_eq!(store.settings().unwrap(), changed);
    }

    #[test]
    fn a_value_out_of_range_is_refused_and_nothing_is_saved() {
        let (_tmp, mut store) = store();
        let before = store.settings().unwrap();
        let bad = [
            Settings {
                approval_timeout_secs: 0,
                ..before
            },
            Settings {
                approval_timeout_secs: MAX_APPROVAL_TIMEOUT_SECS + 1,
                ..before
            },
            Settings {
                retention: Retention {
                    preview_bytes: 10,
                    days: Some(5),
                    ..before.retention
                },
                ..before
            },
            Settings {
                retention: Retention {
                    days: Some(0),
                    ..before.retention
                },
                ..before
            },
        ];
        for settings in bad {
            let err = store.set_settings(&settings).unwrap_err();
            assert_eq!(err.code(), "invalid_spec", "{settings:?}");
            assert_eq!(store.settings().unwrap(), before, "{settings:?}");
        }
    }

    #[test]
    fn the_status_counts_records_and_size() {
        let (_tmp, store) = store();
        let empty = store.audit_status().unwrap();
        assert_eq!((empty.records, empty.oldest, empty.pruned), (0, None, 0));
        assert!(empty.database_bytes > 0);
        store
            .conn()
            .execute_batch(
                "INSERT INTO audit (time, session_id, server_id, decision, latency_us)
                 VALUES (1000000, 1, 1, 'allowed', 1), (2000000, 1, 1, 'allowed', 1)",
            )
            .unwrap();
        let two = store.audit_status().unwrap();
        assert_eq!(two.records, 2);
        assert_eq!(two.oldest.as_deref(), Some(rfc3339(1_000_000).as_str()));
    }
}
