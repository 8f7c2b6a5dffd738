//! The one timestamp format in-toto layouts use: `YYYY-MM-DDTHH:MM:SSZ`
//! (UTC; fractional seconds accepted and ignored). No clock is read here:
//! callers pass "now" in.
//!
//! What is accepted, exactly: four digits of year, `-`, two of month, `-`,
//! two of day, an upper-case `T`, two digits each of hour, minute and second
//! separated by `:`, optionally `.` and one or more digits (ignored), and an
//! upper-case `Z`. Nothing else: no offsets (`+01:00`, `-00:00`), no
//! lower-case `t`/`z`, no space separator, no basic format
//! (`20240101T000000Z`), no comma before the fraction, no time without
//! seconds, no bracketed annotations. The calendar is checked by `jiff`
//! (months 1-12, the days of that month with leap years, hours 0-23,
//! minutes 0-59); a leap second `:60` is read as `:59`, as jiff does.

use jiff::civil::DateTime;
use jiff::SignedDuration;

use crate::error::Error;

/// Seconds since the Unix epoch (UTC).
pub type UnixTime = i64;

fn bad(what: &str) -> Error {
    Error::Malformed {
        what: "timestamp",
        reason: format!("{what} is not valid; expected YYYY-MM-DDTHH:MM:SSZ"),
    }
}

/// The layout of the date and time before any fraction and the `Z`: `d` a
/// digit, every other byte itself.
const LAYOUT: &[u8] = b"dddd-dd-ddTdd:dd:dd";

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (see the module documentation).
pub fn parse_rfc3339_utc(text: &str) -> Result<UnixTime, Error> {
    let rest = text
        .strip_suffix('Z')
        .ok_or_else(|| bad("time zone (must be Z)"))?;
    let whole = match rest.split_once('.') {
        Some((whole, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => {
            whole
        }
        Some(_) => return Err(bad("fractional second")),
        None => rest,
    };
    let fits = whole.len() == LAYOUT.len()
        && whole.bytes().zip(LAYOUT).all(|(b, &l)| match l {
            b'd' => b.is_ascii_digit(),
            _ => b == l,
        });
    if !fits {
        return Err(bad("layout"));
    }
    // Read as a civil date and time (years 0000 to 9999 in full: jiff's
    // `Timestamp` stops a day short of both ends). The fraction is left
    // out: it is ignored, and jiff reads at most nine digits of it.
    let civil: DateTime = whole
        .parse()
        .map_err(|e: jiff::Error| bad(&format!("date or time ({e})")))?;
    Ok(civil.duration_since(EPOCH).as_secs())
}

/// 1970-01-01T00:00:00 (UTC).
const EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// Formats as `YYYY-MM-DDTHH:MM:SSZ`. Times outside what jiff's civil
/// time holds (years -9999 to 9999) are written as its first or last
/// second.
pub fn format_rfc3339_utc(t: UnixTime) -> String {
    let civil = EPOCH
        .checked_add(SignedDuration::from_secs(t))
        .unwrap_or(if t < 0 { DateTime::MIN } else { DateTime::MAX });
    civil.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339_utc("2000-03-01T00:00:00Z").unwrap(),
            951_868_800
        );
        let t = parse_rfc3339_utc("2099-12-31T23:59:59Z").unwrap();
        assert_eq!(format_rfc3339_utc(t), "2099-12-31T23:59:59Z");
        assert_eq!(
            parse_rfc3339_utc("2024-02-29T12:00:00.123Z").unwrap() % 86_400,
            43_200
        );
    }

    #[test]
    fn fractions_of_any_length_are_ignored_and_formatting_saturates() {
        assert_eq!(
            parse_rfc3339_utc("1970-01-01T00:00:01.1234567890123Z").unwrap(),
            1
        );
        assert_eq!(
            parse_rfc3339_utc("2000-02-29T00:00:00Z").unwrap(),
            951_782_400
        );
        assert_eq!(format_rfc3339_utc(i64::MAX), "9999-12-31T23:59:59Z");
        let last = parse_rfc3339_utc("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(format_rfc3339_utc(last), "9999-12-31T23:59:59Z");
        // A leap second reads as the second before it.
        assert_eq!(
            parse_rfc3339_utc("2016-12-31T23:59:60Z").unwrap(),
            parse_rfc3339_utc("2016-12-31T23:59:59Z").unwrap()
        );
        let first = parse_rfc3339_utc("0000-01-01T00:00:00Z").unwrap();
        assert_eq!(format_rfc3339_utc(first), "0000-01-01T00:00:00Z");
        assert_eq!(format_rfc3339_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "2023-02-29T00:00:00Z",
            "2099-12-31 23:59:59Z",
            "2099-12-31T23:59:59",
            "2099-12-31T23:59:59+01:00",
            "2099-13-01T00:00:00Z",
            "99-12-31T23:59:59Z",
            "",
            // What jiff's own parser would take, and the format does not.
            "2099-12-31t23:59:59Z",
            "2099-12-31T23:59:59z",
            "2099-12-31T23:59:59-00:00",
            "20991231T235959Z",
            "2099-12-31T23:59Z",
            "2099-12-31T23:59:59,5Z",
            "2099-12-31T23:59:59.Z",
            "2099-12-31T23:59:59Z[UTC]",
            "+002099-12-31T23:59:59Z",
            "2099-1-31T23:59:59Z",
            "2099-12-31T24:00:00Z",
            "2099-12-32T00:00:00Z",
            "2100-02-29T00:00:00Z",
        ] {
            assert!(parse_rfc3339_utc(bad).is_err(), "{bad}");
        }
    }
}
