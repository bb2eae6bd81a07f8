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
    // 2: per-tool policy switches and the audit log.
    r#"
    CREATE TABLE tool_policies (
        server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        tool        TEXT NOT NULL,
        decision    TEXT NOT NULL CHECK (decision IN ('allow', 'ask', 'deny')),
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (server_id, tool)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO revisions (topic, rev) VALUES ('policies', 0);
    CREATE TRIGGER tool_policies_inserted AFTER INSERT ON tool_policies
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER tool_policies_updated AFTER UPDATE ON tool_policies
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER tool_policies_deleted AFTER DELETE ON tool_policies
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;

    -- One row per request/response pair (or refused request). The server is
    -- kept by name so history outlives the registration. Arguments are
    -- stored redacted. (The 'audit' revision row below is unused: watchers
    -- take max(audit.id) as the audit topic's revision.)
    CREATE TABLE audit (
        id           INTEGER PRIMARY KEY,
        time         INTEGER NOT NULL,          -- request received, microseconds since the epoch
        session      TEXT NOT NULL,             -- the proxy process that saw it
        client       TEXT,
        server       TEXT NOT NULL,
        method       TEXT,
        tool         TEXT,
        arguments    TEXT,                      -- redacted JSON
        decision     TEXT NOT NULL CHECK (decision IN ('allowed', 'denied', 'asked', 'error')),
        reason       TEXT,
        result_size  INTEGER,
        is_error     INTEGER,
        rpc_error    TEXT,                      -- the JSON-RPC error object, if any
        latency_us   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_server ON audit (server, id);
    INSERT INTO revisions (topic, rev) VALUES ('audit', 0);
    "#,
    // 3: each proxy numbers its records, so a record imported twice (from
    // its spool file after a crash, and by its writer) is stored once.
    r#"
    ALTER TABLE audit ADD COLUMN seq INTEGER;
    CREATE UNIQUE INDEX audit_by_session_seq ON audit (session, seq) WHERE seq IS NOT NULL;
    "#,
    // 4: policy beyond the per-tool switch: the tools each server offers
    // (for risk tiers), defaults per server and overall, argument rules,
    // flow marks and rate limits per tool, "always allow" rules, and the
    // calls counted against rate limits by every proxy.
    r#"
    CREATE TABLE settings (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;

    ALTER TABLE servers ADD COLUMN default_decision TEXT
        CHECK (default_decision IN ('allow', 'ask', 'deny'));
    ALTER TABLE servers ADD COLUMN rate_max INTEGER CHECK (rate_max > 0);
    ALTER TABLE servers ADD COLUMN rate_window_secs INTEGER CHECK (rate_window_secs > 0);

    -- Each tool as the server last listed it (its definition as JSON).
    CREATE TABLE tools (
        server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        definition  TEXT NOT NULL,
        seen_at     INTEGER NOT NULL,
        PRIMARY KEY (server_id, name)
    ) STRICT, WITHOUT ROWID;

    -- What the person set for a tool besides its switch.
    CREATE TABLE tool_rules (
        server_id         INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        tool              TEXT NOT NULL,
        args              TEXT NOT NULL DEFAULT '{}',  -- JSON: argument rules
        reads_private     INTEGER,                     -- flow marks; NULL: as suggested
        sends_out         INTEGER,
        rate_max          INTEGER CHECK (rate_max > 0),
        rate_window_secs  INTEGER CHECK (rate_window_secs > 0),
        updated_at        INTEGER NOT NULL,
        PRIMARY KEY (server_id, tool)
    ) STRICT, WITHOUT ROWID;

    -- "Always allow", from an approval or set by hand; with an argument
    -- pattern (JSON: argument -> glob), or for any arguments.
    CREATE TABLE allow_rules (
        id          INTEGER PRIMARY KEY,
        server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        tool        TEXT NOT NULL,
        pattern     TEXT,
        origin      TEXT NOT NULL CHECK (origin IN ('approval', 'user')),
        created_at  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX allow_rules_by_tool ON allow_rules (server_id, tool);

    -- Calls counted against a rate limit, by every proxy of the server;
    -- tool '' counts for the server as a whole.
    CREATE TABLE rate_events (
        server_id  INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
        tool       TEXT NOT NULL,
        at         INTEGER NOT NULL  -- microseconds since the epoch
    ) STRICT;
    CREATE INDEX rate_events_by_key ON rate_events (server_id, tool, at);

    INSERT INTO revisions (topic, rev) VALUES ('tools', 0);
    CREATE TRIGGER tools_inserted AFTER INSERT ON tools
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'tools'; END;
    CREATE TRIGGER tools_updated AFTER UPDATE ON tools
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'tools'; END;
    CREATE TRIGGER tools_deleted AFTER DELETE ON tools
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'tools'; END;
    CREATE TRIGGER tool_rules_inserted AFTER INSERT ON tool_rules
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER tool_rules_updated AFTER UPDATE ON tool_rules
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER tool_rules_deleted AFTER DELETE ON tool_rules
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER allow_rules_inserted AFTER INSERT ON allow_rules
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER allow_rules_deleted AFTER DELETE ON allow_rules
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER settings_changed AFTER INSERT ON settings
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER settings_updated AFTER UPDATE ON settings
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    CREATE TRIGGER settings_deleted AFTER DELETE ON settings
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'policies'; END;
    "#,
    // 5: audit search. Full text over the redacted arguments, the reason
    // and the JSON-RPC error (an external-content FTS5 index over `audit`,
    // kept in step by triggers and filled from the rows already there), and
    // indexes for the filters the history browser pages by, newest first.
    r#"
    CREATE VIRTUAL TABLE audit_fts USING fts5 (
        arguments, reason, rpc_error,
        content = 'audit', content_rowid = 'id'
    );
    INSERT INTO audit_fts (rowid, arguments, reason, rpc_error)
        SELECT id, arguments, reason, rpc_error FROM audit;
    CREATE TRIGGER audit_fts_inserted AFTER INSERT ON audit BEGIN
        INSERT INTO audit_fts (rowid, arguments, reason, rpc_error)
            VALUES (new.id, new.arguments, new.reason, new.rpc_error);
    END;
    CREATE TRIGGER audit_fts_deleted AFTER DELETE ON audit BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error);
    END;
    -- Records are not edited, but an edit must not leave the index stale.
    CREATE TRIGGER audit_fts_updated AFTER UPDATE OF arguments, reason, rpc_error ON audit BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error);
        INSERT INTO audit_fts (rowid, arguments, reason, rpc_error)
            VALUES (new.id, new.arguments, new.reason, new.rpc_error);
    END;
    CREATE INDEX audit_by_tool ON audit (tool, id);
    CREATE INDEX audit_by_decision ON audit (decision, id);
    CREATE INDEX audit_by_client ON audit (client, id);
    CREATE INDEX audit_by_time ON audit (time);
    "#,
    // 6: tamper evidence. Each record carries the SHA-256 of its content
    // and of the record before it (`prev_hash`), a chain across every
    // proxy process; `audit_chain` keeps the chain's head (so a truncated
    // tail shows) and the anchor left by retention (the hash of the last
    // record it deleted, where verification starts). Large arguments are
    // stored as a preview with the full text's size and hash. Records
    // already stored are chained in code by the migration's transaction
    // (`audit::chain::seal`), since SQL has no SHA-256.
    r#"
    ALTER TABLE audit ADD COLUMN arguments_size INTEGER;  -- bytes of the full arguments, when only a preview is stored
    ALTER TABLE audit ADD COLUMN arguments_hash BLOB;     -- SHA-256 of the full arguments, likewise
    ALTER TABLE audit ADD COLUMN prev_hash BLOB;
    ALTER TABLE audit ADD COLUMN hash BLOB;
    CREATE TABLE audit_chain (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        head_id      INTEGER NOT NULL DEFAULT 0,  -- the last chained record (0: none yet)
        head_hash    BLOB NOT NULL,               -- its hash
        anchor_id    INTEGER NOT NULL DEFAULT 0,  -- the last record retention deleted (0: none)
        anchor_hash  BLOB NOT NULL,               -- its hash: the first kept record's prev_hash
        pruned       INTEGER NOT NULL DEFAULT 0,  -- records retention deleted, in all
        pruned_at    INTEGER                      -- when it last did
    ) STRICT;
    INSERT INTO audit_chain (id, head_hash, anchor_hash) VALUES (1, zeroblob(32), zeroblob(32));
    "#,
    // 7: the full-text index is filled when it is searched
    // (`Store::audit_index_text`), not by a trigger on every insert: the
    // writer's per-record cost, on the same cores as the proxies, fell by
    // the tokenising. `audit_fts_state` says how far the index reaches;
    // deletes and edits of rows beyond it leave the index alone.
    r#"
    DROP TRIGGER audit_fts_inserted;
    CREATE TABLE audit_fts_state (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        indexed_to  INTEGER NOT NULL  -- every record with id <= this is in audit_fts
    ) STRICT;
    INSERT INTO audit_fts_state (id, indexed_to) SELECT 1, coalesce(max(id), 0) FROM audit;
    DROP TRIGGER audit_fts_deleted;
    CREATE TRIGGER audit_fts_deleted AFTER DELETE ON audit
        WHEN old.id <= (SELECT indexed_to FROM audit_fts_state) BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error);
    END;
    DROP TRIGGER audit_fts_updated;
    CREATE TRIGGER audit_fts_updated AFTER UPDATE OF arguments, reason, rpc_error ON audit
        WHEN old.id <= (SELECT indexed_to FROM audit_fts_state) BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error);
        INSERT INTO audit_fts (rowid, arguments, reason, rpc_error)
            VALUES (new.id, new.arguments, new.reason, new.rpc_error);
    END;
    "#,
    // 8: alert rules. `alerts` holds what the rules raised, each with the
    // ids of the audit records that triggered it (kept after retention
    // deletes the records); `alert_state` is the evaluation's cursor over
    // `audit` and the rules' streaks, so a restart neither loses a streak
    // nor raises an alert twice. It starts at the newest record: history
    // from before the rules existed raises nothing. `alert_domains` is
    // every domain each tool's URL arguments have targeted; `alert_mutes`
    // the rules the person silenced. The 'alerts' topic tells the app.
    r#"
    CREATE TABLE alerts (
        id         INTEGER PRIMARY KEY,
        rule       TEXT NOT NULL,
        raised_at  INTEGER NOT NULL,  -- microseconds since the epoch
        time       INTEGER NOT NULL,  -- the last triggering record's time
        server     TEXT,
        session    TEXT,
        tool       TEXT,
        summary    TEXT NOT NULL,
        records    TEXT NOT NULL,     -- JSON array of audit ids
        acked_at   INTEGER
    ) STRICT;
    CREATE INDEX alerts_open ON alerts (id) WHERE acked_at IS NULL;
    CREATE TABLE alert_state (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        evaluated_to  INTEGER NOT NULL,            -- every record with id <= this was evaluated
        state         TEXT NOT NULL DEFAULT '{}'   -- JSON: the rules' streaks
    ) STRICT;
    INSERT INTO alert_state (id, evaluated_to) SELECT 1, coalesce(max(id), 0) FROM audit;
    CREATE TABLE alert_domains (
        server      TEXT NOT NULL,
        tool        TEXT NOT NULL,
        domain      TEXT NOT NULL,
        first_seen  INTEGER NOT NULL,  -- the audit record's id
        PRIMARY KEY (server, tool, domain)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE alert_mutes (
        rule      TEXT PRIMARY KEY,
        muted_at  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    INSERT INTO revisions (topic, rev) VALUES ('alerts', 0);
    CREATE TRIGGER alerts_inserted AFTER INSERT ON alerts
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'alerts'; END;
    CREATE TRIGGER alerts_updated AFTER UPDATE ON alerts
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'alerts'; END;
    CREATE TRIGGER alerts_deleted AFTER DELETE ON alerts
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'alerts'; END;
    CREATE TRIGGER alert_mutes_inserted AFTER INSERT ON alert_mutes
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'alerts'; END;
    CREATE TRIGGER alert_mutes_deleted AFTER DELETE ON alert_mutes
        BEGIN UPDATE revisions SET rev = rev + 1 WHERE topic = 'alerts'; END;
    "#,
    // 9: what the server answered. A tool call's result is stored
    // redacted, whole when it fits the preview length, otherwise as a JSON
    // string holding its first bytes with the full result's SHA-256
    // (`result_hash`; its size is `result_size`). Full text reaches the
    // results too: the index is rebuilt with a `result` column, filled
    // again on the next search (`indexed_to` back to 0).
    r#"
    ALTER TABLE audit ADD COLUMN result TEXT;
    ALTER TABLE audit ADD COLUMN result_hash BLOB;
    DROP TRIGGER audit_fts_deleted;
    DROP TRIGGER audit_fts_updated;
    DROP TABLE audit_fts;
    CREATE VIRTUAL TABLE audit_fts USING fts5 (
        arguments, reason, rpc_error, result,
        content = 'audit', content_rowid = 'id'
    );
    UPDATE audit_fts_state SET indexed_to = 0;
    CREATE TRIGGER audit_fts_deleted AFTER DELETE ON audit
        WHEN old.id <= (SELECT indexed_to FROM audit_fts_state) BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error, result)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error, old.result);
    END;
    CREATE TRIGGER audit_fts_updated AFTER UPDATE OF arguments, reason, rpc_error, result ON audit
        WHEN old.id <= (SELECT indexed_to FROM audit_fts_state) BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error, result)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error, old.result);
        INSERT INTO audit_fts (rowid, arguments, reason, rpc_error, result)
            VALUES (new.id, new.arguments, new.reason, new.rpc_error, new.result);
    END;
    "#,
    // 10: tool pinning. Definitions waiting for review (`pin_reviews`),
    // each server's pin mode, and the 'pins' topic; the SQL lives with the
    // code that reads it (`pins::MIGRATION`).
    crate::pins::MIGRATION,
    // 11: a compact audit row, so a small call takes well under 400 bytes
    // on disk. Names that repeat on every record (session, client, server,
    // method, tool) are stored once, in `audit_sessions` and `audit_names`,
    // and records hold their ids, as do the filter indexes; `prev_hash`
    // keeps only the first 4 bytes of the previous hash (enough to tell a
    // broken link from an edit; the record's own 32-byte hash covers the
    // previous one whole, as before); the decision index leaves out
    // 'allowed', nine records in ten, which a page finds by walking ids;
    // and the full-text index keeps no positions within a column (`detail
    // = column`: a search is words, not phrases; `none` would be smaller
    // still, but makes prefix queries six times slower). The table is rebuilt with its ids,
    // so the chain, its head and anchor, and alerts' record ids hold.
    // `audit_named` reads it with the names, as readers want it.
    r#"
    CREATE TABLE audit_names (
        id    INTEGER PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE TABLE audit_sessions (
        id    INTEGER PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE
    ) STRICT;
    INSERT OR IGNORE INTO audit_sessions (name) SELECT session FROM audit ORDER BY id;
    INSERT OR IGNORE INTO audit_names (name)
        SELECT name FROM (
            SELECT server AS name FROM audit UNION SELECT client FROM audit
            UNION SELECT method FROM audit UNION SELECT tool FROM audit
        ) WHERE name IS NOT NULL;

    CREATE TABLE audit_compact (
        id              INTEGER PRIMARY KEY,
        time            INTEGER NOT NULL,  -- request received, microseconds since the epoch
        session_id      INTEGER NOT NULL,  -- audit_sessions
        client_id       INTEGER,           -- audit_names, like the next three
        server_id       INTEGER NOT NULL,
        method_id       INTEGER,
        tool_id         INTEGER,
        arguments       TEXT,              -- redacted JSON, or a JSON string holding its first bytes
        arguments_size  INTEGER,
        arguments_hash  BLOB,
        decision        TEXT NOT NULL CHECK (decision IN ('allowed', 'denied', 'asked', 'error')),
        reason          TEXT,
        result_size     INTEGER,
        is_error        INTEGER,
        rpc_error       TEXT,
        latency_us      INTEGER NOT NULL,
        seq             INTEGER,
        prev_hash       BLOB,              -- the first 4 bytes of the previous record's hash
        hash            BLOB,
        result          TEXT,
        result_hash     BLOB
    ) STRICT;
    INSERT INTO audit_compact
        SELECT a.id, a.time, se.id, c.id, sv.id, m.id, t.id,
               a.arguments, a.arguments_size, a.arguments_hash, a.decision, a.reason,
               a.result_size, a.is_error, a.rpc_error, a.latency_us, a.seq,
               substr(a.prev_hash, 1, 4), a.hash, a.result, a.result_hash
        FROM audit AS a
        JOIN audit_sessions AS se ON se.name = a.session
        JOIN audit_names AS sv ON sv.name = a.server
        LEFT JOIN audit_names AS c ON c.name = a.client
        LEFT JOIN audit_names AS m ON m.name = a.method
        LEFT JOIN audit_names AS t ON t.name = a.tool;
    DROP TRIGGER audit_fts_deleted;
    DROP TRIGGER audit_fts_updated;
    DROP TABLE audit_fts;
    DROP TABLE audit;
    ALTER TABLE audit_compact RENAME TO audit;

    CREATE UNIQUE INDEX audit_by_session_seq ON audit (session_id, seq) WHERE seq IS NOT NULL;
    CREATE INDEX audit_by_server ON audit (server_id, id);
    CREATE INDEX audit_by_tool ON audit (tool_id, id);
    CREATE INDEX audit_by_client ON audit (client_id, id);
    CREATE INDEX audit_by_decision ON audit (decision, id) WHERE decision <> 'allowed';
    CREATE INDEX audit_by_time ON audit (time);

    CREATE VIEW audit_named AS
        SELECT a.id, a.time,
               (SELECT name FROM audit_sessions WHERE id = a.session_id) AS session,
               (SELECT name FROM audit_names WHERE id = a.client_id) AS client,
               (SELECT name FROM audit_names WHERE id = a.server_id) AS server,
               (SELECT name FROM audit_names WHERE id = a.method_id) AS method,
               (SELECT name FROM audit_names WHERE id = a.tool_id) AS tool,
               a.arguments, a.arguments_size, a.arguments_hash, a.decision, a.reason,
               a.result_size, a.is_error, a.rpc_error, a.latency_us, a.seq,
               a.prev_hash, a.hash, a.result, a.result_hash
        FROM audit AS a;

    CREATE VIRTUAL TABLE audit_fts USING fts5 (
        arguments, reason, rpc_error, result,
        content = 'audit', content_rowid = 'id', detail = column
    );
    UPDATE audit_fts_state SET indexed_to = 0;
    CREATE TRIGGER audit_fts_deleted AFTER DELETE ON audit
        WHEN old.id <= (SELECT indexed_to FROM audit_fts_state) BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error, result)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error, old.result);
    END;
    CREATE TRIGGER audit_fts_updated AFTER UPDATE OF arguments, reason, rpc_error, result ON audit
        WHEN old.id <= (SELECT indexed_to FROM audit_fts_state) BEGIN
        INSERT INTO audit_fts (audit_fts, rowid, arguments, reason, rpc_error, result)
            VALUES ('delete', old.id, old.arguments, old.reason, old.rpc_error, old.result);
        INSERT INTO audit_fts (rowid, arguments, reason, rpc_error, result)
            VALUES (new.id, new.arguments, new.reason, new.rpc_error, new.result);
    END;
    "#,
    // 12: the local HTTP gateway's per-client bearer tokens, stored as
    // their SHA-256 (the tokens are in the keychain), and the 'gateway'
    // topic running gateways watch; the SQL lives with the code that reads
    // it (`gateway::MIGRATION`).
    crate::gateway::MIGRATION,
];
