//! Answer messages: a 1000-row result shows exactly 20 rows, a clarification is the golden
//! Block Kit of option buttons and commands to run, and whatever the answer holds the message
//! stays within Slack's Block Kit limits (property test).

use proptest::prelude::*;
use quarry_slack::limits::slack_len;
use quarry_slack::{AnswerKind, ResponseType, SlackAnswer, answer_message, check_message};
use serde_json::{Value, json};

fn answer(rows: usize) -> SlackAnswer {
    SlackAnswer {
        question: "daily signups by channel".into(),
        status: AnswerKind::Answered,
        summary: "Signups were steady.".into(),
        columns: vec!["day".into(), "channel".into(), "signups".into()],
        rows: (0..rows).map(|i| vec![json!(format!("day {i}")), json!("paid"), json!(i * 1000)]).collect(),
        truncated: false,
        sql: Some("SELECT day, channel, count(*) FROM signups GROUP BY 1, 2".into()),
        chart_image_url: Some("https://quarry.example/api/v1/charts/abc.png?expires=1&sig=00".into()),
        chart_title: Some("Daily signups".into()),
        conversation_url: Some("https://quarry.example/c/1".into()),
        clarification_options: vec![],
        notes: vec![],
        route: "builtin".into(),
        snapshot_id: "snap".into(),
    }
}

/// The lines inside the table's code block: header, rule, rows.
fn table_lines(message: &Value) -> Vec<String> {
    let text = message["blocks"][1]["text"]["text"].as_str().unwrap();
    let inner = text.strip_prefix("```\n").unwrap().split("\n```").next().unwrap();
    inner.lines().map(str::to_owned).collect()
}

#[test]
fn a_thousand_rows_show_the_first_twenty_and_say_so() {
    let message = answer_message(&answer(1000), ResponseType::InChannel);
    assert_eq!(check_message(&message), vec![]);
    let lines = table_lines(&message);
    assert_eq!(lines.len(), 2 + 20, "{lines:#?}");
    assert!(lines[2].starts_with("day 0 ") && lines[21].starts_with("day 19 "), "{lines:#?}");
    assert!(lines[21].ends_with("19,000"));
    let table = message["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(table.ends_with("\n_First 20 of 1,000 rows._"), "{table}");
}

#[test]
fn a_short_result_shows_every_row_without_a_note() {
    let message = answer_message(&answer(3), ResponseType::Ephemeral);
    assert_eq!(table_lines(&message).len(), 5);
    assert!(message["blocks"][1]["text"]["text"].as_str().unwrap().ends_with("```"));
}

#[test]
fn a_truncated_result_says_there_was_more() {
    let mut cut = answer(1000);
    cut.truncated = true;
    let message = answer_message(&cut, ResponseType::Ephemeral);
    let table = message["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(table.ends_with("_First 20 of 1,000 rows; the result had more._"), "{table}");
}

#[test]
fn wide_and_hostile_data_is_cut_escaped_and_fenced() {
    let mut wide = answer(30);
    wide.columns = (0..40).map(|i| format!("column_with_a_long_name_{i}")).collect();
    wide.rows = (0..30).map(|_| (0..40).map(|_| json!("<@U123> & ``` ".repeat(50))).collect()).collect();
    wide.sql = Some("SELECT ".to_owned() + &"x, ".repeat(5000));
    wide.summary = "&".repeat(10_000);
    let message = answer_message(&wide, ResponseType::Ephemeral);
    assert_eq!(check_message(&message), vec![]);
    let text = message.to_string();
    assert!(!text.contains("<@U123>"), "mentions in data must not ping anyone");
    let table = message["blocks"][1]["text"]["text"].as_str().unwrap();
    assert_eq!(table.matches("```").count(), 2, "data cannot close the code block: {table}");
    assert!(table.contains("columns._"), "{table}");
    let sql = message["blocks"][3]["elements"][0]["text"].as_str().unwrap();
    assert!(sql.ends_with("the full query is in quarry._"), "{sql}");
}

#[test]
fn a_clarification_offers_its_options_as_buttons_and_as_commands() {
    let mut clarify = answer(0);
    clarify.question = "how many users do we have".into();
    clarify.status = AnswerKind::NeedsClarification;
    clarify.summary = "'users' could mean several metrics: Signups; Active users. Which one do you mean?".into();
    clarify.columns = vec![];
    clarify.sql = None;
    clarify.chart_image_url = None;
    clarify.chart_title = None;
    clarify.clarification_options = vec![
        "signups".into(),
        "active users".into(),
        format!("weekly active users by country {}", "and by plan ".repeat(8)),
    ];
    let message = answer_message(&clarify, ResponseType::Ephemeral);
    assert_eq!(check_message(&message), vec![]);
    // Sorted: with serde_json's `preserve_order` (enabled by other crates of the workspace),
    // keys come in insertion order.
    insta::with_settings!({ sort_maps => true }, {
        insta::assert_json_snapshot!("clarification_message", message);
    });
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", "[&<>`*_~|\n ]{0,400}", "\\PC{0,3000}", (0usize..12_000).prop_map(|n| "📈&".repeat(n / 3)),]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        cell_text().prop_map(Value::from),
    ]
}

/// Options and notes: many of them, some long enough to be cut.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", "[&<>`*_\n ]{0,100}", (0usize..700).prop_map(|n| "é<".repeat(n))]
}

/// Cells are cut to a few dozen characters, so long ones only need to be long enough to be cut.
fn cell_text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", "[&<>`|\n ]{0,80}", "\\PC{0,200}", (0usize..100).prop_map(|n| "📈&".repeat(n))]
}

/// Full rows of cells that escape to several times their length, to fill the table's budget.
fn dense_rows() -> impl Strategy<Value = Vec<Vec<Value>>> {
    let cell =
        prop_oneof![(0usize..40).prop_map(|n| Value::from("&📈".repeat(n))), any::<f64>().prop_map(|f| json!(f))];
    prop::collection::vec(prop::collection::vec(cell, 1..12), 0..40)
}

fn kind() -> impl Strategy<Value = AnswerKind> {
    prop_oneof![Just(AnswerKind::Answered), Just(AnswerKind::NeedsClarification), Just(AnswerKind::CannotAnswer)]
}

prop_compose! {
    fn any_answer()(
        question in text(),
        status in kind(),
        summary in text(),
        columns in prop::collection::vec(cell_text(), 0..30),
        rows in prop_oneof![
            prop::collection::vec(prop::collection::vec(value(), 0..30), 0..40),
            dense_rows(),
        ],
        truncated in any::<bool>(),
        sql in prop::option::of(text()),
        chart_image_url in prop::option::of(prop_oneof![
            text(),
            (0usize..4000).prop_map(|n| format!("https://q.example/{}", "a".repeat(n))),
        ]),
        chart_title in prop::option::of(text()),
        conversation_url in prop::option::of(prop_oneof![
            text(),
            (0usize..4000).prop_map(|n| format!("https://q.example/c/{}&x=<y>", "b".repeat(n))),
        ]),
        clarification_options in prop::collection::vec(line(), 0..60),
        notes in prop::collection::vec(line(), 0..30),
        route in text(),
        snapshot_id in text(),
    ) -> SlackAnswer {
        SlackAnswer {
            question, status, summary, columns, rows, truncated, sql, chart_image_url, chart_title,
            conversation_url, clarification_options, notes, route, snapshot_id,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_answer_message_is_within_slack_limits(answer in any_answer(), in_channel in any::<bool>()) {
        let response_type = if in_channel { ResponseType::InChannel } else { ResponseType::Ephemeral };
        let message = answer_message(&answer, response_type);
        prop_assert_eq!(check_message(&message), vec![]);
        prop_assert!(slack_len(message["text"].as_str().unwrap()) > 0);
        let raw_mentions = message.to_string().contains("<!channel>");
        prop_assert!(!raw_mentions);
    }
}

#[test]
#[ignore = "prints a sample message to paste into Slack's Block Kit Builder"]
fn print_a_sample() {
    println!("{}", serde_json::to_string_pretty(&answer_message(&answer(25), ResponseType::InChannel)).unwrap());
}
