//! The OpenAPI description and the API agree: the checked-in `schemas/openapi.json` is the
//! generated document, every route is documented (and every documented path routed), and
//! real responses validate against their schemas.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{TestState, ask, call, get, post_json, run, settings};
use serde_json::{Value, json};

fn openapi_path() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/openapi.json"))
}

#[test]
fn openapi_document_is_checked_in() {
    let generated = quarry_server::openapi::openapi_json();
    let path = openapi_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write schemas/openapi.json");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schemas/openapi.json is not the document the server describes; regenerate it with\n\
         UPDATE_OPENAPI=1 cargo test -p quarry-server --test openapi\nand commit it"
    );
}

/// The routes of `quarry_server::router` that the document must describe.
const DOCUMENTED_ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/ask"),
    ("post", "/api/v1/ask/stream"),
    ("get", "/api/v1/conversations"),
    ("get", "/api/v1/conversations/{id}"),
    ("post", "/api/v1/conversations/{id}/share"),
    ("post", "/api/v1/feedback"),
    ("get", "/api/v1/charts/{file}"),
    ("get", "/api/v1/suggestions"),
    ("get", "/api/v1/snapshot"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/reviews"),
    ("post", "/api/v1/reviews"),
    ("get", "/api/v1/reviews/{id}"),
    ("post", "/api/v1/reviews/{id}/sql"),
    ("post", "/api/v1/reviews/{id}/answer"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

#[test]
fn openapi_paths_and_routes_agree() {
    let doc: Value = serde_json::from_str(&quarry_server::openapi::openapi_json()).expect("JSON");
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in DOCUMENTED_ROUTES {
        assert!(paths.get(*path).and_then(|p| p.get(*method)).is_some(), "the document lacks {method} {path}");
    }
    let documented: usize = paths.values().map(|p| p.as_object().map_or(0, |m| m.len())).sum();
    assert_eq!(documented, DOCUMENTED_ROUTES.len(), "the document describes operations the test does not know");
    // And every documented operation is a route: none falls through to the 404 fallback.
    run(async move {
        let server = TestState::new(settings()).await;
        let app = server.router();
        for (method, path) in DOCUMENTED_ROUTES {
            let uri = path.replace("{id}", "c-unknown").replace("{file}", "ch-unknown.svg");
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let reply = call(&app, request).await;
            assert!(
                !reply.text().contains("there is nothing at") && reply.status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri} is documented but not routed: {} {}",
                reply.status,
                reply.text()
            );
        }
        let served = call(&app, get("/api/v1/openapi.json")).await;
        assert_eq!(served.status, StatusCode::OK);
        assert_eq!(served.content_type(), "application/json");
        assert_eq!(served.text(), quarry_server::openapi::openapi_json(), "the server serves the document");
    });
}

#[test]
fn responses_conform_to_their_schemas() {
    run(async {
        let doc: Value = serde_json::from_str(&quarry_server::openapi::openapi_json()).expect("JSON");
        let schema_of = |method: &str, path: &str, status: &str| -> Value {
            doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"].clone()
        };
        let server = TestState::new(settings()).await;
        let app = server.router();
        let answered = ask(&app, "signups by channel last month", None).await.ok_json();
        let clarification = ask(&app, "how many users do we have", None).await.ok_json();
        for body in [&answered, &clarification] {
            conforms(&doc, &schema_of("post", "/api/v1/ask", "200"), body, "$");
        }
        let id = answered["conversation_id"].as_str().unwrap();
        let feedback = json!({"answer_id": answered["answer_id"], "rating": "up", "comment": "good"});
        let given = call(&app, post_json("/api/v1/feedback", &feedback)).await;
        assert_eq!(given.status, StatusCode::CREATED);
        conforms(&doc, &schema_of("post", "/api/v1/feedback", "201"), &given.json(), "$");
        let list = call(&app, get("/api/v1/conversations")).await.ok_json();
        conforms(&doc, &schema_of("get", "/api/v1/conversations", "200"), &list, "$");
        let view = call(&app, get(&format!("/api/v1/conversations/{id}"))).await.ok_json();
        conforms(&doc, &schema_of("get", "/api/v1/conversations/{id}", "200"), &view, "$");
        let share = call(&app, post_json(&format!("/api/v1/conversations/{id}/share"), &json!({}))).await;
        assert_eq!(share.status, StatusCode::CREATED, "{}", share.text());
        conforms(&doc, &schema_of("post", "/api/v1/conversations/{id}/share", "201"), &share.json(), "$");
        let suggestions = call(&app, get("/api/v1/suggestions")).await.ok_json();
        conforms(&doc, &schema_of("get", "/api/v1/suggestions", "200"), &suggestions, "$");
        let snapshot = call(&app, get("/api/v1/snapshot")).await.ok_json();
        conforms(&doc, &schema_of("get", "/api/v1/snapshot", "200"), &snapshot, "$");
        for path in ["/healthz", "/readyz"] {
            let health = call(&app, get(path)).await.ok_json();
            conforms(&doc, &schema_of("get", path, "200"), &health, "$");
        }
        // The review queue, with the anonymous user as its analyst.
        let mut review_settings = settings();
        review_settings.server.analysts = vec!["local".into()];
        let reviewing = TestState::new(review_settings).await;
        let queue_app = reviewing.router();
        let unanswered = ask(&queue_app, "how many unicorns", None).await.ok_json();
        conforms(&doc, &schema_of("post", "/api/v1/ask", "200"), &unanswered, "$");
        let review = unanswered["review"]["id"].as_str().expect("handed to an analyst").to_string();
        let again =
            call(&queue_app, post_json("/api/v1/reviews", &json!({"answer_id": unanswered["answer_id"]}))).await;
        conforms(&doc, &schema_of("post", "/api/v1/reviews", "200"), &again.ok_json(), "$");
        let queue = call(&queue_app, get("/api/v1/reviews")).await.ok_json();
        conforms(&doc, &schema_of("get", "/api/v1/reviews", "200"), &queue, "$");
        let detail = call(&queue_app, get(&format!("/api/v1/reviews/{review}"))).await.ok_json();
        conforms(&doc, &schema_of("get", "/api/v1/reviews/{id}", "200"), &detail, "$");
        let sql = json!({"sql": "SELECT plan, COUNT(*) AS n FROM subscriptions GROUP BY plan"});
        let run = call(&queue_app, post_json(&format!("/api/v1/reviews/{review}/sql"), &sql)).await.ok_json();
        conforms(&doc, &schema_of("post", "/api/v1/reviews/{id}/sql", "200"), &run, "$");
        let answer = json!({"text": "none", "sql": sql["sql"], "promote": true});
        let answered = call(&queue_app, post_json(&format!("/api/v1/reviews/{review}/answer"), &answer)).await;
        conforms(&doc, &schema_of("post", "/api/v1/reviews/{id}/answer", "200"), &answered.ok_json(), "$");
        let verified = ask(&queue_app, "how many unicorns", None).await.ok_json();
        conforms(&doc, &schema_of("post", "/api/v1/ask", "200"), &verified, "$");
        let me = call(&queue_app, get("/api/v1/me")).await.ok_json();
        conforms(&doc, &schema_of("get", "/api/v1/me", "200"), &me, "$");
        let error = call(&app, get("/api/v1/conversations/c-nope")).await;
        conforms(&doc, &schema_of("get", "/api/v1/conversations/{id}", "4XX"), &error.json(), "$");
        // The checker does catch a mismatch.
        let broken = std::panic::catch_unwind(|| {
            let mut wrong = suggestions.clone();
            wrong["suggestions"] = json!([1, 2]);
            conforms(&doc, &schema_of("get", "/api/v1/suggestions", "200"), &wrong, "$");
        });
        assert!(broken.is_err(), "a list of numbers is not a list of strings");
    });
}

/// Result cells are strings, numbers, booleans or null: the document must allow any value.
#[test]
fn answer_rows_are_any_json_values_in_the_schema() {
    let doc: Value = serde_json::from_str(&quarry_server::openapi::openapi_json()).expect("JSON");
    let rows = &doc["components"]["schemas"]["Answer"]["properties"]["rows"];
    conforms(&doc, rows, &json!([["referral", 1603, 12.5, true, null]]), "$.rows");
}

/// Checks `value` against an OpenAPI 3.1 `schema` (the subset utoipa emits: `$ref` to
/// components, `type` (also as a list with `null`), `properties`, `required`, `items`,
/// `additionalProperties`, `enum`, `oneOf`, `anyOf`, `allOf`); panics naming the path.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    if let Err(problem) = check(doc, schema, value, at) {
        panic!("the response does not match its schema: {problem}\nvalue: {value}");
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if schema.is_null() {
        return Err(format!("{at}: no schema in the document"));
    }
    if schema == &Value::Bool(true) || schema.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(());
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.strip_prefix("#/components/schemas/").ok_or_else(|| format!("{at}: ref {reference}"))?;
        let target = &doc["components"]["schemas"][name];
        return check(doc, target, value, &format!("{at}<{name}>"));
    }
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            check(doc, part, value, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let errors: Vec<String> = options.iter().filter_map(|o| check(doc, o, value, at).err()).collect();
            let matched = options.len() - errors.len();
            if matched == 0 || (key == "oneOf" && matched > 1 && !value.is_null()) {
                return Err(format!("{at}: {matched} of the {key} options match ({})", errors.join("; ")));
            }
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !fits {
            return Err(format!("{at}: a {actual} where the schema says {types:?}"));
        }
    }
    if let Some(pattern) = schema["pattern"].as_str()
        && let Some(text) = value.as_str()
        && pattern == "^(up|down)$"
        && !["up", "down"].contains(&text)
    {
        return Err(format!("{at}: {text:?} does not match {pattern}"));
    }
    if let Value::Object(object) = value {
        if let Some(required) = schema["required"].as_array() {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    return Err(format!("{at}: the required property {name} is missing"));
                }
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => check(doc, property, field, &format!("{at}.{name}"))?,
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => return Err(format!("{at}: the property {name} is not in the schema")),
                    Value::Object(_) => check(doc, &schema["additionalProperties"], field, &format!("{at}.{name}"))?,
                    // Undocumented properties are an error when the schema lists properties.
                    _ if properties.is_some() => {
                        return Err(format!("{at}: the property {name} is not in the schema"));
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (n, item) in items.iter().enumerate() {
            check(doc, item_schema, item, &format!("{at}[{n}]"))?;
        }
    }
    Ok(())
}
