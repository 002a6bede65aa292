//! Chart image links Slack can fetch without logging in: unguessable, expiring and signed.
//!
//! Slack's image blocks fetch `image_url` from Slack's servers, with no quarry session, so the
//! link itself must be the credential. Chart ids are random 128-bit values, so a link cannot be
//! guessed; the HMAC-SHA256 signature over `chart:{chart_id}.{format}:{expires}` additionally
//! bounds how long a leaked link works, and a link whose expiry is further ahead than the
//! signer's TTL is refused too, so shortening the TTL also shortens links already handed out.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::signature::{parse_unix_seconds, unix_seconds};

type HmacSha256 = Hmac<Sha256>;

/// Longest chart id accepted.
const MAX_CHART_ID: usize = 128;

/// The image format of a chart link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    /// PNG, what Slack image blocks display.
    Png,
    /// SVG.
    Svg,
}

impl ChartFormat {
    /// The file extension, `png` or `svg`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Svg => "svg",
        }
    }
}

impl FromStr for ChartFormat {
    type Err = LinkError;

    fn from_str(extension: &str) -> Result<Self, LinkError> {
        match extension {
            "png" => Ok(Self::Png),
            "svg" => Ok(Self::Svg),
            other => Err(LinkError::UnknownFormat { format: other.chars().take(20).collect() }),
        }
    }
}

/// Why a chart link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The link lacks `expires` or `sig`.
    #[error("the chart link has no `{param}` parameter; chart links come from quarry's Slack answers")]
    Missing {
        /// The query parameter.
        param: &'static str,
    },
    /// `expires` is not a unix time in seconds.
    #[error("the chart link's `expires` is not a unix time in seconds")]
    MalformedExpiry,
    /// The link's time is up (or it claims a lifetime longer than links are given).
    #[error("the chart link expired at {expires} (now {now}); ask the question again for a fresh chart")]
    Expired {
        /// When it expired, unix seconds.
        expires: i64,
        /// The server's clock, unix seconds.
        now: i64,
    },
    /// The signature does not match the chart, format and expiry.
    #[error("the chart link's signature does not match; the link was altered or signed with another key")]
    BadSignature,
    /// The chart id is not 1 to 128 of `A-Z a-z 0-9 _ -`.
    #[error("chart id {id:?} is not 1 to 128 letters, digits, `_` or `-`")]
    InvalidChartId {
        /// The id (cut to 40 characters).
        id: String,
    },
    /// The format is not `png` or `svg`.
    #[error("chart format {format:?} is not png or svg")]
    UnknownFormat {
        /// The format asked for.
        format: String,
    },
}

impl LinkError {
    /// A stable snake_case code for logs and API errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "chart_link_incomplete",
            Self::MalformedExpiry => "chart_link_expiry_malformed",
            Self::Expired { .. } => "chart_link_expired",
            Self::BadSignature => "chart_link_signature_invalid",
            Self::InvalidChartId { .. } => "chart_id_invalid",
            Self::UnknownFormat { .. } => "chart_format_unknown",
        }
    }
}

/// Signs and checks chart image links.
#[derive(Clone)]
pub struct ChartLinkSigner {
    key: Vec<u8>,
    ttl: Duration,
}

impl fmt::Debug for ChartLinkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChartLinkSigner").field("key", &"<redacted>").field("ttl", &self.ttl).finish()
    }
}

impl ChartLinkSigner {
    /// A signer with a secret `key` (at least 32 random bytes) whose links last `ttl`.
    pub fn new(key: &[u8], ttl: Duration) -> Self {
        Self { key: key.to_vec(), ttl }
    }

    /// `{public_base_url}/api/v1/charts/{chart_id}.{format}?expires={unix}&sig={hex}`, valid
    /// from `now` for the signer's TTL.
    pub fn url(
        &self,
        public_base_url: &str,
        chart_id: &str,
        format: ChartFormat,
        now: SystemTime,
    ) -> Result<String, LinkError> {
        check_chart_id(chart_id)?;
        let expires = unix_seconds(now).saturating_add(self.ttl_secs());
        let sig = hex::encode(self.mac(chart_id, format, expires).finalize().into_bytes());
        let base = public_base_url.trim_end_matches('/');
        Ok(format!("{base}/api/v1/charts/{chart_id}.{}?expires={expires}&sig={sig}", format.extension()))
    }

    /// Checks a link's `expires` and `sig` query parameters for `chart_id` and `format` at
    /// `now`; the signature is compared in constant time.
    pub fn verify(
        &self,
        chart_id: &str,
        format: ChartFormat,
        expires: Option<&str>,
        sig: Option<&str>,
        now: SystemTime,
    ) -> Result<(), LinkError> {
        check_chart_id(chart_id)?;
        let expires = expires.ok_or(LinkError::Missing { param: "expires" })?;
        let sig = sig.ok_or(LinkError::Missing { param: "sig" })?;
        let expires = parse_unix_seconds(expires).ok_or(LinkError::MalformedExpiry)?;
        let now = unix_seconds(now);
        if now > expires || expires - now > self.ttl_secs() {
            return Err(LinkError::Expired { expires, now });
        }
        let sig = (sig.len() == 64).then(|| hex::decode(sig).ok()).flatten().ok_or(LinkError::BadSignature)?;
        self.mac(chart_id, format, expires).verify_slice(&sig).map_err(|_| LinkError::BadSignature)
    }

    fn ttl_secs(&self) -> i64 {
        i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX)
    }

    fn mac(&self, chart_id: &str, format: ChartFormat, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(format!("chart:{chart_id}.{}:{expires}", format.extension()).as_bytes());
        mac
    }
}

fn check_chart_id(id: &str) -> Result<(), LinkError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_CHART_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid { Ok(()) } else { Err(LinkError::InvalidChartId { id: id.chars().take(40).collect() }) }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn signer() -> ChartLinkSigner {
        ChartLinkSigner::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(3600))
    }

    fn params(url: &str) -> (String, String) {
        let query = url.split_once('?').unwrap().1;
        let mut expires = String::new();
        let mut sig = String::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "expires" => expires = value.into_owned(),
                "sig" => sig = value.into_owned(),
                _ => {}
            }
        }
        (expires, sig)
    }

    #[test]
    fn a_link_verifies_until_it_expires() {
        let url = signer().url("https://q.example/", "c0ffee", ChartFormat::Png, at(1000)).unwrap();
        assert!(url.starts_with("https://q.example/api/v1/charts/c0ffee.png?expires=4600&sig="), "{url}");
        let (expires, sig) = params(&url);
        let verify = |id, format, now| signer().verify(id, format, Some(&expires), Some(&sig), at(now));
        assert_eq!(verify("c0ffee", ChartFormat::Png, 1000), Ok(()));
        assert_eq!(verify("c0ffee", ChartFormat::Png, 4600), Ok(()));
        assert_eq!(verify("c0ffee", ChartFormat::Png, 4601), Err(LinkError::Expired { expires: 4600, now: 4601 }));
        assert_eq!(verify("c0ffef", ChartFormat::Png, 1000), Err(LinkError::BadSignature));
        assert_eq!(verify("c0ffee", ChartFormat::Svg, 1000), Err(LinkError::BadSignature));
    }

    #[test]
    fn ids_are_checked_and_the_key_is_not_printed() {
        let error = signer().url("https://q.example", "../etc?x", ChartFormat::Svg, at(0)).unwrap_err();
        assert_eq!(error.kind(), "chart_id_invalid");
        assert!(!format!("{:?}", signer()).contains("0123"));
        assert_eq!("svg".parse::<ChartFormat>(), Ok(ChartFormat::Svg));
        assert_eq!("gif".parse::<ChartFormat>().unwrap_err().kind(), "chart_format_unknown");
    }
}
