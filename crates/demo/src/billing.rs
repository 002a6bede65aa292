//! Subscriptions and their invoices.
//!
//! Each account runs one subscription per workspace (larger companies run several). A
//! subscription row holds its current plan; it lives until the customer cancels, and some
//! customers come back later on a new subscription (cheaper after a price complaint, free
//! after a failed trial). Paid subscriptions are invoiced every month (or year) while they
//! live, starting when their trial ends.

use rand::Rng;

use crate::accounts::Account;
use crate::calendar::{DAY, END, HOUR, add_months, day_of_month, progress};
use crate::random::{DemoRng, chance, exponential, log_normal, pick};
use crate::vocab::{
    BillingPeriod, CancelReason, EmployeeBand, Industry, InvoiceStatus, Plan, Region, SubscriptionStatus,
};

/// Length of the free trial of paid plans.
const TRIAL: i64 = 14 * DAY;
/// Average month, for turning monthly churn rates into durations.
const MONTH: f64 = 30.44 * DAY as f64;

/// One subscription. Its position in the generated list is `subscription_id - 1`.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    /// Index of the account in the account list.
    pub(crate) account: usize,
    pub(crate) plan: Plan,
    pub(crate) billing: BillingPeriod,
    pub(crate) seats: i32,
    /// Monthly recurring revenue in cents (annual plans: a twelfth of the yearly price).
    pub(crate) mrr_cents: i64,
    pub(crate) status: SubscriptionStatus,
    pub(crate) started_at: i64,
    /// When billing starts: the end of the trial, or `started_at` without one.
    pub(crate) billing_from: i64,
    pub(crate) ended_at: Option<i64>,
    pub(crate) cancel_reason: Option<CancelReason>,
}

/// What the subscriptions say about an account as a whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountStanding {
    /// Plan of the account's first subscription: how engaged and demanding it is.
    pub(crate) plan: Plan,
    /// When the account's last subscription ended, if none is live at the as-of date.
    pub(crate) churned_at: Option<i64>,
}

/// Subscriptions of all accounts (sorted by start, so ids follow the calendar) and the
/// standing of each account.
pub(crate) fn generate_subscriptions(
    rng: &mut DemoRng,
    accounts: &[Account],
) -> (Vec<Subscription>, Vec<AccountStanding>) {
    let mut subscriptions = Vec::with_capacity(accounts.len() * 8 / 5);
    let mut standings = Vec::with_capacity(accounts.len());
    for (index, account) in accounts.iter().enumerate() {
        let first = subscriptions.len();
        let plan = initial_plan(rng, account);
        let start = account.created_at + rng.random_range(30..900);
        run_chain(rng, index, account, start, plan, &mut subscriptions);
        for _ in 0..extra_workspaces(rng, account.band) {
            let start = account.created_at + exponential(rng, 100.0 * DAY as f64) as i64;
            if start > END - HOUR {
                continue;
            }
            let plan = if chance(rng, 0.7) { plan } else { pick(rng, &[(Plan::Starter, 1.0), (Plan::Pro, 1.0)]) };
            run_chain(rng, index, account, start, plan, &mut subscriptions);
        }
        let own = &subscriptions[first..];
        let live = own.iter().any(|s| s.ended_at.is_none());
        let churned_at = if live { None } else { own.iter().filter_map(|s| s.ended_at).max() };
        standings.push(AccountStanding { plan, churned_at });
    }
    subscriptions.sort_by_key(|s| s.started_at);
    (subscriptions, standings)
}

/// One workspace's subscriptions: the first, then any comebacks after cancellations.
fn run_chain(
    rng: &mut DemoRng,
    account_index: usize,
    account: &Account,
    mut start: i64,
    mut plan: Plan,
    out: &mut Vec<Subscription>,
) {
    let region = account.country.region();
    let mut first = true;
    loop {
        let billing = billing_period(rng, plan);
        let seats = seats(rng, account.band, plan);
        let mrr_cents = mrr_cents(rng, plan, billing, seats);
        let trial = plan != Plan::Free && first && chance(rng, trial_probability(plan));
        let billing_from = if trial { start + TRIAL } else { start };
        let failed_trial = trial && chance(rng, if plan == Plan::Enterprise { 0.1 } else { 0.22 });
        let end = if failed_trial {
            Some(billing_from - rng.random_range(0..2 * DAY))
        } else {
            lifetime_end(rng, account, plan, billing, billing_from)
        };
        let (status, ended_at, cancel_reason) = match end {
            Some(end) if end <= END => {
                let reason = if failed_trial { trial_cancel_reason(rng) } else { cancel_reason(rng, plan, end) };
                (SubscriptionStatus::Canceled, Some(end), Some(reason))
            }
            _ if billing_from > END => (SubscriptionStatus::Trialing, None, None),
            _ if plan != Plan::Free && chance(rng, past_due_probability(region)) => {
                (SubscriptionStatus::PastDue, None, None)
            }
            _ => (SubscriptionStatus::Active, None, None),
        };
        out.push(Subscription {
            account: account_index,
            plan,
            billing,
            seats,
            mrr_cents,
            status,
            started_at: start,
            billing_from,
            ended_at,
            cancel_reason,
        });
        let (Some(ended_at), Some(reason)) = (ended_at, cancel_reason) else { break };
        // Some customers come back: right away on the free plan after a failed trial,
        // weeks later otherwise, usually on a cheaper plan after a price complaint.
        let (comeback, next_start, next_plan) = if failed_trial {
            (0.55, ended_at + rng.random_range(60..2 * HOUR), Plan::Free)
        } else {
            let probability = match reason {
                CancelReason::Price => 0.3,
                CancelReason::MissingFeature => 0.22,
                CancelReason::SwitchedCompetitor => 0.08,
                CancelReason::NoLongerNeeded => 0.08,
                CancelReason::SupportExperience => 0.06,
            };
            let next = if reason == CancelReason::Price { cheaper(plan) } else { plan };
            (probability, ended_at + HOUR + exponential(rng, 40.0 * DAY as f64) as i64, next)
        };
        if !chance(rng, comeback) || next_start > END - HOUR {
            break;
        }
        start = next_start;
        plan = next_plan;
        first = false;
    }
}

/// The plan an account starts on: small companies mostly free or starter, large ones pro
/// or enterprise; NA buys up, LATAM and APAC stay on free longer.
fn initial_plan(rng: &mut DemoRng, account: &Account) -> Plan {
    let (mut free, mut starter, mut pro, mut enterprise) = match account.band {
        EmployeeBand::Micro => (50.0, 36.0, 13.0, 1.0),
        EmployeeBand::Small => (31.0, 37.0, 28.0, 4.0),
        EmployeeBand::Medium => (22.0, 25.0, 40.0, 13.0),
        EmployeeBand::Large => (12.0, 13.0, 40.0, 35.0),
        EmployeeBand::Huge => (8.0, 5.0, 27.0, 60.0),
    };
    match account.country.region() {
        Region::Na => {
            pro *= 1.1;
            enterprise *= 1.15;
        }
        Region::Latam | Region::Apac => {
            free *= 1.3;
            enterprise *= 0.8;
        }
        Region::Emea => {}
    }
    match account.industry {
        Industry::Finance | Industry::Healthcare => enterprise *= 1.4,
        Industry::Education => {
            free *= 1.3;
            starter *= 1.2;
        }
        _ => {}
    }
    // Self-serve signups grow faster than sales-led deals.
    free *= 1.0 + 0.3 * progress(account.created_at);
    pick(rng, &[(Plan::Free, free), (Plan::Starter, starter), (Plan::Pro, pro), (Plan::Enterprise, enterprise)])
}

fn extra_workspaces(rng: &mut DemoRng, band: EmployeeBand) -> u32 {
    match band {
        EmployeeBand::Micro => 0,
        EmployeeBand::Small => u32::from(chance(rng, 0.12)),
        EmployeeBand::Medium => pick(rng, &[(0, 50.0), (1, 35.0), (2, 15.0)]),
        EmployeeBand::Large => pick(rng, &[(0, 25.0), (1, 35.0), (2, 25.0), (3, 15.0)]),
        EmployeeBand::Huge => pick(rng, &[(1, 25.0), (2, 30.0), (3, 25.0), (4, 20.0)]),
    }
}

fn billing_period(rng: &mut DemoRng, plan: Plan) -> BillingPeriod {
    let annual = match plan {
        Plan::Free => 0.0,
        Plan::Starter => 0.18,
        Plan::Pro => 0.32,
        Plan::Enterprise => 0.7,
    };
    if chance(rng, annual) { BillingPeriod::Annual } else { BillingPeriod::Monthly }
}

/// Seats follow company size, within what each plan allows.
fn seats(rng: &mut DemoRng, band: EmployeeBand, plan: Plan) -> i32 {
    let typical = match band {
        EmployeeBand::Micro => 3.0,
        EmployeeBand::Small => 8.0,
        EmployeeBand::Medium => 18.0,
        EmployeeBand::Large => 40.0,
        EmployeeBand::Huge => 90.0,
    };
    let (min, max) = match plan {
        Plan::Free => (1.0, 5.0),
        Plan::Starter => (1.0, 25.0),
        Plan::Pro => (3.0, 200.0),
        Plan::Enterprise => (10.0, 2_000.0),
    };
    log_normal(rng, typical, 0.55).round().clamp(min, max) as i32
}

/// List price per seat, volume and negotiated discounts, 20% off for annual billing.
fn mrr_cents(rng: &mut DemoRng, plan: Plan, billing: BillingPeriod, seats: i32) -> i64 {
    let seats_f = f64::from(seats);
    let per_seat = match plan {
        Plan::Free => return 0,
        Plan::Starter => 1_500.0,
        Plan::Pro if seats > 50 => 3_900.0 * 0.9,
        Plan::Pro => 3_900.0,
        Plan::Enterprise => {
            let volume = if seats > 500 {
                0.72
            } else if seats > 100 {
                0.85
            } else {
                1.0
            };
            7_900.0 * volume * (1.0 - rng.random_range(0.0..0.25))
        }
    };
    let annual = if billing == BillingPeriod::Annual { 0.8 } else { 1.0 };
    ((seats_f * per_seat * annual).round() as i64).max(100)
}

fn trial_probability(plan: Plan) -> f64 {
    match plan {
        Plan::Free => 0.0,
        Plan::Starter => 0.7,
        Plan::Pro => 0.65,
        Plan::Enterprise => 0.25,
    }
}

fn past_due_probability(region: Region) -> f64 {
    match region {
        Region::Na => 0.03,
        Region::Emea => 0.035,
        Region::Latam => 0.09,
        Region::Apac => 0.05,
    }
}

/// When a subscription ends, if it ever does: monthly plans can cancel any time, annual
/// plans at a renewal (a few days before it, so the renewal is never invoiced). Small
/// companies and LATAM churn more, enterprise and large companies less.
fn lifetime_end(rng: &mut DemoRng, account: &Account, plan: Plan, billing: BillingPeriod, from: i64) -> Option<i64> {
    let plan_rate = match plan {
        Plan::Free => 0.05,
        Plan::Starter => 0.032,
        Plan::Pro => 0.022,
        Plan::Enterprise => 0.011,
    };
    let band_factor = match account.band {
        EmployeeBand::Micro => 1.25,
        EmployeeBand::Small => 1.05,
        EmployeeBand::Medium => 1.0,
        EmployeeBand::Large => 0.85,
        EmployeeBand::Huge => 0.75,
    };
    let region_factor = match account.country.region() {
        Region::Na => 0.9,
        Region::Emea => 0.95,
        Region::Latam => 1.35,
        Region::Apac => 1.1,
    };
    let monthly_churn = plan_rate * band_factor * region_factor;
    match billing {
        BillingPeriod::Monthly => Some(from + exponential(rng, MONTH / monthly_churn) as i64),
        BillingPeriod::Annual => {
            let at_renewal = 0.7 * (1.0 - (1.0 - monthly_churn).powi(12));
            let mut years = 1;
            loop {
                let renewal = add_months(from, 12 * years);
                if renewal > END + 30 * DAY {
                    return None;
                }
                if chance(rng, at_renewal) {
                    return Some(renewal - rng.random_range(HOUR..5 * DAY));
                }
                years += 1;
            }
        }
    }
}

/// Why a customer left: cheap plans leave over price, enterprise over competitors and
/// support; a competitor's launch makes "switched_competitor" more common in 2025.
fn cancel_reason(rng: &mut DemoRng, plan: Plan, ended_at: i64) -> CancelReason {
    let (price, missing, competitor, not_needed, support) = match plan {
        Plan::Free => (5.0, 25.0, 15.0, 45.0, 10.0),
        Plan::Starter => (38.0, 22.0, 15.0, 18.0, 7.0),
        Plan::Pro => (28.0, 22.0, 22.0, 15.0, 13.0),
        Plan::Enterprise => (20.0, 20.0, 30.0, 10.0, 20.0),
    };
    let competitor = competitor * (1.0 + progress(ended_at));
    pick(
        rng,
        &[
            (CancelReason::Price, price),
            (CancelReason::MissingFeature, missing),
            (CancelReason::SwitchedCompetitor, competitor),
            (CancelReason::NoLongerNeeded, not_needed),
            (CancelReason::SupportExperience, support),
        ],
    )
}

fn trial_cancel_reason(rng: &mut DemoRng) -> CancelReason {
    pick(
        rng,
        &[
            (CancelReason::Price, 40.0),
            (CancelReason::MissingFeature, 30.0),
            (CancelReason::NoLongerNeeded, 24.0),
            (CancelReason::SwitchedCompetitor, 6.0),
        ],
    )
}

fn cheaper(plan: Plan) -> Plan {
    match plan {
        Plan::Enterprise => Plan::Pro,
        Plan::Pro => Plan::Starter,
        Plan::Starter | Plan::Free => Plan::Free,
    }
}

/// One invoice. Its position in the generated list is `invoice_id - 1`.
#[derive(Debug, Clone)]
pub(crate) struct Invoice {
    /// Index of the subscription in the (sorted) subscription list.
    pub(crate) subscription: usize,
    pub(crate) account: usize,
    pub(crate) issued_at: i64,
    pub(crate) amount_cents: i64,
    pub(crate) status: InvoiceStatus,
    pub(crate) paid_at: Option<i64>,
}

/// Invoices of every paid subscription: one per billing period from the end of the trial
/// while the subscription lives, plus monthly usage invoices,
/// sorted by issue time.
pub(crate) fn generate_invoices(
    rng: &mut DemoRng,
    subscriptions: &[Subscription],
    accounts: &[Account],
) -> Vec<Invoice> {
    let mut invoices = Vec::new();
    for (index, sub) in subscriptions.iter().enumerate() {
        if sub.plan == Plan::Free {
            continue;
        }
        let (months, amount_cents) = match sub.billing {
            BillingPeriod::Monthly => (1, sub.mrr_cents),
            BillingPeriod::Annual => (12, sub.mrr_cents * 12),
        };
        // A subscription canceled at an instant is not billed at that instant.
        let last_instant = sub.ended_at.map_or(END, |e| e - 1);
        let mut issue_times = Vec::new();
        let mut period = 0;
        loop {
            let issued_at = add_months(sub.billing_from, months * period);
            if issued_at > last_instant {
                break;
            }
            issue_times.push(issued_at);
            period += 1;
        }
        let region = accounts[sub.account].country.region();
        let count = issue_times.len();
        for (n, issued_at) in issue_times.into_iter().enumerate() {
            let last = n + 1 == count;
            let (status, paid_at) = invoice_outcome(rng, sub, region, issued_at, last);
            invoices.push(Invoice {
                subscription: index,
                account: sub.account,
                issued_at,
                amount_cents,
                status,
                paid_at,
            });
        }
        // Usage (API calls, AI credits) beyond the plan is billed on the first of each
        // month for the month before; bigger plans use more.
        let usage_months = match sub.plan {
            Plan::Starter => 0.4,
            Plan::Pro => 0.85,
            Plan::Enterprise => 0.95,
            Plan::Free => continue,
        };
        let mut month_start = first_of_next_month(sub.billing_from);
        loop {
            let issued_at = month_start + 6 * HOUR + rng.random_range(0..2 * HOUR);
            if issued_at > last_instant {
                break;
            }
            if chance(rng, usage_months) {
                let amount_cents = (log_normal(rng, 0.06, 0.8) * sub.mrr_cents as f64).round().max(500.0) as i64;
                let (status, paid_at) = invoice_outcome(rng, sub, region, issued_at, false);
                invoices.push(Invoice {
                    subscription: index,
                    account: sub.account,
                    issued_at,
                    amount_cents,
                    status,
                    paid_at,
                });
            }
            month_start = add_months(month_start, 1);
        }
    }
    invoices.sort_by_key(|i| i.issued_at);
    invoices
}

/// Midnight of the first day of the month after the one holding `t`.
fn first_of_next_month(t: i64) -> i64 {
    let midnight = t.div_euclid(DAY) * DAY;
    let next = add_months(midnight, 1);
    next - (day_of_month(next) - 1) * DAY
}

/// Whether and when an invoice was paid. Cards pay within hours; enterprise and annual
/// invoices go through accounts payable and take weeks, LATAM slowest. Recent invoices are
/// still open; past-due subscriptions have their latest invoices open; customers who left
/// over price or support sometimes got their last invoice refunded.
fn invoice_outcome(
    rng: &mut DemoRng,
    sub: &Subscription,
    region: Region,
    issued_at: i64,
    last: bool,
) -> (InvoiceStatus, Option<i64>) {
    let by_invoice = sub.plan == Plan::Enterprise || sub.billing == BillingPeriod::Annual;
    let mut delay = if by_invoice {
        log_normal(rng, 9.0 * DAY as f64, 0.7).min(75.0 * DAY as f64)
    } else {
        60.0 + exponential(rng, 0.4 * DAY as f64)
    };
    if region == Region::Latam {
        delay *= 1.5;
    }
    let paid_at = issued_at + delay as i64;
    let refund_probability = match sub.cancel_reason {
        Some(CancelReason::Price | CancelReason::SupportExperience) if last => 0.35,
        _ => 0.012,
    };
    if sub.status == SubscriptionStatus::PastDue && (last || issued_at >= END - 40 * DAY) {
        (InvoiceStatus::Open, None)
    } else if chance(rng, 0.02) {
        (InvoiceStatus::Void, None)
    } else if paid_at > END || chance(rng, 0.006) {
        (InvoiceStatus::Open, None)
    } else if chance(rng, refund_probability) {
        (InvoiceStatus::Refunded, Some(paid_at))
    } else {
        (InvoiceStatus::Paid, Some(paid_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, START, at};
    use crate::random::stream;

    fn fixture() -> (Vec<Account>, Vec<Subscription>, Vec<AccountStanding>, Vec<Invoice>) {
        let mut rng = stream(11, 0);
        let calendar = Calendar::new(&mut rng);
        let accounts = crate::accounts::generate(&mut rng, &calendar, 1_500);
        let (subs, standings) = generate_subscriptions(&mut rng, &accounts);
        let invoices = generate_invoices(&mut rng, &subs, &accounts);
        (accounts, subs, standings, invoices)
    }

    #[test]
    fn subscriptions_follow_the_null_and_price_rules() {
        let (accounts, subs, standings, _) = fixture();
        assert_eq!(standings.len(), accounts.len());
        for s in &subs {
            assert!(s.started_at >= accounts[s.account].created_at && s.started_at <= END);
            assert_eq!(s.plan == Plan::Free, s.mrr_cents == 0, "{s:?}");
            assert!(s.seats >= 1);
            let canceled = s.status == SubscriptionStatus::Canceled;
            assert_eq!(canceled, s.ended_at.is_some());
            assert_eq!(canceled, s.cancel_reason.is_some());
            if let Some(end) = s.ended_at {
                assert!(end >= s.started_at && end <= END, "{s:?}");
            }
        }
        let enterprise = subs.iter().filter(|s| s.plan == Plan::Enterprise);
        let starter = subs.iter().filter(|s| s.plan == Plan::Starter);
        let mean = |it: &mut dyn Iterator<Item = &Subscription>| {
            let v: Vec<i64> = it.map(|s| s.mrr_cents).collect();
            v.iter().sum::<i64>() as f64 / v.len() as f64
        };
        assert!(mean(&mut enterprise.into_iter()) > 10.0 * mean(&mut starter.into_iter()));
    }

    #[test]
    fn usage_is_billed_on_the_first_of_the_next_month() {
        assert_eq!(first_of_next_month(at(2024, 1, 31) + 5 * HOUR), at(2024, 2, 1));
        assert_eq!(first_of_next_month(at(2024, 12, 1)), at(2025, 1, 1));
        assert_eq!(first_of_next_month(at(2025, 2, 28) + DAY - 1), at(2025, 3, 1));
    }

    #[test]
    fn invoices_fall_inside_their_subscription() {
        let (_, subs, _, invoices) = fixture();
        assert!(!invoices.is_empty());
        for inv in &invoices {
            let sub = &subs[inv.subscription];
            assert_eq!(inv.account, sub.account);
            assert!(inv.amount_cents > 0);
            assert!(inv.issued_at >= sub.started_at && inv.issued_at >= START);
            assert!(inv.issued_at < sub.ended_at.unwrap_or(END + 1));
            let paid = matches!(inv.status, InvoiceStatus::Paid | InvoiceStatus::Refunded);
            assert_eq!(paid, inv.paid_at.is_some());
            if let Some(p) = inv.paid_at {
                assert!(p >= inv.issued_at && p <= END);
            }
        }
    }
}
