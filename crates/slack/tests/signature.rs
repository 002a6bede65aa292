//! Slack request signatures: Slack's documented example, a sign/verify round trip, and each
//! way a request is refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quarry_slack::{DEFAULT_MAX_AGE, SignatureError, SlackVerifier, sign};

/// The example on <https://api.slack.com/authentication/verifying-requests-from-slack>.
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_TIMESTAMP: &str = "1531420618";
const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SLACK_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn slacks_documented_example_signs_and_verifies() {
    assert_eq!(sign(SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY.as_bytes()), SLACK_SIGNATURE);
    let verifier = SlackVerifier::new(SLACK_SECRET, DEFAULT_MAX_AGE);
    let now = at(1_531_420_618 + 60);
    assert_eq!(verifier.verify(Some(SLACK_TIMESTAMP), Some(SLACK_SIGNATURE), SLACK_BODY.as_bytes(), now), Ok(()));
    // The example is from 2018: checked against today's clock it is a replay.
    let error = verifier.verify(Some(SLACK_TIMESTAMP), Some(SLACK_SIGNATURE), SLACK_BODY.as_bytes(), SystemTime::now());
    assert_eq!(error.unwrap_err().kind(), "slack_timestamp_stale");
}

#[test]
fn a_round_trip_verifies_and_each_rejection_has_its_own_kind() {
    let verifier = SlackVerifier::new("secret", Duration::from_secs(300));
    let body = b"team_id=T1&text=hello";
    let signature = sign("secret", "2000", body);
    let verify = |timestamp: Option<&str>, signature: Option<&str>, body: &[u8], now: u64| {
        verifier.verify(timestamp, signature, body, at(now)).map_err(|e| e.kind())
    };
    assert_eq!(verify(Some("2000"), Some(&signature), body, 2000), Ok(()));
    assert_eq!(verify(None, Some(&signature), body, 2000), Err("slack_timestamp_missing"));
    assert_eq!(verify(Some("2000"), None, body, 2000), Err("slack_signature_missing"));
    assert_eq!(verify(Some("20x0"), Some(&signature), body, 2000), Err("slack_timestamp_malformed"));
    assert_eq!(verify(Some("2000"), Some(&signature), body, 2301), Err("slack_timestamp_stale"));
    assert_eq!(verify(Some("2000"), Some(&signature), body, 1699), Err("slack_timestamp_stale"), "from the future");
    assert_eq!(verify(Some("2000"), Some("v0=abc"), body, 2000), Err("slack_signature_malformed"));
    assert_eq!(verify(Some("2000"), Some(&signature), b"team_id=T1&text=hellO", 2000), Err("slack_signature_mismatch"));
    let other = sign("secret", "2001", body);
    assert_eq!(verify(Some("2000"), Some(&other), body, 2000), Err("slack_signature_mismatch"));
}

#[test]
fn errors_say_what_to_do() {
    let verifier = SlackVerifier::new("secret", DEFAULT_MAX_AGE);
    let stale = verifier.verify(Some("1"), Some(&sign("secret", "1", b"")), b"", at(10_000)).unwrap_err();
    assert!(matches!(stale, SignatureError::StaleTimestamp { skew_secs: 9_999, max_age_secs: 300, .. }));
    assert!(stale.to_string().contains("clock"), "{stale}");
    let mismatch = verifier.verify(Some("1"), Some(&sign("other", "1", b"")), b"", at(1)).unwrap_err();
    assert!(mismatch.to_string().contains("signing secret"), "{mismatch}");
}
