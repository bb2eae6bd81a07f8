//! URLs: parsed once with the WHATWG parser (the `url` crate), refused when
//! parsers could disagree about the host, and compared by their ASCII host.
//!
//! Refused before any domain rule is consulted: whitespace or control
//! characters, backslashes (`https://evil.com\@good.com` has a different
//! host in different parsers), user info (`https://good.com@evil.com`),
//! percent-encoding in the host, and anything that does not parse.
//!
//! Hosts compare in their ASCII form: the parser lowercases them and turns
//! Unicode into punycode, so `gооgle.com` with Cyrillic `о` becomes
//! `xn--ggle-55da.com` and matches only a rule that names it. One trailing
//! dot is dropped (`good.com.` is `good.com` in DNS). IP literals match only
//! rules that name the same address, never a domain or `*.` wildcard.

use std::net::IpAddr;

use url::{Host, Url};

/// A host a domain rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPattern {
    /// `*`: any host.
    Any,
    /// `example.com`: that host only (ASCII, lowercase).
    Exact(String),
    /// `*.example.com`: its subdomains, not itself (stored as `.example.com`).
    Subdomains(String),
    /// `127.0.0.1`, `[::1]`.
    Ip(IpAddr),
}

/// Which ports a domain rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortPattern {
    /// No port written: the scheme's default port only.
    Default,
    /// `:*`: any port.
    Any,
    /// `:8443`.
    Exact(u16),
}

/// A compiled domain rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DomainPattern {
    pub host: HostPattern,
    pub port: PortPattern,
}

impl DomainPattern {
    /// Parses `[*.]host[:port|:*]`, `*`, or an IP (`[v6]` in brackets).
    pub fn parse(rule: &str) -> Result<DomainPattern, String> {
        let rule = rule.trim();
        if rule == "*" {
            return Ok(DomainPattern {
                host: HostPattern::Any,
                port: PortPattern::Any,
            });
        }
        if rule.contains("://") || rule.contains(['/', '@', '\\', '?', '#']) {
            return Err(format!(
                "{rule:?} is not a domain: write the host alone, like `example.com` or `*.example.com`"
            ));
        }
        // Split off a port: the last `:` after the host (after `]` for IPv6).
        let (host, port) = match rule.rfind(':') {
            Some(i) if !rule.starts_with('[') || rule[..i].ends_with(']') => {
                (&rule[..i], Some(&rule[i + 1..]))
            }
            _ => (rule, None),
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(
                p.parse()
                    .map_err(|_| format!("{rule:?}: the port {p:?} is not a number"))?,
            ),
        };
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty() || host.contains('*') {
            return Err(format!(
                "{rule:?}: a wildcard can only be a leading `*.` (or `*` alone)"
            ));
        }
        let parsed = Host::parse(host).map_err(|e| format!("{rule:?}: {e}"))?;
        let host = match (parsed, wildcard) {
            (Host::Domain(d), false) => HostPattern::Exact(d),
            (Host::Domain(d), true) => HostPattern::Subdomains(format!(".{d}")),
            (Host::Ipv4(ip), false) => HostPattern::Ip(ip.into()),
            (Host::Ipv6(ip), false) => HostPattern::Ip(ip.into()),
            (Host::Ipv4(_) | Host::Ipv6(_), true) => {
                return Err(format!("{rule:?}: an IP address cannot have a wildcard"));
            }
        };
        Ok(DomainPattern { host, port })
    }

    /// Whether the parsed URL's host and port match.
    pub fn matches(&self, host: &CheckedHost<'_>, port: Option<u16>) -> bool {
        let port_ok = match self.port {
            PortPattern::Any => true,
            // The parser drops a port equal to the scheme's default.
            PortPattern::Default => port.is_none(),
            PortPattern::Exact(p) => port == Some(p),
        };
        port_ok
            && match (&self.host, host) {
                (HostPattern::Any, _) => true,
                (HostPattern::Exact(d), CheckedHost::Domain(h)) => d == h,
                (HostPattern::Subdomains(suffix), CheckedHost::Domain(h)) => {
                    h.len() > suffix.len() && h.ends_with(suffix.as_str())
                }
                (HostPattern::Ip(a), CheckedHost::Ip(b)) => a == b,
                _ => false,
            }
    }
}

/// A URL's host, ready to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckedHost<'a> {
    /// ASCII, lowercase, without a trailing dot.
    Domain(&'a str),
    /// An IP literal, as the parser normalised it.
    Ip(IpAddr),
}

/// Why a URL value cannot be judged by domain rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlProblem {
    /// Whitespace, control characters or backslashes.
    Unclean(&'static str),
    /// The parser refused it.
    Unparseable,
    /// `user@host` or `user:pass@host`.
    UserInfo,
    /// `%` in the host part.
    EncodedHost,
    /// No host (`mailto:`, `data:`, `file:///`).
    NoHost,
    /// Empty labels left after the trailing dot (`good.com..`).
    BadHost,
}

impl UrlProblem {
    pub fn describe(self) -> &'static str {
        match self {
            UrlProblem::Unclean(what) => what,
            UrlProblem::Unparseable => "it cannot be parsed as an absolute URL",
            UrlProblem::UserInfo => {
                "it has a user name or password before the host (`...@host`), which hides the real host"
            }
            UrlProblem::EncodedHost => "its host is percent-encoded",
            UrlProblem::NoHost => "it has no host",
            UrlProblem::BadHost => "its host ends in empty labels",
        }
    }
}

/// Parses a URL value and refuses the ambiguous ones.
pub(crate) fn parse(raw: &str) -> Result<Url, UrlProblem> {
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlProblem::Unclean(
            "it contains whitespace or control characters",
        ));
    }
    if raw.contains('\\') {
        return Err(UrlProblem::Unclean(
            "it contains a backslash, which parsers read differently",
        ));
    }
    let url = Url::parse(raw).map_err(|_| UrlProblem::Unparseable)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::UserInfo);
    }
    // The authority as written: between `//` and the next `/`, `?` or `#`.
    if let Some(i) = raw.find("//") {
        let after = &raw[i + 2..];
        let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
        if authority.contains('@') {
            return Err(UrlProblem::UserInfo);
        }
        if authority.contains('%') {
            return Err(UrlProblem::EncodedHost);
        }
    }
    Ok(url)
}

/// The host of a parsed URL, ready to compare.
pub(crate) fn host(url: &Url) -> Result<CheckedHost<'_>, UrlProblem> {
    match url.host() {
        None => Err(UrlProblem::NoHost),
        Some(Host::Ipv4(ip)) => Ok(CheckedHost::Ip(ip.into())),
        Some(Host::Ipv6(ip)) => Ok(CheckedHost::Ip(ip.into())),
        Some(Host::Domain(_)) => {
            // `host_str` borrows from the URL; `Host::Domain` holds the same.
            let d = url.host_str().unwrap_or_default();
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.is_empty() || d.ends_with('.') || d.contains("..") {
                return Err(UrlProblem::BadHost);
            }
            Ok(CheckedHost::Domain(d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_to_ascii_hosts() {
        let p = DomainPattern::parse("Example.COM").unwrap();
        assert_eq!(p.host, HostPattern::Exact("example.com".into()));
        assert_eq!(p.port, PortPattern::Default);
        let p = DomainPattern::parse("*.example.com:*").unwrap();
        assert_eq!(p.host, HostPattern::Subdomains(".example.com".into()));
        assert_eq!(p.port, PortPattern::Any);
        let p = DomainPattern::parse("bücher.de").unwrap();
        assert_eq!(p.host, HostPattern::Exact("xn--bcher-kva.de".into()));
        let p = DomainPattern::parse("[::1]:8080").unwrap();
        assert_eq!(p.host, HostPattern::Ip("::1".parse().unwrap()));
        assert_eq!(p.port, PortPattern::Exact(8080));
        assert_eq!(
            DomainPattern::parse("127.0.0.1").unwrap().host,
            HostPattern::Ip("127.0.0.1".parse().unwrap())
        );
        for bad in [
            "https://example.com",
            "ex*ample.com",
            "example.com:http",
            "*.127.0.0.1",
            "",
            "a b.com",
        ] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
