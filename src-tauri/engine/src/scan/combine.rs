//! Weighing a tool as a whole: turning the hits of all its strings into
//! findings.
//!
//! 1. References to tools: "when `X` is used, …" about the tool itself or
//!    one of its parameters is dropped; about a sibling listed by the same
//!    server it is low.
//! 2. Cues (instructions addressed to the model) make no findings but count
//!    as evidence.
//! 3. Weak findings are raised by other evidence in the same tool: a
//!    sensitive path the model is told to read, a URL next to concealment,
//!    or three classes of evidence at once.
//! 4. Critical combinations: concealment, a hidden instruction or a
//!    sensitive read together with exfiltration, redirection or another of
//!    them.
//! 5. Overlapping findings of one rule keep the worst; findings are sorted
//!    worst first.

use std::collections::BTreeMap;

use super::ScanRule::{self, *};
use super::ScanSeverity::{self, *};
use super::rules::Hit;
use super::{Finding, Span};

/// Turns a tool's hits into its findings. `known` holds the tool's own
/// name, its siblings' and its parameters'; `siblings` the siblings only.
pub fn finish(hits: Vec<Hit>, known: &[&str], siblings: &[&str]) -> Vec<Finding> {
    let mut cues = 0usize;
    let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
    for mut hit in hits {
        if let Some(name) = hit.refers_to.as_deref() {
            if siblings.contains(&name) && known.first() != Some(&name) {
                hit.severity = Some(Low);
                hit.weak = true;
            } else if known.contains(&name) {
                continue;
            }
        }
        match hit.severity {
            None => cues += 1,
            Some(_) => kept.push(hit),
        }
    }
    if kept.is_empty() {
        return Vec::new();
    }

    let worst = |hits: &[Hit], rule: ScanRule| {
        hits.iter()
            .filter(|h| h.rule == rule)
            .filter_map(|h| h.severity)
            .max()
    };
    let at_least =
        |hits: &[Hit], rule: ScanRule, s: ScanSeverity| worst(hits, rule).is_some_and(|w| w >= s);

    // 3. Weak evidence raised by the rest of the tool.
    let conceal = worst(&kept, Concealment).is_some();
    let instructing = cues > 0
        || conceal
        || at_least(&kept, HiddenInstruction, Medium)
        || at_least(&kept, SchemaInjection, Low);
    let private = at_least(&kept, SensitiveFile, Low);
    let outbound = at_least(&kept, Exfiltration, Medium) || at_least(&kept, ToolShadowing, Medium);
    let classes: BTreeMap<ScanRule, ScanSeverity> = kept
        .iter()
        .filter_map(|h| Some((h.rule, h.severity?)))
        .fold(BTreeMap::new(), |mut m, (r, s)| {
            let e = m.entry(r).or_insert(s);
            *e = (*e).max(s);
            m
        });
    let score: usize = classes.values().map(|s| *s as usize + 1).sum::<usize>() + cues.min(2);
    for hit in kept.iter_mut().filter(|h| h.weak) {
        let raised = match hit.rule {
            SensitiveFile if instructing || outbound => High,
            Exfiltration if conceal || private => High,
            Exfiltration if instructing => Medium,
            _ if classes.len() >= 3 && score >= 6 => Medium,
            _ if classes.len() >= 2 && score >= 5 && instructing => Medium,
            _ => continue,
        };
        hit.severity = hit.severity.max(Some(raised));
    }

    // 4. Critical combinations.
    let conceal = at_least(&kept, Concealment, Medium);
    let hidden = at_least(&kept, HiddenInstruction, High);
    let private = at_least(&kept, SensitiveFile, Medium);
    let outbound = at_least(&kept, Exfiltration, Medium)
        || at_least(&kept, ToolShadowing, Medium)
        || at_least(&kept, ChoiceManipulation, High);
    let critical_set: &[ScanRule] =
        if (conceal || hidden) && (private || outbound) || private && outbound {
            &[
                Concealment,
                HiddenInstruction,
                SensitiveFile,
                Exfiltration,
                ToolShadowing,
            ]
        } else {
            &[]
        };
    for hit in &mut kept {
        if critical_set.contains(&hit.rule) && hit.severity >= Some(Medium) {
            hit.severity = Some(Critical);
        }
    }

    // 5. Overlaps and order.
    kept.sort_by(|a, b| {
        (&a.field, a.rule, a.start)
            .cmp(&(&b.field, b.rule, b.start))
            .then(b.severity.cmp(&a.severity))
    });
    let mut out: Vec<Finding> = Vec::with_capacity(kept.len());
    for hit in kept {
        let severity = hit.severity.expect("cues were set aside");
        if let Some(last) = out.last_mut()
            && last.rule == hit.rule
            && last.span.field == hit.field
            && hit.start < last.span.end
        {
            if severity > last.severity {
                last.severity = severity;
                last.message = hit.message;
            }
            continue;
        }
        out.push(Finding {
            rule: hit.rule,
            severity,
            message: hit.message,
            span: Span {
                field: hit.field,
                start: hit.start,
                end: hit.end,
                text: hit.text,
            },
        });
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.span.field.cmp(&b.span.field))
            .then(a.span.start.cmp(&b.span.start))
    });
    out
}
