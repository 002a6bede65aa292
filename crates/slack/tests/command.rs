//! Slash command bodies: Slack's own example, missing fields, and hostile response URLs.

use quarry_slack::{CommandError, CommandPolicy, SlashCommand};

const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

fn with_response_url(url: &str) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("team_id", "T1"),
            ("channel_id", "C1"),
            ("user_id", "U1"),
            ("command", "/ask"),
            ("text", "signups by week & channel"),
            ("response_url", url),
            ("trigger_id", "1.2.3"),
        ])
        .finish()
        .into_bytes()
}

#[test]
fn slacks_example_body_parses() {
    let command = SlashCommand::parse(SLACK_BODY.as_bytes(), &CommandPolicy::default()).unwrap();
    assert_eq!(command.team_id, "T1DC2JH3J");
    assert_eq!(command.team_domain.as_deref(), Some("testteamnow"));
    assert_eq!(command.channel_name.as_deref(), Some("foobar"));
    assert_eq!(command.user_name.as_deref(), Some("roadrunner"));
    assert_eq!(command.command, "/webhook-collect");
    assert_eq!(command.text, "");
    assert_eq!(command.question(), None, "empty text asks for help");
    assert_eq!(
        command.response_url,
        "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
    );
    assert_eq!(command.user_key(), "slack:T1DC2JH3J:U2CERLKJA");
}

#[test]
fn text_is_form_decoded() {
    let command = SlashCommand::parse(&with_response_url("https://hooks.slack.com/x"), &CommandPolicy::default());
    assert_eq!(command.unwrap().question(), Some("signups by week & channel"));
}

#[test]
fn missing_fields_are_named() {
    for field in ["team_id", "channel_id", "user_id", "command", "response_url", "trigger_id"] {
        let body: String =
            SLACK_BODY.split('&').filter(|pair| !pair.starts_with(&format!("{field}="))).collect::<Vec<_>>().join("&");
        let error = SlashCommand::parse(body.as_bytes(), &CommandPolicy::default()).unwrap_err();
        assert_eq!(error, CommandError::MissingField { field });
        assert!(error.to_string().contains(&format!("`{field}`")), "{error}");
    }
    let error = SlashCommand::parse(b"", &CommandPolicy::default()).unwrap_err();
    assert_eq!(error.kind(), "slack_command_field_missing");
}

#[test]
fn hostile_response_urls_are_refused() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "https://evil.example/hook",
        "https://hooks.slack.com.evil.example/hook",
        "https://hooks.slack.com@evil.example/hook",
        "gopher://hooks.slack.com/x",
        "http://hooks.slack.com/commands/1",
        "http://localhost:8080/x",
        "not a url",
    ] {
        let error = SlashCommand::parse(&with_response_url(url), &CommandPolicy::default()).unwrap_err();
        assert_eq!(error.kind(), "slack_response_url_refused", "{url}");
    }
}

#[test]
fn a_test_policy_allows_a_local_http_receiver_only() {
    let local = CommandPolicy { allow_http: true, allowed_hosts: vec!["127.0.0.1".into()] };
    let command = SlashCommand::parse(&with_response_url("http://127.0.0.1:4321/hook"), &local).unwrap();
    assert_eq!(command.response_url, "http://127.0.0.1:4321/hook");
    assert!(SlashCommand::parse(&with_response_url("http://169.254.169.254/"), &local).is_err());
    let https_only = CommandPolicy { allow_http: false, allowed_hosts: vec!["127.0.0.1".into()] };
    assert!(SlashCommand::parse(&with_response_url("http://127.0.0.1:4321/hook"), &https_only).is_err());
}
