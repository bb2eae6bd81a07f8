//! The words the risk heuristics know: verbs by what they let a tool do,
//! nouns of private data, negations, and the lookup that finds a word's
//! base form (`deletes`, `deleting`, `sent`).

use super::risk::{RiskSignal, RiskTier};

/// What a word tells about a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cap {
    Destroy,
    Execute,
    Money,
    Disrupt,
    Write,
    Send,
    Deploy,
    Change,
    Network,
    /// Reads: lowers nothing, but marks nearby noun-like words as nouns.
    Read,
}

impl Cap {
    pub(super) fn tier(self) -> RiskTier {
        match self {
            Cap::Destroy | Cap::Execute | Cap::Money | Cap::Disrupt => RiskTier::Critical,
            Cap::Write | Cap::Send | Cap::Deploy => RiskTier::High,
            Cap::Change | Cap::Network => RiskTier::Medium,
            Cap::Read => RiskTier::Low,
        }
    }

    pub(super) fn signal(self) -> RiskSignal {
        match self {
            Cap::Destroy => RiskSignal::Destroys,
            Cap::Execute => RiskSignal::Executes,
            Cap::Money => RiskSignal::MovesMoney,
            Cap::Disrupt => RiskSignal::Disrupts,
            Cap::Write => RiskSignal::Writes,
            Cap::Send => RiskSignal::Sends,
            Cap::Deploy => RiskSignal::Deploys,
            Cap::Change => RiskSignal::Changes,
            Cap::Network | Cap::Read => RiskSignal::Network,
        }
    }

    pub(super) fn consequence(self) -> &'static str {
        match self {
            Cap::Destroy => "it can delete or destroy data",
            Cap::Execute => "it can run commands or code",
            Cap::Money => "it can move money or buy things",
            Cap::Disrupt => "it can stop processes or machines",
            Cap::Write => "it can change or overwrite data",
            Cap::Send => "it can send data or messages out",
            Cap::Deploy => "it can deploy or release software",
            Cap::Change => "it can create or change things",
            Cap::Network | Cap::Read => "it can reach the network",
        }
    }
}

/// One group of the lexicon: words in their base form that tell `cap`.
/// `nouns` are often nouns in tool names (`get_posts`): beside a reading
/// verb they do not count.
struct Group {
    cap: Cap,
    verbs: &'static [&'static str],
    nouns: &'static [&'static str],
}

/// The words the heuristics know.
#[rustfmt::skip]
static LEXICON: &[Group] = &[
    Group {
        cap: Cap::Destroy,
        verbs: &["delete", "del", "remove", "rm", "rmdir", "unlink", "drop", "truncate", "destroy",
            "purge", "wipe", "erase", "shred", "nuke", "uninstall"],
        nouns: &[],
    },
    Group {
        cap: Cap::Execute,
        verbs: &["exec", "execute", "eval", "spawn", "sudo", "popen", "subprocess"],
        nouns: &["shell", "bash", "zsh", "powershell", "pwsh", "cmd", "terminal", "ssh", "repl"],
    },
    Group {
        cap: Cap::Money,
        verbs: &["pay", "buy", "sell", "withdraw", "checkout", "donate"],
        nouns: &["payment", "transfer", "purchase", "refund", "charge", "trade"],
    },
    Group {
        cap: Cap::Disrupt,
        verbs: &["kill", "terminate", "shutdown", "reboot", "halt", "poweroff"],
        nouns: &[],
    },
    Group {
        cap: Cap::Write,
        verbs: &["write", "modify", "overwrite", "rewrite", "replace", "mv", "rename", "save",
            "insert", "upsert", "append", "put", "chmod", "chown", "revoke", "grant", "install",
            "restore", "clear", "discard"],
        nouns: &["edit", "update", "patch", "move", "commit", "push", "merge", "reset", "migrate"],
    },
    Group {
        cap: Cap::Send,
        verbs: &["send", "publish", "notify", "forward", "share", "upload", "broadcast", "submit"],
        nouns: &["post", "email", "mail", "sms", "tweet", "reply", "comment", "message", "dm",
            "invite", "webhook"],
    },
    Group {
        cap: Cap::Deploy,
        verbs: &["deploy", "rollout", "provision"],
        nouns: &["release", "scale"],
    },
    Group {
        cap: Cap::Change,
        verbs: &["create", "add", "restart", "close", "assign", "approve", "reject", "cancel",
            "enable", "disable", "configure", "toggle", "invoke", "mkdir", "cp", "apply", "abort",
            "pause", "resume", "unlock", "click", "fill", "press"],
        nouns: &["start", "stop", "run", "trigger", "schedule", "archive", "label", "tag", "star",
            "set", "call", "copy", "import", "store", "lock"],
    },
    Group {
        cap: Cap::Network,
        verbs: &["fetch", "download", "http", "https", "curl", "wget", "browse", "navigate",
            "crawl", "scrape", "web", "internet"],
        nouns: &["request", "url", "browser"],
    },
    Group {
        cap: Cap::Read,
        verbs: &["read", "get", "list", "search", "find", "query", "view", "show", "describe",
            "count", "lookup", "inspect", "check", "cat", "grep", "retrieve", "load", "open",
            "export", "print", "preview", "summarize", "stat", "watch", "peek", "return",
            "provide", "display"],
        nouns: &[],
    },
];

/// Words that make a reading verb about private data.
#[rustfmt::skip]
pub(super) static PRIVATE_NOUNS: &[&str] = &[
    "file", "document", "doc", "folder", "directory", "dir", "path", "email", "mail", "inbox",
    "message", "chat", "conversation", "dm", "sms", "database", "db", "sql", "table", "row",
    "record", "note", "calendar", "contact", "secret", "password", "credential", "history",
    "clipboard", "drive", "photo", "memory", "transcript", "journal", "customer", "account",
    "profile", "screenshot", "repository", "repo", "issue",
];

/// Verbs that, with one of [`EXEC_OBJECTS`], mean "runs a command".
#[rustfmt::skip]
pub(super) static RUN_VERBS: &[&str] = &[
    "run", "start", "launch", "spawn", "invoke", "exec", "execute",
];

/// What [`RUN_VERBS`] run when the tool runs commands or code.
#[rustfmt::skip]
pub(super) static EXEC_OBJECTS: &[&str] = &[
    "command", "cmd", "shell", "script", "code", "program", "process", "python", "javascript",
    "js", "node", "bash", "binary", "executable", "snippet", "terminal", "sql",
];

/// Words after which the next few words are negated ("does not delete").
pub(super) static NEGATIONS: &[&str] = &["not", "never", "no", "without", "cannot", "nor", "t"];
/// How many words a negation covers.
pub(super) const NEGATION_SPAN: usize = 4;
/// How much of a description is read: enough for any honest one.
pub(super) const MAX_DESCRIPTION: usize = 16 * 1024;

/// Past tenses the suffix rules miss.
static IRREGULAR: &[(&str, &str)] = &[
    ("sent", "send"),
    ("wrote", "write"),
    ("written", "write"),
    ("rewritten", "rewrite"),
    ("overwritten", "overwrite"),
    ("paid", "pay"),
    ("bought", "buy"),
    ("sold", "sell"),
    ("ran", "run"),
];

/// A lexicon hit: the word's base form, what it tells, and whether it is
/// often a noun.
#[derive(Clone, Copy)]
pub(super) struct Entry {
    pub word: &'static str,
    pub cap: Cap,
    pub noun: bool,
}

fn exact(word: &str) -> Option<Entry> {
    LEXICON.iter().find_map(|g| {
        let hit = |list: &'static [&'static str], noun| {
            list.iter().find(|w| **w == word).map(|&w| Entry {
                word: w,
                cap: g.cap,
                noun,
            })
        };
        hit(g.verbs, false).or_else(|| hit(g.nouns, true))
    })
}

/// The lexicon entry of a lowercase word, trying its base forms:
/// `deletes`, `deleted`, `deleting`, `copies`, `dropped`, `sent`.
pub(super) fn lookup(word: &str) -> Option<Entry> {
    if let Some(e) = exact(word) {
        return Some(e);
    }
    if let Some(&(_, base)) = IRREGULAR.iter().find(|(w, _)| *w == word) {
        return exact(base);
    }
    let mut candidates: [Option<String>; 4] = [None, None, None, None];
    if let Some(stem) = word.strip_suffix("ies").filter(|s| s.len() >= 2) {
        candidates[0] = Some(format!("{stem}y"));
    } else if let Some(stem) = word.strip_suffix("ied").filter(|s| s.len() >= 2) {
        candidates[0] = Some(format!("{stem}y"));
    } else if let Some(stem) = word.strip_suffix("es").filter(|s| s.len() >= 2) {
        candidates[0] = Some(stem.to_owned());
        candidates[1] = Some(format!("{stem}e"));
    } else if let Some(stem) = word.strip_suffix('s').filter(|s| s.len() >= 2) {
        candidates[0] = Some(stem.to_owned());
    } else if let Some(stem) = word
        .strip_suffix("ing")
        .or_else(|| word.strip_suffix("ed"))
        .filter(|s| s.len() >= 2)
    {
        candidates[0] = Some(stem.to_owned());
        candidates[1] = Some(format!("{stem}e"));
        let b = stem.as_bytes();
        if b.len() >= 3 && b[b.len() - 1] == b[b.len() - 2] {
            candidates[2] = Some(stem[..stem.len() - 1].to_owned());
        }
    }
    candidates.iter().flatten().find_map(|c| exact(c))
}

pub(super) fn is_private_noun(word: &str) -> bool {
    PRIVATE_NOUNS.contains(&word)
        || word
            .strip_suffix('s')
            .is_some_and(|s| PRIVATE_NOUNS.contains(&s))
}
