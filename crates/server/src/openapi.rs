//! The OpenAPI description of the HTTP API, derived from the handlers and their types.
//! `schemas/openapi.json` is this document, checked in; a test keeps the two equal.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api;

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "quarry",
        description = "Ask questions of your company's data in plain words: a summary, a table, a chart and the SQL behind them. \
Errors are always `{\"error\": {\"code\", \"message\", \"request_id\"}}`. Without configured API tokens, requests are attributed to the anonymous user.",
        license(name = "Apache-2.0")
    ),
    paths(api::ask, api::ask_stream, api::conversations, api::conversation, api::share_conversation, api::feedback, api::chart, api::suggestions,
        api::snapshot, api::me, api::create_review, api::reviews, api::review_item, api::review_sql, api::answer_review,
        api::healthz, api::readyz, api::metrics),
    components(schemas(api::StageView)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The description as pretty JSON with sorted keys (stable whatever serde_json's features).
pub fn openapi_json() -> String {
    let value = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let mut out = serde_json::to_string_pretty(&sorted(value)).unwrap_or_default();
    out.push('\n');
    out
}

fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let entries: std::collections::BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::Value::Object(entries.into_iter().collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
