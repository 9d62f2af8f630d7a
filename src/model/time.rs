//! Date-times as the contract writes them: UTC, millisecond precision, `YYYY-MM-DDThh:mm:ss.sssZ`.
//!
//! The Python SDK refuses date-times without a zone, so this is the only form dlsim emits; on
//! input any RFC 3339 date-time with a zone is accepted.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::value::{DecodeError, Type, Value, VapiType};

/// A point in time, in milliseconds since the Unix epoch (UTC); displayed as the contract
/// writes date-times.
///
/// ```
/// use dlsim::Timestamp;
/// let t = Timestamp::parse("2026-01-01T01:00:00+01:00").unwrap();
/// assert_eq!(t, dlsim::VIRTUAL_EPOCH);
/// assert_eq!(t.plus_millis(1_500).to_string(), "2026-01-01T00:00:01.500Z");
/// assert_eq!(Timestamp::from_millis(t.millis()), t);
/// assert_eq!(Timestamp::parse("2026-01-01T00:00:00"), None); // no zone: refused
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The time `ms` milliseconds after the Unix epoch.
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
    /// The time `ms` milliseconds later (saturating).
    pub fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Parse an RFC 3339 date-time with a mandatory zone; digits past milliseconds are dropped.
    pub fn parse(s: &str) -> Option<Self> {
        let dt = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        let ms = dt.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms).ok().map(Timestamp)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(dt) => write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.millisecond()
            ),
            Err(_) => f.write_str("9999-12-31T23:59:59.999Z"),
        }
    }
}

impl VapiType for Timestamp {
    fn vapi_type() -> &'static Type {
        &Type::DateTime
    }
    fn to_value(&self) -> Value {
        Value::String(self.to_string())
    }
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::String(s) => Timestamp::parse(&s).ok_or_else(|| {
                DecodeError::new(
                    "",
                    format!("{s:?} is not a date-time of the form YYYY-MM-DDThh:mm:ss.sssZ"),
                )
            }),
            other => Err(DecodeError::new(
                "",
                format!("expected date-time, found {}", other.kind()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_zone() {
        let t = Timestamp::parse("2015-01-01T22:13:05.651Z").unwrap();
        assert_eq!(t.to_string(), "2015-01-01T22:13:05.651Z");
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn accepts_offsets_and_drops_extra_digits() {
        let t = Timestamp::parse("2015-01-02T00:13:05.651999+02:00").unwrap();
        assert_eq!(t.to_string(), "2015-01-01T22:13:05.651Z");
    }

    #[test]
    fn rejects_missing_zone() {
        assert!(Timestamp::parse("2013-06-06T22:13:05").is_none());
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
