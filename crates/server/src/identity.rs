//! Who is asking: a bearer token from the configuration, a user header set by a trusted
//! reverse proxy, or the anonymous user when no tokens are configured. Slack users are
//! identified by team and user id in [`crate::slack`].
//!
//! Whether the user is an analyst (works the review queue) comes from `[server]` settings: the
//! user is in `analysts`, or the trusted proxy's groups header names `analyst_group`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use quarry_settings::ServerSettings;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The user a request is attributed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `local`, a token's user, a proxy-given user, or `slack:TEAM:USER`.
    pub id: String,
    /// How the user was identified: `anonymous`, `token`, `proxy` or `slack`.
    pub via: &'static str,
    /// Whether the user works the review queue (see the module documentation).
    pub analyst: bool,
}

impl User {
    /// The user `id`, identified `via`, an analyst when `[server] analysts` lists them or
    /// `groups` (from the trusted proxy) holds `[server] analyst_group`.
    pub fn new(config: &ServerSettings, id: String, via: &'static str, groups: Option<&str>) -> User {
        let listed = config.analysts.iter().any(|analyst| analyst == &id);
        let group = config.analyst_group.trim();
        let in_group = !group.is_empty()
            && groups.is_some_and(|groups| groups.split(',').any(|g| g.trim().eq_ignore_ascii_case(group)));
        User { id, via, analyst: listed || in_group }
    }

    /// Refuses a user who is not an analyst, saying what they tried.
    pub fn require_analyst(&self, action: &str) -> Result<(), ApiError> {
        match self.analyst {
            true => Ok(()),
            false => Err(ApiError::Forbidden(format!(
                "only analysts can {action}; an analyst is listed in [server] analysts or is in [server] analyst_group"
            ))),
        }
    }
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let config = &state.config().server;
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim)
                .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be \"Bearer TOKEN\"".into()))?;
            // Every configured token is compared, in constant time, so timing tells nothing.
            let mut found = None;
            for configured in &config.api_tokens {
                if bool::from(configured.token.as_bytes().ct_eq(token.as_bytes())) {
                    found = Some(configured.user.clone());
                }
            }
            return match found {
                Some(id) => Ok(User::new(config, id, "token", None)),
                None => Err(ApiError::Unauthorized(
                    "the bearer token is not one this server knows; check [server] api_tokens".into(),
                )),
            };
        }
        if !config.trusted_user_header.is_empty()
            && let Some(value) = parts.headers.get(config.trusted_user_header.as_str()).cloned()
        {
            // The extractor, not the raw extension: it also honours axum's MockConnectInfo.
            let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await.ok().map(|info| info.0.ip());
            if peer.is_some_and(|ip| trusted(&config.trusted_proxies, ip)) {
                let id = value.to_str().unwrap_or_default().trim();
                if !id.is_empty() && id.len() <= 256 {
                    let groups = (!config.analyst_group_header.is_empty())
                        .then(|| parts.headers.get(config.analyst_group_header.as_str()))
                        .flatten()
                        .and_then(|v| v.to_str().ok());
                    return Ok(User::new(config, id.to_string(), "proxy", groups));
                }
            } else {
                tracing::warn!(?peer, header = %config.trusted_user_header, "user header from an untrusted peer ignored");
            }
        }
        if config.api_tokens.is_empty() {
            return Ok(User::new(config, config.anonymous_user.clone(), "anonymous", None));
        }
        Err(ApiError::Unauthorized(
            "sign in: send \"Authorization: Bearer TOKEN\" with a token from [server] api_tokens".into(),
        ))
    }
}

fn trusted(proxies: &[String], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    proxies.iter().any(|proxy| proxy.parse::<IpAddr>().is_ok_and(|p| p == ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_match_by_address_including_mapped_v4() {
        let proxies = vec!["127.0.0.1".to_string(), "10.0.0.5".to_string()];
        assert!(trusted(&proxies, "127.0.0.1".parse().unwrap()));
        assert!(trusted(&proxies, "::ffff:10.0.0.5".parse().unwrap()));
        assert!(!trusted(&proxies, "10.0.0.6".parse().unwrap()));
        assert!(!trusted(&[], "127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn analysts_are_listed_or_in_the_analyst_group() {
        let config = ServerSettings {
            analysts: vec!["carl".into()],
            analyst_group: "data-team".into(),
            ..ServerSettings::default()
        };
        assert!(User::new(&config, "carl".into(), "token", None).analyst);
        assert!(!User::new(&config, "pam".into(), "token", None).analyst);
        assert!(User::new(&config, "dana".into(), "proxy", Some("eng, Data-Team")).analyst);
        assert!(!User::new(&config, "dana".into(), "proxy", Some("eng,data-teams")).analyst);
        let no_group = ServerSettings { analyst_group: String::new(), ..config };
        assert!(!User::new(&no_group, "dana".into(), "proxy", Some("")).analyst, "an empty group names no one");
    }
}
