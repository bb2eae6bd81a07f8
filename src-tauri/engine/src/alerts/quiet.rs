//! Quiet hours: a daily window of local time in which calls are unusual.

use crate::{Error, Result};

const DAY_MINUTES: i64 = 24 * 60;

/// A daily window of local time, `start` included, `end` excluded; it may
/// wrap past midnight (`22:00-07:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Minutes after local midnight at which the window opens.
    pub start: u16,
    /// Minutes after local midnight at which it closes.
    pub end: u16,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM` (24-hour clock; start and end must differ).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidSpec(format!(
                "quiet hours {text:?} are not HH:MM-HH:MM, e.g. 22:00-07:00 (local time; start and end differ)"
            ))
        };
        let (start, end) = text.trim().split_once('-').ok_or_else(bad)?;
        let start = clock(start.trim()).ok_or_else(bad)?;
        let end = clock(end.trim()).ok_or_else(bad)?;
        if start == end {
            return Err(bad());
        }
        Ok(Self { start, end })
    }

    /// If the local time `local_secs` (seconds since the epoch, shifted to
    /// local time) falls in the window, the night it belongs to: the local
    /// day number on which that window opened. A window that wraps past
    /// midnight is one night, not two.
    pub fn night(self, local_secs: i64) -> Option<i64> {
        let minutes = local_secs.div_euclid(60);
        let day = minutes.div_euclid(DAY_MINUTES);
        let of_day = minutes.rem_euclid(DAY_MINUTES);
        let (start, end) = (i64::from(self.start), i64::from(self.end));
        if start < end {
            (start..end).contains(&of_day).then_some(day)
        } else if of_day >= start {
            Some(day)
        } else if of_day < end {
            Some(day - 1)
        } else {
            None
        }
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// `HH:MM` as minutes after midnight.
fn clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The local time zone's offset from UTC, in seconds east, at the UTC time
/// `utc_secs` (daylight saving included). UTC where the OS cannot say.
pub(crate) fn local_offset(utc_secs: i64) -> i64 {
    #[cfg(unix)]
    {
        let t = utc_secs as libc::time_t;
        // SAFETY: `tm` is plain data that localtime_r fills in; both
        // pointers are valid for the call.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        if unsafe { !libc::localtime_r(&t, &mut tm).is_null() } {
            #[allow(clippy::unnecessary_cast)] // c_long is 32 bits on some targets
            return tm.tm_gmtoff as i64;
        }
    }
    let _ = utc_secs;
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_window() {
        let q = QuietHours::parse(" 22:00-7:05 ").unwrap();
        assert_eq!((q.start, q.end), (22 * 60, 7 * 60 + 5));
        assert_eq!(q.to_string(), "22:00-07:05");
        for bad in [
            "",
            "22:00",
            "24:00-07:00",
            "22:60-07:00",
            "10:00-10:00",
            "a-b",
            "22:0-7:00",
        ] {
            assert!(QuietHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_window_past_midnight_is_one_night() {
        let q = QuietHours::parse("22:00-07:00").unwrap();
        let at = |day: i64, h: i64, m: i64| (day * 1440 + h * 60 + m) * 60;
        assert_eq!(q.night(at(10, 21, 59)), None);
        assert_eq!(q.night(at(10, 22, 0)), Some(10));
        assert_eq!(q.night(at(11, 3, 0)), Some(10));
        assert_eq!(q.night(at(11, 6, 59)), Some(10));
        assert_eq!(q.night(at(11, 7, 0)), None);
        assert_eq!(q.night(at(11, 12, 0)), None);
    }

    #[test]
    fn a_window_within_a_day() {
        let q = QuietHours::parse("12:00-13:30").unwrap();
        let at = |h: i64, m: i64| (5 * 1440 + h * 60 + m) * 60;
        assert_eq!(q.night(at(11, 59)), None);
        assert_eq!(q.night(at(12, 0)), Some(5));
        assert_eq!(q.night(at(13, 29)), Some(5));
        assert_eq!(q.night(at(13, 30)), None);
    }
}
