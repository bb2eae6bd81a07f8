//! Pins and reviews in the store (schema v10), and the person's answers.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::canonical::{Canonical, hex, parse_hex};
use super::check::{PinSet, Quarantine, Review};
use super::{PinItem, PinKind, PinMode, PinState, ServerPins};
use crate::{Engine, Error, Result, Store, now_micros};

/// Schema v10: definitions waiting for review, each server's pin mode,
/// and the `pins` topic for watchers. Approved pins stay in `pins`
/// (schema v1).
pub const MIGRATION: &str = r#"
    -- NULL: the global default (setting 'pins.mode', else trust on first use).
    ALTER TABLE servers ADD COLUMN pin_mode TEXT
        CHECK (pin_mode IN ('trust-on-first-use', 'review-first'));

    -- A definition the server offers that is not the pinned one: waiting
    -- for the person, or rejected (hidden until it changes or is approved).
    -- The pinned one it differs from, if any, is in `pins`.
    CREATE TABLE pin_reviews (
        server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        kind        TEXT NOT NULL CHECK (kind IN ('tool', 'instructions')),
        key         TEXT NOT NULL,            -- the tool's name; '' for instructions
        hash        TEXT NOT NULL,            -- SHA-256 of the canonical definition, hex
        definition  TEXT NOT NULL,            -- the canonical definition (JSON)
        reason      TEXT NOT NULL,            -- why it was quarantined, for the person
        state       TEXT NOT NULL CHECK (state IN ('pending', 'rejected')),
        first_seen  INTEGER NOT NULL,         -- microseconds since the epoch
        decided_at  INTEGER,                  -- when it was rejected
        PRIMARY KEY (server_id, kind, key)
    ) STRICT, WITHOUT ROWID;

    INSERT INTO revisions (topic, rev) VALUES ('pins', 0);
    CREATE TRIGGER pins_inserted AFTER INSERT ON pins
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'pins'; END;
    CREATE TRIGGER pins_updated AFTER UPDATE ON pins
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'pins'; END;
    CREATE TRIGGER pins_deleted AFTER DELETE ON pins
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'pins'; END;
    CREATE TRIGGER pin_reviews_inserted AFTER INSERT ON pin_reviews
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'pins'; END;
    CREATE TRIGGER pin_reviews_updated AFTER UPDATE ON pin_reviews
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'pins'; END;
    CREATE TRIGGER pin_reviews_deleted AFTER DELETE ON pin_reviews
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'pins'; END;
"#;

/// The setting that holds the global default [`PinMode`].
pub const MODE_SETTING: &str = "pins.mode";

/// A quarantine the store did not know yet: it deserves an audit record
/// and the person's attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// A tool or the instructions.
    pub kind: PinKind,
    /// The tool's name (empty for the instructions).
    pub name: String,
    /// Why, in words.
    pub reason: String,
}

/// A definition waiting for review, as the app announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReview {
    /// The server.
    pub server: String,
    /// A tool or the instructions.
    pub kind: PinKind,
    /// The tool's name (empty for the instructions).
    pub name: String,
    /// Why it was quarantined.
    pub reason: String,
    /// When it was first seen, microseconds since the epoch.
    pub first_seen: i64,
}

fn kind_of(s: &str) -> PinKind {
    if s == "instructions" {
        PinKind::Instructions
    } else {
        PinKind::Tool
    }
}

/// The scanner's findings on a stored definition.
fn findings(kind: PinKind, definition: &str) -> Vec<crate::scan::Finding> {
    match kind {
        PinKind::Instructions => serde_json::from_str::<Option<String>>(definition)
            .ok()
            .flatten()
            .map(|text| crate::scan::scan_instructions(&text))
            .unwrap_or_default(),
        PinKind::Tool => serde_json::from_str::<serde_json::Value>(definition)
            .map(|tool| crate::scan::scan_tool(&tool))
            .unwrap_or_default(),
    }
}

fn server_id(conn: &rusqlite::Connection, server: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM servers WHERE name = ?1", [server], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Error::ServerNotFound(server.to_string()))
}

/// A stored definition, pretty for people: JSON indented, instructions as
/// their text (empty when the server had none).
fn pretty(kind: PinKind, definition: &str) -> String {
    match kind {
        PinKind::Instructions => serde_json::from_str::<Option<String>>(definition)
            .ok()
            .flatten()
            .unwrap_or_default(),
        PinKind::Tool => serde_json::from_str::<serde_json::Value>(definition)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| definition.to_string()),
    }
}

impl Store {
    /// The pin mode of `server` (its own, else the global default) and
    /// whether it is its own.
    pub fn pin_mode(&self, server: &str) -> Result<(PinMode, bool)> {
        let own: Option<String> = self
            .conn()
            .query_row(
                "SELECT pin_mode FROM servers WHERE name = ?1",
                [server],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::ServerNotFound(server.to_string()))?;
        if let Some(mode) = own.as_deref().and_then(PinMode::parse) {
            return Ok((mode, true));
        }
        Ok((self.default_pin_mode()?, false))
    }

    /// The global default pin mode.
    pub fn default_pin_mode(&self) -> Result<PinMode> {
        match self.setting(MODE_SETTING)? {
            None => Ok(PinMode::default()),
            Some(v) => PinMode::parse(&v).ok_or_else(|| {
                Error::InvalidSpec(format!("the pin mode in the store ({v:?}) is not one"))
            }),
        }
    }

    /// Sets `server`'s pin mode (`None` server: the global default; `None`
    /// mode: back to the default).
    pub fn set_pin_mode(&mut self, server: Option<&str>, mode: Option<PinMode>) -> Result<()> {
        let value = mode.map(PinMode::as_str);
        match server {
            None => self.set_setting(MODE_SETTING, value),
            Some(server) => {
                let n = self.conn().execute(
                    "UPDATE servers SET pin_mode = ?2 WHERE name = ?1 AND pin_mode IS NOT ?2",
                    params![server, value],
                )?;
                if n == 0 {
                    server_id(self.conn(), server)?;
                }
                Ok(())
            }
        }
    }

    /// What a proxy of `server` checks listings against.
    pub fn pin_set(&self, server: &str) -> Result<PinSet> {
        let (mode, _) = self.pin_mode(server)?;
        let mut set = PinSet::empty(mode);
        let pinned = self.four_texts(
            "SELECT p.kind, p.key, p.hash, p.definition FROM pins p
             JOIN servers s ON s.id = p.server_id
             WHERE s.name = ?1 AND p.kind IN ('tool', 'instructions')",
            server,
        )?;
        for (kind, key, hash, definition) in pinned {
            // A hash that does not parse matches nothing: the tool is
            // quarantined (fail closed).
            let hash = parse_hex(&hash).unwrap_or([0xff; 32]);
            match kind_of(&kind) {
                PinKind::Tool => {
                    set.tools.insert(key, hash);
                }
                PinKind::Instructions => set.instructions = Some((hash, definition)),
            }
        }
        let reviews = self.four_texts(
            "SELECT r.kind, r.key, r.hash, r.state FROM pin_reviews r
             JOIN servers s ON s.id = r.server_id WHERE s.name = ?1",
            server,
        )?;
        for (kind, key, hash, state) in reviews {
            let review = Review {
                hash: parse_hex(&hash).unwrap_or([0xff; 32]),
                rejected: state == "rejected",
            };
            match kind_of(&kind) {
                PinKind::Tool => {
                    set.tool_reviews.insert(key, review);
                }
                PinKind::Instructions => set.instructions_review = Some(review),
            }
        }
        Ok(set)
    }

    /// The rows of a query for `server` that selects four text columns.
    fn four_texts(&self, sql: &str, server: &str) -> Result<Vec<(String, String, String, String)>> {
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt
            .query_map([server], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Records what a proxy found, in one transaction: first-use
    /// definitions are pinned (unless something else was pinned meanwhile:
    /// then they wait for review), new and changed ones wait for review.
    /// Returns the quarantines the store did not know yet.
    pub fn pins_record(
        &mut self,
        server: &str,
        trust: &[(PinKind, String, Canonical)],
        quarantine: &[Quarantine],
    ) -> Result<Vec<Recorded>> {
        let now = now_micros();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = server_id(&tx, server)?;
        let mut recorded = Vec::new();
        {
            let mut pin = tx.prepare_cached(
                "INSERT INTO pins (server_id, kind, key, hash, definition, pinned_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )?;
            let mut pinned = tx.prepare_cached(
                "SELECT hash FROM pins WHERE server_id = ?1 AND kind = ?2 AND key = ?3",
            )?;
            let mut review = tx.prepare_cached(
                "INSERT INTO pin_reviews (server_id, kind, key, hash, definition, reason, state, first_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)
                 ON CONFLICT (server_id, kind, key) DO UPDATE SET
                    hash = excluded.hash, definition = excluded.definition,
                    reason = excluded.reason, state = 'pending',
                    first_seen = excluded.first_seen, decided_at = NULL
                 WHERE hash <> excluded.hash",
            )?;
            let mut to_review: Vec<(PinKind, &str, &Canonical, String)> = Vec::new();
            for (kind, name, canon) in trust {
                let hash = hex(&canon.hash);
                if pin.execute(params![id, kind.as_str(), name, hash, canon.json, now])? == 0 {
                    let current: Option<String> = pinned
                        .query_row(params![id, kind.as_str(), name], |r| r.get(0))
                        .optional()?;
                    if current.as_deref() != Some(hash.as_str()) {
                        let what = match kind {
                            PinKind::Tool => format!("tool '{name}'"),
                            PinKind::Instructions => "the server's instructions".into(),
                        };
                        to_review.push((
                            *kind,
                            name,
                            canon,
                            format!("the definition of {what} changed since it was approved"),
                        ));
                    }
                }
            }
            for q in quarantine {
                to_review.push((q.kind, &q.name, &q.canonical, q.reason.clone()));
            }
            for (kind, name, canon, reason) in to_review {
                let hash = hex(&canon.hash);
                let current: Option<String> = pinned
                    .query_row(params![id, kind.as_str(), name], |r| r.get(0))
                    .optional()?;
                if current.as_deref() == Some(hash.as_str()) {
                    continue; // approved meanwhile
                }
                let n = review.execute(params![
                    id,
                    kind.as_str(),
                    name,
                    hash,
                    canon.json,
                    reason,
                    now
                ])?;
                if n > 0 {
                    recorded.push(Recorded {
                        kind,
                        name: name.to_string(),
                        reason,
                    });
                }
            }
        }
        tx.commit()?;
        Ok(recorded)
    }

    /// Definitions that started waiting for review after `after`
    /// (microseconds since the epoch), oldest first, with their server:
    /// what the app announces.
    pub fn pins_pending_after(&self, after: i64) -> Result<Vec<PendingReview>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT s.name, r.kind, r.key, r.reason, r.first_seen FROM pin_reviews r
             JOIN servers s ON s.id = r.server_id
             WHERE r.state = 'pending' AND r.first_seen > ?1 ORDER BY r.first_seen",
        )?;
        let rows = stmt.query_map([after], |r| {
            Ok(PendingReview {
                server: r.get(0)?,
                kind: kind_of(&r.get::<_, String>(1)?),
                name: r.get(2)?,
                reason: r.get(3)?,
                first_seen: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the newest definition waiting for review was first seen (0 if
    /// none).
    pub fn pins_pending_newest(&self) -> Result<i64> {
        Ok(self.conn().query_row(
            "SELECT coalesce(max(first_seen), 0) FROM pin_reviews WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// `server`'s pins and what waits for review.
    pub fn pins_show(&self, server: &str) -> Result<ServerPins> {
        let (mode, own_mode) = self.pin_mode(server)?;
        let id = server_id(self.conn(), server)?;
        let mut items: BTreeMap<(PinKind, String), PinItem> = BTreeMap::new();
        let blank = |kind: PinKind, name: &str| PinItem {
            kind,
            name: name.to_string(),
            state: PinState::Pinned,
            pinned: None,
            pinned_at: None,
            proposed: None,
            first_seen: None,
            reason: None,
            findings: Vec::new(),
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT kind, key, definition, pinned_at FROM pins
             WHERE server_id = ?1 AND kind IN ('tool', 'instructions')",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (kind, key, definition, at) = row?;
            let kind = kind_of(&kind);
            let item = items
                .entry((kind, key.clone()))
                .or_insert_with(|| blank(kind, &key));
            item.pinned = Some(pretty(kind, &definition));
            item.pinned_at = Some(at);
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT kind, key, definition, reason, state, first_seen FROM pin_reviews
             WHERE server_id = ?1",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        for row in rows {
            let (kind, key, definition, reason, state, first_seen) = row?;
            let kind = kind_of(&kind);
            let item = items
                .entry((kind, key.clone()))
                .or_insert_with(|| blank(kind, &key));
            item.state = if state == "rejected" {
                PinState::Rejected
            } else if item.pinned.is_some() {
                PinState::Changed
            } else {
                PinState::New
            };
            item.findings = findings(kind, &definition);
            item.proposed = Some(pretty(kind, &definition));
            item.first_seen = Some(first_seen);
            item.reason = Some(reason);
        }
        let mut items: Vec<PinItem> = items.into_values().collect();
        // Waiting first, then rejected, then pinned; by kind and name within.
        items.sort_by_key(|i| match i.state {
            PinState::Changed | PinState::New => 0,
            PinState::Rejected => 1,
            PinState::Pinned => 2,
        });
        Ok(ServerPins {
            server: server.to_string(),
            mode,
            own_mode,
            items,
        })
    }

    /// Approves the definition waiting for review (or rejected): it is
    /// pinned, and clients see it. `Err` if none waits.
    pub fn pins_approve(&mut self, server: &str, kind: PinKind, name: &str) -> Result<()> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = server_id(&tx, server)?;
        let n = tx.execute(
            "INSERT INTO pins (server_id, kind, key, hash, definition, pinned_at)
             SELECT server_id, kind, key, hash, definition, ?4 FROM pin_reviews
             WHERE server_id = ?1 AND kind = ?2 AND key = ?3
             ON CONFLICT (server_id, kind, key) DO UPDATE SET
                hash = excluded.hash, definition = excluded.definition, pinned_at = excluded.pinned_at",
            params![id, kind.as_str(), name, now_micros()],
        )?;
        if n == 0 {
            return Err(nothing_waits(server, kind, name));
        }
        tx.execute(
            "DELETE FROM pin_reviews WHERE server_id = ?1 AND kind = ?2 AND key = ?3",
            params![id, kind.as_str(), name],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Approves everything of `server` that waits for review (not what was
    /// rejected). Returns how many.
    pub fn pins_approve_all(&mut self, server: &str) -> Result<usize> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = server_id(&tx, server)?;
        let n = tx.execute(
            "INSERT INTO pins (server_id, kind, key, hash, definition, pinned_at)
             SELECT server_id, kind, key, hash, definition, ?2 FROM pin_reviews
             WHERE server_id = ?1 AND state = 'pending'
             ON CONFLICT (server_id, kind, key) DO UPDATE SET
                hash = excluded.hash, definition = excluded.definition, pinned_at = excluded.pinned_at",
            params![id, now_micros()],
        )?;
        tx.execute(
            "DELETE FROM pin_reviews WHERE server_id = ?1 AND state = 'pending'",
            [id],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Rejects the definition waiting for review: it stays hidden until
    /// the server offers another one or the person approves it.
    pub fn pins_reject(&mut self, server: &str, kind: PinKind, name: &str) -> Result<()> {
        let id = server_id(self.conn(), server)?;
        let n = self.conn().execute(
            "UPDATE pin_reviews SET state = 'rejected', decided_at = ?4
             WHERE server_id = ?1 AND kind = ?2 AND key = ?3",
            params![id, kind.as_str(), name, now_micros()],
        )?;
        if n == 0 {
            return Err(nothing_waits(server, kind, name));
        }
        Ok(())
    }
}

fn nothing_waits(server: &str, kind: PinKind, name: &str) -> Error {
    let what = match kind {
        PinKind::Tool => format!("tool '{name}'"),
        PinKind::Instructions => "the instructions".into(),
    };
    Error::InvalidSpec(format!(
        "nothing of {what} of server '{server}' waits for review; `gatehouse tools {server}` shows what does"
    ))
}

impl Engine {
    /// A server's pins, per tool (and instructions), with what waits for
    /// review.
    pub fn pins_show(&self, server: String) -> Result<ServerPins> {
        self.store().pins_show(&server)
    }

    /// Approves (re-pins) what waits for review: a tool by name, or the
    /// instructions (`name` is then ignored).
    pub fn pins_approve(&self, server: String, kind: PinKind, name: String) -> Result<()> {
        self.store()
            .pins_approve(&server, kind, pin_key(kind, &name))
    }

    /// Approves everything of a server that waits for review (not what was
    /// rejected); how many.
    pub fn pins_approve_all(&self, server: String) -> Result<usize> {
        self.store().pins_approve_all(&server)
    }

    /// Rejects what waits for review: it stays hidden.
    pub fn pins_reject(&self, server: String, kind: PinKind, name: String) -> Result<()> {
        self.store()
            .pins_reject(&server, kind, pin_key(kind, &name))
    }

    /// Sets a server's pin mode (`None` server: the global default; `None`
    /// mode: back to the default).
    pub fn pins_set_mode(&self, server: Option<String>, mode: Option<PinMode>) -> Result<()> {
        self.store().set_pin_mode(server.as_deref(), mode)
    }
}

fn pin_key(kind: PinKind, name: &str) -> &str {
    match kind {
        PinKind::Tool => name,
        PinKind::Instructions => "",
    }
}
