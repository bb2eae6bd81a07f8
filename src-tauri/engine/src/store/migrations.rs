//! The schema, as an append-only list of migrations. Never edit a released
//! step; add a new one. `user_version` records how many have run.

/// The schema version this build writes: the number of migrations.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Each entry upgrades the schema by one version.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: servers, their pins, and change revisions for watchers.
    r#"
    CREATE TABLE servers (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        transport   TEXT NOT NULL CHECK (transport IN ('stdio', 'http')),
        command     TEXT,
        args        TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
        env         TEXT NOT NULL DEFAULT '{}',  -- JSON object: plain (non-secret) variables
        secrets     TEXT NOT NULL DEFAULT '[]',  -- JSON array: names of variables kept in the keychain
        url         TEXT,
        headers     TEXT NOT NULL DEFAULT '{}',  -- JSON object
        created_at  INTEGER NOT NULL,            -- microseconds since the epoch
        CHECK ((transport = 'stdio' AND command IS NOT NULL AND url IS NULL)
            OR (transport = 'http' AND url IS NOT NULL AND command IS NULL))
    ) STRICT;

    -- What the user approved: a hash per tool definition, the server's
    -- instructions, or the installed package.
    CREATE TABLE pins (
        server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        kind        TEXT NOT NULL CHECK (kind IN ('tool', 'instructions', 'package')),
        key         TEXT NOT NULL,
        hash        TEXT NOT NULL,
        definition  TEXT NOT NULL,
        pinned_at   INTEGER NOT NULL,
        PRIMARY KEY (server_id, kind, key)
    ) STRICT;

    -- One counter per topic, bumped by triggers, so any process can tell
    -- what changed after `PRAGMA data_version` moves.
    CREATE TABLE revisions (
        topic TEXT PRIMARY KEY,
        rev   INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    INSERT INTO revisions (topic, rev) VALUES ('servers', 0);

    CREATE TRIGGER servers_inserted AFTER INSERT ON servers
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'servers'; END;
    CREATE TRIGGER servers_updated AFTER UPDATE ON servers
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'servers'; END;
    CREATE TRIGGER servers_deleted AFTER DELETE ON servers
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'servers'; END;
    "#,
];
