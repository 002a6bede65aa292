//! Slack's request signing, version `v0`, as documented at
//! <https://api.slack.com/authentication/verifying-requests-from-slack>: Slack computes
//! HMAC-SHA256 over `v0:{X-Slack-Request-Timestamp}:{raw body}` with the app's signing secret
//! and sends `X-Slack-Signature: v0=<hex digest>`. A receiver recomputes it over the raw bytes
//! it got (before any form parsing), compares in constant time, and refuses timestamps far
//! from its clock so that a captured request cannot be replayed later.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the request's unix timestamp (seconds).
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// The header carrying `v0=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// How far a request's timestamp may be from the receiver's clock; Slack recommends five minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);

const VERSION_PREFIX: &str = "v0=";
/// Hex digits in a SHA-256 digest.
const DIGEST_HEX_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// Why a request does not prove it came from Slack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The verifier was built with an empty signing secret, which anyone could sign with.
    #[error("the Slack signing secret is empty; set it to the app's Signing Secret (Basic Information page)")]
    EmptySecret,
    /// No `X-Slack-Request-Timestamp` header.
    #[error("the request has no {TIMESTAMP_HEADER} header; only requests signed by Slack are accepted")]
    MissingTimestamp,
    /// No `X-Slack-Signature` header.
    #[error("the request has no {SIGNATURE_HEADER} header; only requests signed by Slack are accepted")]
    MissingSignature,
    /// The timestamp header is not a unix time in whole seconds.
    #[error("the {TIMESTAMP_HEADER} header {value:?} is not a unix time in seconds")]
    MalformedTimestamp {
        /// The header as received (cut to 40 characters).
        value: String,
    },
    /// The timestamp is further from the receiver's clock than allowed, in either direction.
    #[error(
        "the request timestamp {timestamp} is {skew_secs}s away from this server's clock {now} (at most {max_age_secs}s \
         allowed); a replayed request, or a clock that needs syncing"
    )]
    StaleTimestamp {
        /// The request's timestamp.
        timestamp: i64,
        /// The receiver's clock, unix seconds.
        now: i64,
        /// How far apart they are.
        skew_secs: u64,
        /// The most allowed.
        max_age_secs: u64,
    },
    /// The signature header is not `v0=` followed by 64 hex digits.
    #[error("the {SIGNATURE_HEADER} header is not `v0=` followed by 64 hex digits")]
    MalformedSignature,
    /// The signature does not match the body and timestamp under the configured secret.
    #[error(
        "the request signature does not match; the body was altered, or the signing secret is not this Slack app's"
    )]
    Mismatch,
}

impl SignatureError {
    /// A stable snake_case code for logs and API errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EmptySecret => "slack_signing_secret_empty",
            Self::MissingTimestamp => "slack_timestamp_missing",
            Self::MissingSignature => "slack_signature_missing",
            Self::MalformedTimestamp { .. } => "slack_timestamp_malformed",
            Self::StaleTimestamp { .. } => "slack_timestamp_stale",
            Self::MalformedSignature => "slack_signature_malformed",
            Self::Mismatch => "slack_signature_mismatch",
        }
    }
}

/// Checks that requests were signed by Slack with the app's signing secret.
#[derive(Clone)]
pub struct SlackVerifier {
    secret: String,
    max_age: Duration,
}

impl fmt::Debug for SlackVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackVerifier").field("secret", &"<redacted>").field("max_age", &self.max_age).finish()
    }
}

impl SlackVerifier {
    /// A verifier for the app's signing secret that accepts timestamps at most `max_age` from
    /// the receiver's clock (Slack recommends [`DEFAULT_MAX_AGE`], five minutes).
    pub fn new(signing_secret: impl Into<String>, max_age: Duration) -> Self {
        Self { secret: signing_secret.into(), max_age }
    }

    /// Checks a request: `timestamp` and `signature` are the `X-Slack-Request-Timestamp` and
    /// `X-Slack-Signature` headers, `body` the raw body as received, `now` the receiver's clock.
    /// The signature is compared in constant time.
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        if self.secret.is_empty() {
            return Err(SignatureError::EmptySecret);
        }
        let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
        let signature = signature.ok_or(SignatureError::MissingSignature)?;
        let seconds = parse_unix_seconds(timestamp)
            .ok_or_else(|| SignatureError::MalformedTimestamp { value: timestamp.chars().take(40).collect() })?;
        let now = unix_seconds(now);
        let skew_secs = seconds.abs_diff(now);
        if skew_secs > self.max_age.as_secs() {
            return Err(SignatureError::StaleTimestamp {
                timestamp: seconds,
                now,
                skew_secs,
                max_age_secs: self.max_age.as_secs(),
            });
        }
        let digest = signature
            .strip_prefix(VERSION_PREFIX)
            .filter(|hex| hex.len() == DIGEST_HEX_LEN)
            .and_then(|hex| hex::decode(hex).ok())
            .ok_or(SignatureError::MalformedSignature)?;
        basestring_mac(&self.secret, timestamp, body).verify_slice(&digest).map_err(|_| SignatureError::Mismatch)
    }
}

/// What Slack does to sign a request: `v0=` and the hex HMAC-SHA256, keyed with the signing
/// secret, of `v0:{timestamp}:{body}`. For tests and simulators that play Slack.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let digest = basestring_mac(secret, timestamp, body).finalize().into_bytes();
    format!("{VERSION_PREFIX}{}", hex::encode(digest))
}

fn basestring_mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// Whole unix seconds written as plain ASCII digits (what Slack sends), nothing else.
pub(crate) fn parse_unix_seconds(value: &str) -> Option<i64> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// `now` as unix seconds; times before 1970 count as negative.
pub(crate) fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "shhh";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn verifier() -> SlackVerifier {
        SlackVerifier::new(SECRET, DEFAULT_MAX_AGE)
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let signature = sign(SECRET, "1000", b"a=1");
        assert!(signature.starts_with("v0=") && signature.len() == 67);
        assert_eq!(verifier().verify(Some("1000"), Some(&signature), b"a=1", at(1000)), Ok(()));
        assert_eq!(verifier().verify(Some("1000"), Some(&signature), b"a=2", at(1000)), Err(SignatureError::Mismatch));
        assert_eq!(verifier().verify(Some("1001"), Some(&signature), b"a=1", at(1000)), Err(SignatureError::Mismatch));
        let other = SlackVerifier::new("other", DEFAULT_MAX_AGE);
        assert_eq!(other.verify(Some("1000"), Some(&signature), b"a=1", at(1000)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_timestamp_window_is_inclusive_and_symmetric() {
        let signature = sign(SECRET, "1000", b"");
        let verify = |now| verifier().verify(Some("1000"), Some(&signature), b"", at(now));
        assert_eq!(verify(1300), Ok(()));
        assert_eq!(verify(700), Ok(()));
        assert_eq!(verify(1301).unwrap_err().kind(), "slack_timestamp_stale");
        assert_eq!(verify(699).unwrap_err().kind(), "slack_timestamp_stale");
    }

    #[test]
    fn malformed_headers_are_named() {
        let ok = sign(SECRET, "1000", b"");
        for bad in ["", "-5", "+1000", " 1000", "1e3", "10.0", "9999999999999"] {
            let error = verifier().verify(Some(bad), Some(&ok), b"", at(1000)).unwrap_err();
            assert_eq!(error.kind(), "slack_timestamp_malformed", "{bad:?}");
        }
        let upper = ok.to_uppercase().replace("V0=", "v0=");
        assert_eq!(verifier().verify(Some("1000"), Some(&upper), b"", at(1000)), Ok(()), "hex case does not matter");
        let hex = &ok[3..];
        let bad = [
            String::new(),
            "v0=".to_owned(),
            format!("v1={hex}"),
            hex.to_owned(),
            format!("{ok}0"),
            format!("v0={}", &hex[1..]),
            format!("v0=g{}", &hex[1..]),
            format!("v0={hex} "),
        ];
        for bad in &bad {
            let error = verifier().verify(Some("1000"), Some(bad), b"", at(1000)).unwrap_err();
            assert_eq!(error, SignatureError::MalformedSignature, "{bad:?}");
        }
    }

    #[test]
    fn an_empty_secret_verifies_nothing_and_debug_hides_the_secret() {
        let empty = SlackVerifier::new("", DEFAULT_MAX_AGE);
        let signature = sign("", "1000", b"");
        assert_eq!(empty.verify(Some("1000"), Some(&signature), b"", at(1000)), Err(SignatureError::EmptySecret));
        assert!(!format!("{:?}", verifier()).contains(SECRET));
    }
}
