//! Evaluating compiled argument rules on one call's arguments: a walk over
//! the arguments' values, each judged by the rules of its kind and scope.

use serde_json::Value;

use super::kinds::Node;
use super::*;

/// Judges one call's `arguments` against compiled `rules`.
pub(super) fn evaluate(rules: &CompiledRules, arguments: &Value) -> ArgVerdict {
    if rules.rules.is_empty() {
        return ArgVerdict::ALLOW;
    }
    let mut walk = Walk {
        rules,
        path: Vec::new(),
        ask: None,
    };
    let result = walk
        .value(arguments, Some(&rules.schema), None)
        .and_then(|()| walk.missing_methods(arguments));
    match result {
        Err(reason) => ArgVerdict {
            decision: Decision::Deny,
            reason: Some(reason),
        },
        Ok(()) => match walk.ask {
            Some(reason) => ArgVerdict {
                decision: Decision::Ask,
                reason: Some(reason),
            },
            None => ArgVerdict::ALLOW,
        },
    }
}

/// One step of the location of a value.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The state of one evaluation.
struct Walk<'a> {
    rules: &'a CompiledRules,
    /// Where the current value is.
    path: Vec<Seg<'a>>,
    /// The first reason to ask, if any.
    ask: Option<ArgReason>,
}

/// Whether a rule's `argument` names the value at `path`: its nearest key,
/// or the dotted keys from the top.
fn names(scope: &str, path: &[Seg<'_>]) -> bool {
    let mut keys = path.iter().filter_map(|s| match s {
        Seg::Key(k) => Some(*k),
        Seg::Index(_) => None,
    });
    if !scope.contains('.') {
        return keys.next_back() == Some(scope);
    }
    dotted_eq(scope, keys)
}

/// Whether a rule's `argument` names the value at `path` or any of its
/// containers (for pattern rules).
fn within(scope: &str, path: &[Seg<'_>]) -> bool {
    let keys = || {
        path.iter().filter_map(|s| match s {
            Seg::Key(k) => Some(*k),
            Seg::Index(_) => None,
        })
    };
    if !scope.contains('.') {
        return keys().any(|k| k == scope);
    }
    let n = scope.split('.').count();
    dotted_eq(scope, keys().take(n))
}

fn dotted_eq<'a>(scope: &str, keys: impl Iterator<Item = &'a str>) -> bool {
    let mut parts = scope.split('.');
    for k in keys {
        if parts.next() != Some(k) {
            return false;
        }
    }
    parts.next().is_none()
}

impl<'a> Walk<'a> {
    fn location(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
        }
        if s.is_empty() {
            s.push_str("(arguments)");
        }
        s
    }

    fn reason(&self, problem: ArgProblem, rule: Option<usize>, what: String) -> ArgReason {
        let argument = self.location();
        let message = match rule {
            Some(i) => format!(
                "Argument \"{argument}\": {what} (rule {}: {}).",
                i + 1,
                self.rules.rules[i]
            ),
            None => format!("Argument \"{argument}\": {what}."),
        };
        ArgReason {
            problem,
            argument,
            rule: rule.map(|i| i as u32),
            message,
        }
    }

    /// A refusal of the kind `unmatched` sets: deny ends the walk, ask is
    /// remembered.
    fn refuse(&mut self, how: Refusal, reason: ArgReason) -> Result<(), ArgReason> {
        match how {
            Refusal::Deny => Err(reason),
            Refusal::Ask => {
                self.ask.get_or_insert(reason);
                Ok(())
            }
        }
    }

    /// The kind of the value at the current path.
    fn kind(&self, node: Option<&Node>, inherited: Option<ArgKind>) -> Option<ArgKind> {
        let key = self.path.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(*k),
            Seg::Index(_) => None,
        });
        match node {
            // Overrides are already applied to the schema's nodes.
            Some(n) => n.kind.or(inherited),
            None => {
                if let Some(k) = key {
                    if let Some((_, kind)) = self
                        .rules
                        .overrides
                        .iter()
                        .find(|(o, _)| o == k || (o.contains('.') && names(o, &self.path)))
                    {
                        return Some(*kind);
                    }
                    if matches!(self.path.last(), Some(Seg::Key(_))) {
                        return kinds::infer_by_name(k, self.rules.file_tool).or(inherited);
                    }
                }
                inherited
            }
        }
    }

    fn value(
        &mut self,
        value: &'a Value,
        node: Option<&'a Node>,
        inherited: Option<ArgKind>,
    ) -> Result<(), ArgReason> {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.path.push(Seg::Key(k));
                    let child = node.and_then(|n| n.props.get(k.as_str()));
                    let kind = self.kind(child, None);
                    let r = self.value(v, child, kind);
                    self.path.pop();
                    r?;
                }
                Ok(())
            }
            Value::Array(items) => {
                let child = node.and_then(|n| n.items.as_deref());
                for (i, v) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    let kind = match child {
                        Some(c) => c.kind.or(inherited),
                        None => inherited,
                    };
                    let r = self.value(v, child, kind);
                    self.path.pop();
                    r?;
                }
                Ok(())
            }
            Value::String(s) => {
                self.patterns(s)?;
                self.string(s, inherited)
            }
            Value::Number(n) => {
                if self.rules.patterns.is_empty() {
                    return Ok(());
                }
                self.patterns(&n.to_string())
            }
            Value::Bool(_) | Value::Null => Ok(()),
        }
    }

    fn patterns(&mut self, s: &str) -> Result<(), ArgReason> {
        let rules = self.rules;
        for p in &rules.patterns {
            let applies = p.scope.as_deref().is_none_or(|a| within(a, &self.path));
            if applies && p.regex.is_match(s) {
                let reason = self.reason(
                    ArgProblem::PatternMatched,
                    Some(p.index),
                    "the value matches a pattern rule".into(),
                );
                self.refuse(p.on_match, reason)?;
            }
        }
        Ok(())
    }

    /// Whether a rule scoped to `scope` applies to a value of `kind` here.
    fn applies(&self, scope: &Option<String>, kind: Option<ArgKind>, rule_kind: ArgKind) -> bool {
        match scope {
            None => kind == Some(rule_kind),
            Some(a) => names(a, &self.path),
        }
    }

    fn string(&mut self, s: &str, kind: Option<ArgKind>) -> Result<(), ArgReason> {
        let rules = self.rules;
        if rules
            .paths
            .iter()
            .any(|g| self.applies(&g.scope, kind, ArgKind::Path))
        {
            self.path_value(s, kind)?;
        }
        if rules
            .urls
            .iter()
            .any(|g| self.applies(&g.scope, kind, ArgKind::Url))
        {
            self.url_value(s, kind)?;
        }
        for m in &rules.methods {
            if self.applies(&m.scope, kind, ArgKind::Method) {
                self.method_value(m, s)?;
            }
        }
        Ok(())
    }

    fn path_value(&mut self, s: &str, kind: Option<ArgKind>) -> Result<(), ArgReason> {
        let rules = self.rules;
        let readings = path::readings(s, &rules.ctx)
            .map_err(|p| self.reason(ArgProblem::PathUnusable, None, p.describe().into_owned()))?;
        let groups = || {
            rules
                .paths
                .iter()
                .filter(|g| self.applies(&g.scope, kind, ArgKind::Path))
        };
        for r in &readings {
            let lexical = Candidate::new(&r.lexical);
            let real = Candidate::new(&r.real);
            for g in groups() {
                let hit = g
                    .deny
                    .matches_candidate(&real)
                    .into_iter()
                    .chain(g.deny.matches_candidate(&lexical))
                    .next();
                if let Some(i) = hit {
                    let what = format!("{} is denied", r.real.display());
                    return Err(self.reason(ArgProblem::PathDenied, Some(g.deny_rules[i]), what));
                }
            }
        }
        if groups().all(|g| g.allow_rules.is_empty()) {
            return Ok(());
        }
        for r in &readings {
            let real = Candidate::new(&r.real);
            if !groups().any(|g| g.allow.is_match_candidate(&real)) {
                let what = format!("{} is outside every allowed path", r.real.display());
                let reason = self.reason(ArgProblem::PathNotAllowed, None, what);
                return self.refuse(rules.unmatched, reason);
            }
        }
        Ok(())
    }

    fn url_value(&mut self, s: &str, kind: Option<ArgKind>) -> Result<(), ArgReason> {
        let rules = self.rules;
        let unusable = |w: &Self, p: url::UrlProblem| {
            w.reason(ArgProblem::UrlUnusable, None, p.describe().to_owned())
        };
        let parsed = url::parse(s).map_err(|p| unusable(self, p))?;
        let groups = || {
            rules
                .urls
                .iter()
                .filter(|g| self.applies(&g.scope, kind, ArgKind::Url))
        };
        let scheme = parsed.scheme();
        let listed = groups().flat_map(|g| g.schemes.iter()).collect::<Vec<_>>();
        let scheme_ok = if listed.is_empty() {
            DEFAULT_SCHEMES.contains(&scheme)
        } else {
            listed.iter().any(|(_, s)| s == scheme)
        };
        if !scheme_ok {
            let rule = listed.first().map(|(i, _)| *i);
            let what = match rule {
                Some(_) => format!("the scheme {scheme:?} is not allowed"),
                None => format!(
                    "the scheme {scheme:?} is not allowed (only http and https are, unless a schemes rule says otherwise)"
                ),
            };
            return Err(self.reason(ArgProblem::SchemeNotAllowed, rule, what));
        }
        let has_domain_rules = groups().any(|g| !g.allow.is_empty() || !g.deny.is_empty());
        if !has_domain_rules {
            return Ok(());
        }
        let host = url::host(&parsed).map_err(|p| unusable(self, p))?;
        let port = parsed.port();
        for g in groups() {
            if let Some((i, _)) = g.deny.iter().find(|(_, d)| d.matches(&host, port)) {
                let what = format!("the host {} is denied", display_host(&parsed));
                return Err(self.reason(ArgProblem::UrlDenied, Some(*i), what));
            }
        }
        let has_allow = groups().any(|g| !g.allow.is_empty());
        if has_allow && !groups().any(|g| g.allow.iter().any(|(_, d)| d.matches(&host, port))) {
            let what = format!(
                "the host {} is not an allowed domain",
                display_host(&parsed)
            );
            let reason = self.reason(ArgProblem::UrlNotAllowed, None, what);
            return self.refuse(rules.unmatched, reason);
        }
        Ok(())
    }

    fn method_value(&mut self, rule: &MethodRule, s: &str) -> Result<(), ArgReason> {
        if !is_method_token(s) {
            return Err(self.reason(
                ArgProblem::MethodNotAllowed,
                Some(rule.index),
                "the value is not a plain HTTP method".into(),
            ));
        }
        if rule.methods.iter().any(|m| m.eq_ignore_ascii_case(s)) {
            return Ok(());
        }
        let what = format!("the method {} is not allowed", s.to_ascii_uppercase());
        let reason = self.reason(ArgProblem::MethodNotAllowed, Some(rule.index), what);
        self.refuse(self.rules.unmatched, reason)
    }

    /// Method rules also judge a method argument the call leaves out: by
    /// the schema's default, or as unmatched when there is none.
    fn missing_methods(&mut self, arguments: &'a Value) -> Result<(), ArgReason> {
        let rules = self.rules;
        for m in &rules.methods {
            for (name, default) in &rules.method_args {
                let applies = m.scope.as_deref().is_none_or(|a| a == name);
                if !applies || arguments.get(name.as_str()).is_some() {
                    continue;
                }
                self.path.push(Seg::Key(name));
                let r = match default {
                    Some(d) => self.method_value(m, d),
                    None => {
                        let reason = self.reason(
                            ArgProblem::MethodMissing,
                            Some(m.index),
                            "no method is given and the schema names no default".into(),
                        );
                        self.refuse(rules.unmatched, reason)
                    }
                };
                self.path.pop();
                r?;
            }
        }
        Ok(())
    }
}

/// The host of a URL as shown to the person: punycode and Unicode both,
/// so a look-alike is visible.
fn display_host(url: &::url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let (unicode, _) = idna_to_unicode(host);
    if unicode != host {
        format!("{host} ({unicode})")
    } else {
        host.to_owned()
    }
}

fn idna_to_unicode(host: &str) -> (String, bool) {
    let (s, r) = ::idna::domain_to_unicode(host);
    (s, r.is_ok())
}
