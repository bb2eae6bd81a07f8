//! The rules' settings, kept in the `settings` table: the quiet hours
//! (off by default) and the denial burst.

use super::{
    AlertRule, DEFAULT_BURST_COUNT, DEFAULT_BURST_SECS, DENIAL_BURST_SETTING, QUIET_HOURS_SETTING,
    QuietHours,
};
use crate::{Error, Result, Store};

/// How many refused calls within how long make a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenialBurst {
    /// Refused calls...
    pub count: usize,
    /// ...within this many seconds.
    pub secs: u32,
}

impl Default for DenialBurst {
    fn default() -> Self {
        Self {
            count: DEFAULT_BURST_COUNT,
            secs: DEFAULT_BURST_SECS,
        }
    }
}

impl DenialBurst {
    /// Parses `COUNT/SECONDS`, e.g. `5/60` (2 to 1000 calls, 1 s to a day).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidSpec(format!(
                "denial burst {text:?} is not COUNT/SECONDS, e.g. 5/60 (2 to 1000 calls within 1 to 86400 seconds)"
            ))
        };
        let (count, secs) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: usize = count.trim().parse().map_err(|_| bad())?;
        let secs: u32 = secs
            .trim()
            .trim_end_matches('s')
            .parse()
            .map_err(|_| bad())?;
        if !(2..=1000).contains(&count) || !(1..=86_400).contains(&secs) {
            return Err(bad());
        }
        Ok(Self { count, secs })
    }
}

impl std::fmt::Display for DenialBurst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.count, self.secs)
    }
}

impl Store {
    /// The quiet hours; `None` when off (the default: working hours differ
    /// too much between people for any default to be right).
    pub fn alerts_quiet_hours(&self) -> Result<Option<QuietHours>> {
        match self.setting(QUIET_HOURS_SETTING)? {
            None => Ok(None),
            Some(text) => QuietHours::parse(&text).map(Some),
        }
    }

    /// Sets the quiet hours, or turns them off with `None`.
    pub fn set_alerts_quiet_hours(&mut self, quiet: Option<QuietHours>) -> Result<()> {
        let text = quiet.map(|q| q.to_string());
        self.set_setting(QUIET_HOURS_SETTING, text.as_deref())
    }

    /// The denial burst (default [`DEFAULT_BURST_COUNT`] within
    /// [`DEFAULT_BURST_SECS`] seconds).
    pub fn alerts_denial_burst(&self) -> Result<DenialBurst> {
        match self.setting(DENIAL_BURST_SETTING)? {
            None => Ok(DenialBurst::default()),
            Some(text) => DenialBurst::parse(&text),
        }
    }

    /// Sets the denial burst.
    pub fn set_alerts_denial_burst(&mut self, burst: DenialBurst) -> Result<()> {
        self.set_setting(DENIAL_BURST_SETTING, Some(&burst.to_string()))
    }

    /// Sets a rule's setting from text, as [`AlertRuleInfo::setting`] shows
    /// it: the quiet hours (`HH:MM-HH:MM`, or `off` or `None` to turn them
    /// off) or the denial burst (`COUNT/SECONDS`, `None` for the default).
    pub fn alerts_configure(&mut self, rule: AlertRule, setting: Option<&str>) -> Result<()> {
        let setting = setting.map(str::trim).filter(|s| !s.is_empty());
        match rule {
            AlertRule::QuietHours => match setting {
                None => self.set_alerts_quiet_hours(None),
                Some(off) if off.eq_ignore_ascii_case("off") => self.set_alerts_quiet_hours(None),
                Some(text) => self.set_alerts_quiet_hours(Some(QuietHours::parse(text)?)),
            },
            AlertRule::DenialBurst => match setting {
                None => self.set_setting(DENIAL_BURST_SETTING, None),
                Some(text) => self.set_alerts_denial_burst(DenialBurst::parse(text)?),
            },
            other => Err(Error::InvalidSpec(format!(
                "the rule {} has no setting; only quiet-hours and denial-burst do",
                other.as_str()
            ))),
        }
    }
}
