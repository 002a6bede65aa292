//! Golden SQL of the built-in planner on the demo semantic layer: one readable case per
//! capability (metrics, dimensions, joins, every time phrase kind, grains, ranking,
//! comparisons, shares, ad-hoc aggregates, null checks, follow-ups, clarifications).

use quarry_semantic::SemanticLayer;
use quarry_synth::{PlanOutcome, SemanticPlanner, SemanticQuery};

fn planner() -> SemanticPlanner {
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).expect("date");
    SemanticPlanner::new(SemanticLayer::demo(), as_of, "snap-golden")
}

/// Plans each conversation (questions separated by `>` continue the one before) and renders
/// every outcome as text.
fn render(conversations: &[&[&str]]) -> String {
    let planner = planner();
    let mut out = String::new();
    for turns in conversations {
        let mut context: Option<SemanticQuery> = None;
        for (i, question) in turns.iter().enumerate() {
            out.push_str(&format!("{} {question}\n", if i == 0 { "Q:" } else { ">" }));
            match planner.plan(question, context.as_ref()) {
                PlanOutcome::Sql(plan) => {
                    out.push_str(&plan.sql);
                    out.push('\n');
                    if !plan.explanation.assumptions.is_empty() {
                        out.push_str(&format!("-- assumed: {}\n", plan.explanation.assumptions.join("; ")));
                    }
                    if !plan.explanation.ignored.is_empty() {
                        out.push_str(&format!("-- ignored: {}\n", plan.explanation.ignored.join(", ")));
                        // Words that name nothing must show in the confidence (quarry asks
                        // back below its threshold, 0.8 by default).
                        out.push_str(&format!("-- confidence below 0.8: {}\n", plan.confidence < 0.8));
                    }
                    context = Some(plan.query);
                }
                PlanOutcome::Clarify { question, options } => {
                    out.push_str(&format!("CLARIFY: {question}\n  options: {}\n", options.join(" | ")));
                }
                PlanOutcome::CannotAnswer { message, .. } => out.push_str(&format!("CANNOT ANSWER: {message}\n")),
            }
        }
        out.push('\n');
    }
    out
}

#[test]
fn metrics_dimensions_and_joins() {
    insta::assert_snapshot!(render(&[
        &["signups by channel last month"],
        &["revenue in 2024"],
        &["how many tickets this quarter"],
        &["current MRR by plan"],
        &["sales in Germany last quarter"],
        &["revenue by region and plan"],
        &["signups by industry this year"],
        &["how many customers in EMEA"],
        &["churn by reason last year"],
        &["conversion rate by variant for the pricing page experiment"],
        &["avg csat by category in March 2025"],
        &["refunds in Q2 2024"],
        &["feature users by feature last 30 days"],
        &["average resolution time by priority"],
        &["active subscriptions on annual billing"],
    ]));
}

#[test]
fn time_phrases_and_grains() {
    insta::assert_snapshot!(render(&[
        &["signups today"],
        &["events yesterday"],
        &["revenue in the past 7 days"],
        &["tickets this week"],
        &["new accounts last week"],
        &["signups in the last 4 weeks"],
        &["revenue month to date"],
        &["cancellations in the last 3 months"],
        &["revenue year to date"],
        &["signups since June 2025"],
        &["What's our MAU?"],
        &["daily active users over the last 14 days"],
        &["weekly signups since June 2025"],
        &["monthly revenue trend in 2025"],
        &["quarterly new subscriptions"],
        &["tickets per year"],
        &["revenue over time"],
    ]));
}

#[test]
fn ranking_comparisons_shares_and_aggregates() {
    insta::assert_snapshot!(render(&[
        &["top 5 countries by revenue this year"],
        &["which plan has the highest MRR"],
        &["bottom 3 industries by signups in 2025"],
        &["which support channel has the fewest tickets"],
        &["channels with more than 1000 signups in 2025"],
        &["subscriptions with more than 50 seats"],
        &["share of signups by platform in 2025"],
        &["what percentage of tickets are urgent"],
        &["average seats of enterprise subscriptions"],
        &["median first response minutes by support channel"],
        &["largest invoice amount in 2025"],
        &["unresolved tickets by priority"],
        &["tickets without a rating last month"],
        &["signups from paid search by country excluding the US"],
    ]));
}

#[test]
fn conversations_clarifications_and_refusals() {
    insta::assert_snapshot!(render(&[
        &["revenue last month", "and by region?", "what about last year?", "only enterprise"],
        &["weekly signups in 2025", "only from referrals", "show it monthly instead"],
        &["revenue by region this year", "break that down by plan", "by industry instead"],
        &["how many users do we have"],
        &["what is the weather"],
        &["signups from Narnia last month"],
    ]));
}

#[test]
fn windows_ratios_elapsed_time_and_entities() {
    insta::assert_snapshot!(render(&[
        &["revenue 2025 vs 2024"],
        &["logins on ios last month vs the month before"],
        &["avg csat this quarter vs last quarter"],
        &["refunds as a percentage of revenue this year"],
        &["average events per active user last month"],
        &["events per session yesterday"],
        &["how long does it take to close outage tickets, in hours"],
        &["average days to pay an invoice in 2025"],
        &["avg hours from assignment to conversion by experiment"],
        &["how many tickets took more than 48 hours to resolve last month"],
        &["tickets that waited over an hour for a first response this week"],
        &["what share of tickets got a first response within 15 minutes in 2025"],
        &["which account logged in the most last month"],
        &["top 5 users by number of events this month"],
        &["which customers paid us more than $10,000 this year"],
        &["how many invites did people send on the web today"],
        &["how many logins and how many distinct users logged in last week"],
        &["top cancel reason last quarter"],
    ]));
}
