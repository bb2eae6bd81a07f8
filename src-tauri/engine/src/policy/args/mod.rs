//! Argument rules: what a tool's arguments may contain.
//!
//! A tool's [`ArgumentRules`] are a list of [`ArgRule`]s plus explicit
//! argument kinds. [`CompiledRules::compile`] turns them, with the tool's
//! input schema, into globs, regexes and domain patterns once, when the
//! policy loads; [`CompiledRules::evaluate`] then judges each call's
//! arguments without compiling anything.
//!
//! | rule | applies to | effect |
//! |---|---|---|
//! | `path_allow` | path values | with any present, a path must match one |
//! | `path_deny` | path values | a match denies |
//! | `domain_allow` | URL values | with any present, a URL's host must match one |
//! | `domain_deny` | URL values | a match denies |
//! | `schemes` | URL values | the schemes allowed (default `http`, `https` once any URL rule applies) |
//! | `methods` | HTTP method values | the methods allowed |
//! | `pattern` | string and number values | a regex match denies (or asks) |
//!
//! A rule without `argument` applies to every value of its kind: kinds are
//! inferred from the schema and names ([`infer_kind`]) and overridden by
//! [`ArgumentRules::kinds`]. A rule with `argument` applies to the values of
//! that argument whatever their kind: a key at any depth (`path`), or a
//! dotted path from the top (`files.path`). Pattern rules with `argument`
//! also reach everything nested inside it.
//!
//! Deny wins over allow: any deny is the answer; else any ask; else allow.
//! A value no allow rule matches gets [`ArgumentRules::unmatched`] (deny by
//! default). Values that cannot be judged (a path with `;` in it, a URL
//! with user info, an unparseable URL) are denied, whatever `unmatched`
//! says. See [`path`] and [`url`] for how values are canonicalised.

mod kinds;
mod path;
mod url;
mod walk;

use std::collections::BTreeMap;
use std::fmt;

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

pub use kinds::{ArgKind, infer_kind};
pub use path::PathContext;

use self::url::DomainPattern;
use super::Decision;
use kinds::Node;

/// One tool's argument rules, as the person writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ArgumentRules {
    /// The rules, in the order shown; reasons name them by position.
    #[serde(default)]
    pub rules: Vec<ArgRule>,
    /// Explicit kinds by argument (`path` or `files.path`), over inference.
    #[serde(default)]
    pub kinds: BTreeMap<String, ArgKind>,
    /// What a value no allow rule matches gets: deny (default) or ask.
    #[serde(default)]
    pub unmatched: Refusal,
}

/// The two ways of not allowing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Refusal {
    /// Refuse the call.
    #[default]
    Deny,
    /// Ask the person.
    Ask,
}

impl From<Refusal> for Decision {
    fn from(r: Refusal) -> Decision {
        match r {
            Refusal::Deny => Decision::Deny,
            Refusal::Ask => Decision::Ask,
        }
    }
}

/// One argument rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ArgRule {
    /// The argument it applies to; `None`: every argument of its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub argument: Option<String>,
    /// What it checks.
    #[serde(flatten)]
    #[ts(flatten)]
    pub check: Check,
}

/// What an [`ArgRule`] checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Check {
    /// Paths must match one allow glob (`/reports/**`, `~/notes/*.md`).
    /// `*` stays within a directory, `**` crosses directories. Relative
    /// globs are relative to the server's working directory, except those
    /// starting with `*` (`**/.env`), which match anywhere.
    PathAllow {
        /// The glob.
        glob: String,
    },
    /// Paths matching this glob are denied.
    PathDeny {
        /// The glob.
        glob: String,
    },
    /// URLs must have one allowed host: `example.com` (that host),
    /// `*.example.com` (its subdomains), `*` (any), an IP (`[::1]`), each
    /// optionally with `:port` or `:*` (without one, the scheme's default
    /// port only).
    DomainAllow {
        /// The domain pattern.
        domain: String,
    },
    /// URLs whose host matches this pattern are denied.
    DomainDeny {
        /// The domain pattern.
        domain: String,
    },
    /// The URL schemes allowed (case-insensitive).
    Schemes {
        /// Schemes such as `https`.
        schemes: Vec<String>,
    },
    /// The HTTP methods allowed (case-insensitive).
    Methods {
        /// Methods such as `GET`.
        methods: Vec<String>,
    },
    /// A regex that must not match (a match denies, or asks).
    Pattern {
        /// The regex (Rust `regex` syntax; `(?i)` for case-insensitive).
        regex: String,
        /// What a match gets.
        #[serde(default)]
        on_match: Refusal,
    },
}

impl fmt::Display for ArgRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.check {
            Check::PathAllow { glob } => write!(f, "path allow {glob:?}")?,
            Check::PathDeny { glob } => write!(f, "path deny {glob:?}")?,
            Check::DomainAllow { domain } => write!(f, "domain allow {domain:?}")?,
            Check::DomainDeny { domain } => write!(f, "domain deny {domain:?}")?,
            Check::Schemes { schemes } => write!(f, "schemes {}", schemes.join(", "))?,
            Check::Methods { methods } => write!(f, "methods {}", methods.join(", "))?,
            Check::Pattern { regex, on_match } => {
                let verb = match on_match {
                    Refusal::Deny => "deny",
                    Refusal::Ask => "ask",
                };
                write!(f, "pattern {verb} /{regex}/")?
            }
        }
        if let Some(a) = &self.argument {
            write!(f, " on {a:?}")?;
        }
        Ok(())
    }
}

/// A rule that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument rule {} ({rule}): {message}", .index + 1)]
pub struct RuleError {
    /// The rule's position in [`ArgumentRules::rules`], from 0.
    pub index: usize,
    /// The rule, as text.
    pub rule: String,
    /// What is wrong with it.
    pub message: String,
}

impl From<RuleError> for crate::Error {
    fn from(e: RuleError) -> crate::Error {
        crate::Error::InvalidSpec(e.to_string())
    }
}

/// Why argument rules did not simply allow a call: a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum ArgProblem {
    /// A path matched a deny glob.
    PathDenied,
    /// A path matched no allow glob.
    PathNotAllowed,
    /// A path value that cannot be judged: not one clean path, relative
    /// without a working directory, unresolvable.
    PathUnusable,
    /// A URL's host matched a deny rule.
    UrlDenied,
    /// A URL's host matched no allow rule.
    UrlNotAllowed,
    /// A URL's scheme is not allowed.
    SchemeNotAllowed,
    /// A URL value that cannot be judged: unparseable, user info, encoded
    /// or missing host, whitespace, backslashes.
    UrlUnusable,
    /// A method not in the allowed list.
    MethodNotAllowed,
    /// No method given, and the schema names no default.
    MethodMissing,
    /// A pattern rule matched.
    PatternMatched,
}

/// Why a call was not allowed: the rule and the argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ArgReason {
    /// What went wrong.
    pub problem: ArgProblem,
    /// Where the value is: `path`, `files[1].path`.
    pub argument: String,
    /// The rule's position in [`ArgumentRules::rules`], from 0; `None`
    /// when no single rule decided (an unusable value, or no allow rule
    /// matched).
    pub rule: Option<u32>,
    /// A sentence for the person, naming the argument and the rule.
    pub message: String,
}

/// The outcome of [`CompiledRules::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ArgVerdict {
    /// Allow, ask or deny.
    pub decision: Decision,
    /// Why, when not allowed.
    pub reason: Option<ArgReason>,
}

impl ArgVerdict {
    /// Allowed, no reason needed.
    pub const ALLOW: ArgVerdict = ArgVerdict {
        decision: Decision::Allow,
        reason: None,
    };
}

/// Globs of one argument scope.
struct PathGroup {
    scope: Option<String>,
    allow: GlobSet,
    /// Rule index of each glob in `allow` (a rule can add two forms).
    allow_rules: Vec<usize>,
    deny: GlobSet,
    deny_rules: Vec<usize>,
}

/// Domain rules of one argument scope.
struct UrlGroup {
    scope: Option<String>,
    allow: Vec<(usize, DomainPattern)>,
    deny: Vec<(usize, DomainPattern)>,
    /// Lowercase schemes and the rules that listed them.
    schemes: Vec<(usize, String)>,
}

struct MethodRule {
    index: usize,
    scope: Option<String>,
    methods: Vec<String>,
}

struct PatternRule {
    index: usize,
    scope: Option<String>,
    regex: Regex,
    on_match: Refusal,
}

/// One tool's argument rules, compiled. Build once per policy load with
/// [`CompiledRules::compile`]; [`CompiledRules::evaluate`] every call.
pub struct CompiledRules {
    rules: Vec<ArgRule>,
    unmatched: Refusal,
    schema: Node,
    overrides: Vec<(String, ArgKind)>,
    file_tool: bool,
    ctx: PathContext,
    paths: Vec<PathGroup>,
    urls: Vec<UrlGroup>,
    methods: Vec<MethodRule>,
    patterns: Vec<PatternRule>,
    /// Top-level method arguments from the schema, with their defaults.
    method_args: Vec<(String, Option<String>)>,
}

impl fmt::Debug for CompiledRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledRules")
            .field("rules", &self.rules)
            .field("unmatched", &self.unmatched)
            .finish_non_exhaustive()
    }
}

/// The regex size limit: generous for any hand-written rule, small enough
/// that a pathological one fails when it loads, not on a call.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The schemes URL rules allow when no `schemes` rule applies.
const DEFAULT_SCHEMES: &[&str] = &["http", "https"];

impl CompiledRules {
    /// Compiles `rules` for the tool `tool_name` with input schema
    /// `input_schema`. `ctx` gives `~` and the working directory, for
    /// globs now and for values later. Fails on the first rule that does
    /// not compile, naming it.
    pub fn compile(
        rules: &ArgumentRules,
        tool_name: &str,
        input_schema: &Value,
        ctx: PathContext,
    ) -> Result<CompiledRules, RuleError> {
        let file_tool = kinds::is_file_tool(tool_name);
        let overrides: Vec<(String, ArgKind)> =
            rules.kinds.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut schema = Node::build(input_schema, file_tool);
        schema.apply_overrides(&overrides);
        let mut compiled = CompiledRules {
            rules: rules.rules.clone(),
            unmatched: rules.unmatched,
            method_args: schema
                .props
                .iter()
                .filter(|(_, n)| n.kind == Some(ArgKind::Method))
                .map(|(k, n)| (k.clone(), n.default.clone()))
                .collect(),
            schema,
            overrides,
            file_tool,
            ctx,
            paths: Vec::new(),
            urls: Vec::new(),
            methods: Vec::new(),
            patterns: Vec::new(),
        };
        compiled.compile_rules()?;
        Ok(compiled)
    }

    fn compile_rules(&mut self) -> Result<(), RuleError> {
        let fail = |index: usize, message: String| RuleError {
            index,
            rule: self.rules[index].to_string(),
            message,
        };
        // Path globs, grouped by scope: (scope, allow globs, deny globs).
        type Globs = Vec<(usize, globset::Glob)>;
        let mut path_groups: Vec<(Option<String>, Globs, Globs)> = Vec::new();
        let mut url_groups: Vec<UrlGroup> = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let scope = rule.argument.clone();
            match &rule.check {
                Check::PathAllow { glob } | Check::PathDeny { glob } => {
                    let forms = path::glob_forms(glob, &self.ctx)
                        .map_err(|p| fail(index, format!("the glob: {}", p.describe())))?;
                    let group = match path_groups.iter_mut().find(|g| g.0 == scope) {
                        Some(g) => g,
                        None => {
                            path_groups.push((scope, Vec::new(), Vec::new()));
                            path_groups.last_mut().expect("just pushed")
                        }
                    };
                    let allow = matches!(rule.check, Check::PathAllow { .. });
                    for form in forms {
                        let glob = GlobBuilder::new(&form)
                            .literal_separator(true)
                            .case_insensitive(cfg!(any(target_os = "macos", windows)))
                            .build()
                            .map_err(|e| fail(index, e.kind().to_string()))?;
                        if allow {
                            group.1.push((index, glob));
                        } else {
                            group.2.push((index, glob));
                        }
                    }
                }
                Check::DomainAllow { domain } | Check::DomainDeny { domain } => {
                    let pattern = DomainPattern::parse(domain).map_err(|m| fail(index, m))?;
                    let group = url_group(&mut url_groups, scope);
                    if matches!(rule.check, Check::DomainAllow { .. }) {
                        group.allow.push((index, pattern));
                    } else {
                        group.deny.push((index, pattern));
                    }
                }
                Check::Schemes { schemes } => {
                    if schemes.is_empty() {
                        return Err(fail(index, "no scheme listed".into()));
                    }
                    let group = url_group(&mut url_groups, scope);
                    for s in schemes {
                        let s = s.trim().trim_end_matches(':').to_ascii_lowercase();
                        if s.is_empty()
                            || !s
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                        {
                            return Err(fail(index, format!("{s:?} is not a URL scheme")));
                        }
                        group.schemes.push((index, s));
                    }
                }
                Check::Methods { methods } => {
                    if methods.is_empty() {
                        return Err(fail(index, "no method listed".into()));
                    }
                    if let Some(m) = methods.iter().find(|m| !is_method_token(m)) {
                        return Err(fail(index, format!("{m:?} is not an HTTP method")));
                    }
                    self.methods.push(MethodRule {
                        index,
                        scope,
                        methods: methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
                    });
                }
                Check::Pattern { regex, on_match } => {
                    let regex = RegexBuilder::new(regex)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| fail(index, e.to_string()))?;
                    self.patterns.push(PatternRule {
                        index,
                        scope,
                        regex,
                        on_match: *on_match,
                    });
                }
            }
        }
        for (scope, allow, deny) in path_groups {
            let build = |globs: &[(usize, globset::Glob)]| {
                let mut b = GlobSetBuilder::new();
                for (_, g) in globs {
                    b.add(g.clone());
                }
                b.build().map_err(|e| {
                    let index = globs.first().map_or(0, |g| g.0);
                    fail(index, e.kind().to_string())
                })
            };
            self.paths.push(PathGroup {
                allow: build(&allow)?,
                allow_rules: allow.iter().map(|(i, _)| *i).collect(),
                deny: build(&deny)?,
                deny_rules: deny.iter().map(|(i, _)| *i).collect(),
                scope,
            });
        }
        self.urls = url_groups;
        Ok(())
    }

    /// Whether there are no rules at all: every call is allowed.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules these were compiled from.
    pub fn rules(&self) -> &[ArgRule] {
        &self.rules
    }

    /// Judges one call's `arguments` (the `tools/call` `arguments` object).
    /// Deny as soon as one value is denied; else ask if one asked; else allow.
    pub fn evaluate(&self, arguments: &Value) -> ArgVerdict {
        walk::evaluate(self, arguments)
    }
}

fn url_group(groups: &mut Vec<UrlGroup>, scope: Option<String>) -> &mut UrlGroup {
    let i = match groups.iter().position(|g| g.scope == scope) {
        Some(i) => i,
        None => {
            groups.push(UrlGroup {
                scope,
                allow: Vec::new(),
                deny: Vec::new(),
                schemes: Vec::new(),
            });
            groups.len() - 1
        }
    };
    &mut groups[i]
}

/// An HTTP method token: letters only, at most 20 of them.
fn is_method_token(m: &str) -> bool {
    !m.is_empty() && m.len() <= 20 && m.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests;
