//! The demo warehouse catalog shared by the integration tests.

use quarry_sqlguard::{Catalog, PolicyConfig, SqlPolicy};

/// All seven tables of `shared/demo-warehouse.md` with their columns in contract order;
/// `users.email` and `users.full_name` are personal data.
pub fn demo_catalog() -> Catalog {
    let tables: [(&str, &[&str]); 7] = [
        ("accounts", &["account_id", "name", "industry", "country", "region", "employee_band", "created_at"]),
        (
            "users",
            &[
                "user_id",
                "account_id",
                "email",
                "full_name",
                "role",
                "signup_at",
                "signup_channel",
                "signup_platform",
                "country",
            ],
        ),
        (
            "subscriptions",
            &[
                "subscription_id",
                "account_id",
                "plan",
                "billing_period",
                "seats",
                "mrr_usd",
                "status",
                "started_at",
                "ended_at",
                "cancel_reason",
            ],
        ),
        ("invoices", &["invoice_id", "account_id", "subscription_id", "issued_at", "amount_usd", "status", "paid_at"]),
        (
            "events",
            &["event_id", "user_id", "account_id", "event_time", "event_name", "feature", "platform", "session_id"],
        ),
        (
            "support_tickets",
            &[
                "ticket_id",
                "account_id",
                "user_id",
                "created_at",
                "resolved_at",
                "priority",
                "category",
                "channel",
                "first_response_minutes",
                "csat_score",
            ],
        ),
        (
            "experiment_assignments",
            &["user_id", "experiment_name", "variant", "assigned_at", "converted", "converted_at"],
        ),
    ];
    let mut catalog = Catalog::new();
    for (table, columns) in tables {
        catalog.add_table(table, columns);
    }
    catalog.mark_personal("users", "email");
    catalog.mark_personal("users", "full_name");
    catalog
}

/// The demo catalog under the default policy settings.
pub fn demo_policy() -> SqlPolicy {
    SqlPolicy::new(demo_catalog(), PolicyConfig::default())
}
