//! The one timestamp format in-toto layouts use: `YYYY-MM-DDTHH:MM:SSZ`
//! (UTC; fractional seconds accepted and ignored). No clock is read here:
//! callers pass "now" in.

use crate::error::Error;

/// Seconds since the Unix epoch (UTC).
pub type UnixTime = i64;

fn digits(s: &str, what: &'static str) -> Result<i64, Error> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(what));
    }
    s.parse().map_err(|_| bad(what))
}

fn bad(what: &'static str) -> Error {
    Error::Malformed {
        what: "timestamp",
        reason: format!("{what} is not valid; expected YYYY-MM-DDTHH:MM:SSZ"),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub fn parse_rfc3339_utc(text: &str) -> Result<UnixTime, Error> {
    let rest = text
        .strip_suffix('Z')
        .ok_or_else(|| bad("time zone (must be Z)"))?;
    let (date, time) = rest
        .split_once('T')
        .ok_or_else(|| bad("date/time separator"))?;
    let mut date_parts = date.split('-');
    let (Some(y), Some(mo), Some(d), None) = (
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
    ) else {
        return Err(bad("date"));
    };
    let time = time.split_once('.').map_or(time, |(whole, frac)| {
        if frac.bytes().all(|b| b.is_ascii_digit()) && !frac.is_empty() {
            whole
        } else {
            ""
        }
    });
    let mut time_parts = time.split(':');
    let (Some(h), Some(mi), Some(s), None) = (
        time_parts.next(),
        time_parts.next(),
        time_parts.next(),
        time_parts.next(),
    ) else {
        return Err(bad("time"));
    };
    if y.len() != 4
        || mo.len() != 2
        || d.len() != 2
        || h.len() != 2
        || mi.len() != 2
        || s.len() != 2
    {
        return Err(bad("field width"));
    }
    let (y, mo, d) = (digits(y, "year")?, digits(mo, "month")?, digits(d, "day")?);
    let (h, mi, s) = (
        digits(h, "hour")?,
        digits(mi, "minute")?,
        digits(s, "second")?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = usize::try_from(mo - 1)
        .ok()
        .and_then(|i| month_days.get(i).copied())
        .ok_or_else(|| bad("month"))?;
    if d < 1 || d > max_day {
        return Err(bad("day"));
    }
    if h > 23 || mi > 59 || s > 60 {
        return Err(bad("time of day"));
    }
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Formats as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339_utc(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
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
    fn rejects_malformed() {
        for bad in [
            "2023-02-29T00:00:00Z",
            "2099-12-31 23:59:59Z",
            "2099-12-31T23:59:59",
            "2099-12-31T23:59:59+01:00",
            "2099-13-01T00:00:00Z",
            "99-12-31T23:59:59Z",
            "",
        ] {
            assert!(parse_rfc3339_utc(bad).is_err(), "{bad}");
        }
    }
}
