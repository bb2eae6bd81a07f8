//! Diffs of client configs, as `clients connect --dry-run` prints them and
//! the Clients page shows them before a change.

use std::path::Path;

use super::Client;
use crate::audit::redact::REDACTED;

/// The diff of a planned change to a client's config, with every secret
/// value either side holds replaced: what a person may see before saying yes.
pub fn redacted(client: Client, path: &Path, before: &str, after: &str) -> String {
    redacted_with(client, path, before, after, &[])
}

/// [`redacted`], also hiding each of `also`: secrets Gatehouse writes that
/// the config's findings do not flag (a client's gateway token).
pub fn redacted_with(
    client: Client,
    path: &Path,
    before: &str,
    after: &str,
    also: &[&str],
) -> String {
    let mut secrets = super::connect::secret_values(client, before);
    secrets.extend(super::connect::secret_values(client, after));
    secrets.extend(also.iter().filter(|s| !s.is_empty()).map(|s| s.to_string()));
    secrets.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = diff(path, before, after);
    for secret in secrets {
        out = out.replace(&secret, REDACTED);
    }
    out
}

/// A unified diff of two texts: the changed lines between their common first and
/// last lines, with three lines of context.
fn diff(path: &Path, before: &str, after: &str) -> String {
    let a: Vec<&str> = before.split_inclusive('\n').collect();
    let b: Vec<&str> = after.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let start = prefix.saturating_sub(3);
    let end_a = (a.len() - suffix + 3).min(a.len());
    let end_b = (b.len() - suffix + 3).min(b.len());
    let mut out = format!(
        "--- {0}\n+++ {0}\n@@ -{1},{2} +{1},{3} @@\n",
        path.display(),
        start + 1,
        end_a - start,
        end_b - start
    );
    let line = |out: &mut String, mark: char, l: &str| {
        out.push(mark);
        out.push_str(l);
        if !l.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    for l in &a[start..prefix] {
        line(&mut out, ' ', l);
    }
    for l in &a[prefix..a.len() - suffix] {
        line(&mut out, '-', l);
    }
    for l in &b[prefix..b.len() - suffix] {
        line(&mut out, '+', l);
    }
    for l in &a[a.len() - suffix..end_a] {
        line(&mut out, ' ', l);
    }
    out
}
