//! `quarry eval eval/questions/demo.jsonl --model openai` against a scripted OpenAI-compatible
//! endpoint (a real HTTP server on loopback): every question goes to the model, the reports
//! carry tokens, cost and latency per question, and `--compare` sets the model's run beside
//! the built-in planner's.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::quarry;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn demo_cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/questions/demo.jsonl")
}

/// A model that knows the labeled answers: it reads the fenced question of the prompt and
/// writes that case's gold SQL, or says it cannot answer a question it was not given.
struct GoldModel(HashMap<String, String>);

impl GoldModel {
    fn from_cases(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).expect("the demo set");
        let cases = text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| {
            let case: Value = serde_json::from_str(l).expect("a case");
            Some((case["question"].as_str()?.trim().to_string(), case["gold_sql"].as_str()?.to_string()))
        });
        Self(cases.collect())
    }
}

impl Respond for GoldModel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().expect("a JSON request");
        let prompt = body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str());
        let question = prompt
            .and_then(|p| p.rsplit_once("<question>\n"))
            .and_then(|(_, rest)| rest.split_once("\n</question>"))
            .map(|(question, _)| question.trim().to_string())
            .unwrap_or_default();
        let content = match self.0.get(&question) {
            Some(sql) => json!({"sql": sql, "explanation": "the labeled query", "chart": null, "cannot_answer": null}),
            None => {
                json!({"sql": null, "explanation": "", "chart": null, "cannot_answer": format!("unknown question {question:?}")})
            }
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-eval",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280}
        }))
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("the report")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_with_the_openai_model_reports_tokens_cost_and_latency_and_compares_with_builtin() {
    let cases = demo_cases();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(GoldModel::from_cases(&cases))
        .mount(&server)
        .await;
    let base_url = format!("{}/v1", server.uri());
    let dir = tempfile::tempdir().expect("tempdir");
    let (model_json, model_md, builtin_json) =
        (dir.path().join("openai.json"), dir.path().join("openai.md"), dir.path().join("builtin.json"));

    let (cases_arg, model_json_arg, model_md_arg, builtin_json_arg) = (
        cases.display().to_string(),
        model_json.display().to_string(),
        model_md.display().to_string(),
        builtin_json.display().to_string(),
    );
    let compared = tokio::task::spawn_blocking(move || {
        quarry().args(["eval", &cases_arg, "--no-progress", "--report", &builtin_json_arg]).assert().success();
        let output = quarry()
            .args(["eval", &cases_arg, "--model", "openai", "--no-progress"])
            .args(["--report", &model_json_arg, "--markdown", &model_md_arg, "--compare", &builtin_json_arg])
            .env("QUARRY_MODEL__BASE_URL", &base_url)
            .env("QUARRY_MODEL__MODEL", "scripted")
            .env("QUARRY_MODEL__STRUCTURED_OUTPUT", "json_object")
            .env("QUARRY_MODEL__MAX_RETRIES", "0")
            .env("QUARRY_MODEL__INPUT_PRICE_PER_MILLION", "2.5")
            .env("QUARRY_MODEL__OUTPUT_PRICE_PER_MILLION", "10")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(output).expect("utf-8")
    })
    .await
    .expect("the eval runs");

    let report = read_json(&model_json);
    assert_eq!(report["label"], "openai:scripted");
    let cases_out = report["cases"].as_array().expect("cases");
    assert!(cases_out.len() >= 200, "{} cases", cases_out.len());
    let requests = server.received_requests().await.unwrap_or_default().len();
    assert!(requests >= cases_out.len(), "every question went to the model: {requests} requests");
    let per_call_cost = (1200.0 * 2.5 + 80.0 * 10.0) / 1e6;
    for case in cases_out {
        assert_eq!(case["route"], "openai:scripted", "{case}");
        assert!(case["tokens"]["prompt"].as_u64().unwrap_or(0) >= 1200, "{case}");
        assert!(case["tokens"]["completion"].as_u64().unwrap_or(0) >= 80, "{case}");
        assert!(case["cost_usd"].as_f64().unwrap_or(0.0) >= per_call_cost - 1e-12, "{case}");
        assert!(case["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{case}");
    }
    // The model that writes the labeled SQL is scored as right: the harness is measuring it.
    let passed = cases_out.iter().filter(|c| c["ex"] == true).count();
    assert!(passed * 100 >= cases_out.len() * 95, "{passed} of {} passed", cases_out.len());

    let markdown = std::fs::read_to_string(&model_md).expect("the markdown report");
    assert!(markdown.contains("### Per question"), "{markdown}");
    assert!(markdown.contains("| signups-last-month |"), "{markdown}");
    // The comparison names both runs with their cost.
    assert!(compared.contains("| before | builtin |"), "{compared}");
    assert!(compared.contains("| after | openai:scripted |"), "{compared}");
    assert_eq!(read_json(&builtin_json)["cases"][0]["cost_usd"], 0.0);
}
