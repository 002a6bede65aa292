//! Signed chart links: a round trip, expiry, and every kind of tampering.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quarry_slack::{ChartFormat, ChartLinkSigner, LinkError};

const ID: &str = "3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn signer(key: &[u8]) -> ChartLinkSigner {
    ChartLinkSigner::new(key, Duration::from_secs(24 * 3600))
}

/// `(path, expires, sig)` of a link.
fn parts(url: &str) -> (String, String, String) {
    let (path, query) = url.split_once('?').unwrap();
    let get = |name: &str| {
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
    };
    (path.to_owned(), get("expires"), get("sig"))
}

#[test]
fn a_link_names_the_chart_and_verifies_within_its_lifetime() {
    let key = [7u8; 32];
    let url = signer(&key).url("https://quarry.example", ID, ChartFormat::Png, at(1_000_000)).unwrap();
    let (path, expires, sig) = parts(&url);
    assert_eq!(path, format!("https://quarry.example/api/v1/charts/{ID}.png"));
    assert_eq!(expires, "1086400");
    assert_eq!(sig.len(), 64);
    for now in [1_000_000, 1_050_000, 1_086_400] {
        assert_eq!(signer(&key).verify(ID, ChartFormat::Png, Some(&expires), Some(&sig), at(now)), Ok(()));
    }
    let expired = signer(&key).verify(ID, ChartFormat::Png, Some(&expires), Some(&sig), at(1_086_401));
    assert_eq!(expired.unwrap_err().kind(), "chart_link_expired");
}

#[test]
fn tampered_links_are_refused() {
    let key = [7u8; 32];
    let (_, expires, sig) = parts(&signer(&key).url("https://q", ID, ChartFormat::Png, at(0)).unwrap());
    let now = at(10);
    let verify = |id: &str, format, expires: Option<&str>, sig: Option<&str>| {
        signer(&key).verify(id, format, expires, sig, now).map_err(|e| e.kind())
    };
    assert_eq!(verify(ID, ChartFormat::Png, Some(&expires), Some(&sig)), Ok(()));
    let other_id = ID.replace('3', "4");
    assert_eq!(verify(&other_id, ChartFormat::Png, Some(&expires), Some(&sig)), Err("chart_link_signature_invalid"));
    assert_eq!(verify(ID, ChartFormat::Svg, Some(&expires), Some(&sig)), Err("chart_link_signature_invalid"));
    assert_eq!(verify(ID, ChartFormat::Png, Some("86399"), Some(&sig)), Err("chart_link_signature_invalid"));
    let mut flipped = sig.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(verify(ID, ChartFormat::Png, Some(&expires), Some(&flipped)), Err("chart_link_signature_invalid"));
    assert_eq!(verify(ID, ChartFormat::Png, Some(&expires), Some(&sig[..63])), Err("chart_link_signature_invalid"));
    assert_eq!(verify(ID, ChartFormat::Png, None, Some(&sig)), Err("chart_link_incomplete"));
    assert_eq!(verify(ID, ChartFormat::Png, Some(&expires), None), Err("chart_link_incomplete"));
    assert_eq!(verify(ID, ChartFormat::Png, Some("soon"), Some(&sig)), Err("chart_link_expiry_malformed"));
    // A later expiry cannot be signed without the key, and is refused past the TTL anyway.
    assert_eq!(verify(ID, ChartFormat::Png, Some("999999999"), Some(&sig)), Err("chart_link_expired"));
    let other_key = signer(&[8u8; 32]).verify(ID, ChartFormat::Png, Some(&expires), Some(&sig), now);
    assert_eq!(other_key, Err(LinkError::BadSignature));
}
