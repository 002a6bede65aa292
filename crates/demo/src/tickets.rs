//! Support tickets: filed by users of an account after they signed up, answered fast on
//! phone and chat and slowly by email, resolved in hours (how-to) to weeks (feature
//! requests), and rated worse the longer the customer waited. A handful of outages bring
//! bursts of urgent tickets.

use rand::Rng;

use crate::accounts::Account;
use crate::billing::AccountStanding;
use crate::calendar::{Calendar, DAY, END, HOUR, START, WORK_HOURS, at, day_index, progress};
use crate::random::{DemoRng, chance, exponential, log_normal, pick, poisson, standard_normal};
use crate::users::{Lifecycle, User, signed_up_before};
use crate::vocab::{Plan, Priority, Region, Role, TicketCategory, TicketChannel};

/// Live chat support opens on this day.
const CHAT_LAUNCH: i64 = at(2024, 4, 15);
/// Share of tickets that come from outages.
const OUTAGE_SHARE: f64 = 0.06;
/// Outages over the two years.
const OUTAGES: usize = 9;

/// One ticket. Its position in the generated list is `ticket_id - 1`.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    /// Index of the filing user in the user list.
    pub(crate) user: usize,
    pub(crate) account: usize,
    pub(crate) created_at: i64,
    pub(crate) resolved_at: Option<i64>,
    pub(crate) priority: Priority,
    pub(crate) category: TicketCategory,
    pub(crate) channel: TicketChannel,
    pub(crate) first_response_minutes: i32,
    pub(crate) csat_score: Option<i32>,
}

/// About `target` tickets, sorted by creation time.
pub(crate) fn generate(
    rng: &mut DemoRng,
    calendar: &Calendar,
    accounts: &[Account],
    standings: &[AccountStanding],
    users: &[User],
    lifecycles: &[Lifecycle],
    target: f64,
) -> Vec<Ticket> {
    let mut tickets = Vec::with_capacity(target as usize + 64);
    let context = TicketContext { accounts, standings, users };

    // Everyday tickets, in proportion to how much each user uses the product and how
    // demanding their account is; users keep writing for a month after they stop.
    let propensity: Vec<f64> = users
        .iter()
        .zip(lifecycles)
        .map(|(u, l)| {
            let plan = match standings[u.account].plan {
                Plan::Free => 0.4,
                Plan::Starter => 0.9,
                Plan::Pro => 1.0,
                Plan::Enterprise => 1.7,
            };
            let role = match u.role {
                Role::Admin => 2.0,
                Role::Member => 1.0,
                Role::Viewer => 0.4,
            };
            l.engagement.powf(0.4) * plan * role * calendar.support.mass(u.signup_at, ticket_window_end(l))
        })
        .collect();
    let total: f64 = propensity.iter().sum();
    let rate = if total > 0.0 { (1.0 - OUTAGE_SHARE) * target / total } else { 0.0 };
    for (index, (user, life)) in users.iter().zip(lifecycles).enumerate() {
        for _ in 0..poisson(rng, rate * propensity[index]) {
            let lo = user.signup_at + 300;
            let created_at =
                calendar.support.sample_time(rng, lo, ticket_window_end(life), &WORK_HOURS, user.utc_offset_minutes);
            let category = everyday_category(rng, created_at - user.signup_at);
            tickets.push(context.ticket(rng, index, created_at, category, None));
        }
    }

    // Outages: bursts of tickets from whoever was using the product at the time.
    let outage_tickets = OUTAGE_SHARE * target;
    let mut outages: Vec<(i64, i64)> = (0..OUTAGES)
        .map(|_| {
            let start = calendar.work.sample_time(rng, START + 30 * DAY, END - 2 * DAY, &WORK_HOURS, -300);
            (start, log_normal(rng, 3.0 * HOUR as f64, 0.6) as i64)
        })
        .collect();
    outages.sort_unstable();
    let exposure: Vec<usize> = outages.iter().map(|(start, _)| signed_up_before(users, *start)).collect();
    let total_exposure: usize = exposure.iter().sum();
    for ((start, duration), exposed) in outages.into_iter().zip(exposure) {
        if exposed == 0 {
            continue;
        }
        let count = poisson(rng, outage_tickets * exposed as f64 / total_exposure as f64);
        for _ in 0..count {
            // Prefer someone still active; after a few tries anyone signed up will do.
            let mut user = rng.random_range(0..exposed);
            for _ in 0..5 {
                if lifecycles[user].stop + 30 * DAY > start {
                    break;
                }
                user = rng.random_range(0..exposed);
            }
            let created_at = (start + (exponential(rng, 50.0 * 60.0) as i64).min(duration + 2 * HOUR)).min(END);
            let fixed_at = start + duration;
            tickets.push(context.ticket(rng, user, created_at, TicketCategory::Outage, Some(fixed_at)));
        }
    }

    tickets.sort_by_key(|t| (t.created_at, t.user));
    tickets
}

fn ticket_window_end(life: &Lifecycle) -> i64 {
    (life.stop + 30 * DAY).min(END)
}

/// New users ask how things work; later on bugs and feature requests dominate.
fn everyday_category(rng: &mut DemoRng, age: i64) -> TicketCategory {
    let how_to = if age < 14 * DAY { 80.0 } else { 30.0 };
    pick(
        rng,
        &[
            (TicketCategory::Billing, 18.0),
            (TicketCategory::Bug, 30.0),
            (TicketCategory::HowTo, how_to),
            (TicketCategory::FeatureRequest, 14.0),
            (TicketCategory::Outage, 2.0),
        ],
    )
}

struct TicketContext<'a> {
    accounts: &'a [Account],
    standings: &'a [AccountStanding],
    users: &'a [User],
}

impl TicketContext<'_> {
    /// A ticket of `user` at `created_at`; `fixed_at` is when the outage behind it ended.
    fn ticket(
        &self,
        rng: &mut DemoRng,
        user: usize,
        created_at: i64,
        category: TicketCategory,
        fixed_at: Option<i64>,
    ) -> Ticket {
        let person = &self.users[user];
        let account = person.account;
        let plan = self.standings[account].plan;
        let region = self.accounts[account].country.region();
        let priority = priority(rng, category, plan);
        let channel = channel(rng, created_at, plan, category);
        let first_response_minutes = first_response_minutes(rng, channel, priority, plan, region, created_at);
        let response = i64::from(first_response_minutes) * 60;
        let resolution = match fixed_at {
            Some(fixed) => (fixed + log_normal(rng, HOUR as f64, 0.8) as i64 - created_at).max(response + 60),
            None => resolution_seconds(rng, category, priority).max(response + 60),
        };
        let stale = match category {
            TicketCategory::FeatureRequest => 0.15,
            TicketCategory::Bug => 0.03,
            _ => 0.01,
        };
        let resolved_at = Some(created_at + resolution).filter(|&t| t <= END && !chance(rng, stale));
        let csat_score = resolved_at.and_then(|resolved| {
            let rated = match channel {
                TicketChannel::Phone => 0.55,
                TicketChannel::Chat => 0.5,
                TicketChannel::Email => 0.35,
            };
            chance(rng, rated).then(|| csat(rng, first_response_minutes, resolved - created_at, category))
        });
        Ticket {
            user,
            account,
            created_at,
            resolved_at,
            priority,
            category,
            channel,
            first_response_minutes,
            csat_score,
        }
    }
}

/// Outages are urgent; how-to questions and feature requests rarely are; enterprise
/// customers escalate more.
fn priority(rng: &mut DemoRng, category: TicketCategory, plan: Plan) -> Priority {
    let (low, normal, high, urgent) = match category {
        TicketCategory::Outage => (0.0, 15.0, 40.0, 45.0),
        TicketCategory::Bug => (15.0, 50.0, 28.0, 7.0),
        TicketCategory::Billing => (20.0, 60.0, 17.0, 3.0),
        TicketCategory::HowTo => (45.0, 50.0, 5.0, 0.5),
        TicketCategory::FeatureRequest => (70.0, 28.0, 2.0, 0.0),
    };
    let escalation = if plan == Plan::Enterprise { 1.6 } else { 1.0 };
    pick(
        rng,
        &[
            (Priority::Low, low),
            (Priority::Normal, normal),
            (Priority::High, high * escalation),
            (Priority::Urgent, urgent * escalation),
        ],
    )
}

/// Email first; chat opens in April 2024 and takes over a growing share; phone support is
/// mostly for enterprise, and for outages.
fn channel(rng: &mut DemoRng, created_at: i64, plan: Plan, category: TicketCategory) -> TicketChannel {
    let f = progress(created_at);
    let chat = if created_at < CHAT_LAUNCH { 0.0 } else { 20.0 + 25.0 * f };
    let phone = match plan {
        Plan::Enterprise => 14.0,
        Plan::Pro => 4.0,
        Plan::Starter | Plan::Free => 1.5,
    } * if category == TicketCategory::Outage { 2.0 } else { 1.0 };
    pick(rng, &[(TicketChannel::Email, 55.0 - 20.0 * f), (TicketChannel::Chat, chat), (TicketChannel::Phone, phone)])
}

/// Minutes until the first human answer: seconds on the phone, minutes on chat, hours by
/// email; slower at weekends and for APAC (the team sits in NA and EMEA), faster for urgent
/// and enterprise tickets, and faster over time as the team grows.
fn first_response_minutes(
    rng: &mut DemoRng,
    channel: TicketChannel,
    priority: Priority,
    plan: Plan,
    region: Region,
    created_at: i64,
) -> i32 {
    let median = match channel {
        TicketChannel::Phone => 2.0,
        TicketChannel::Chat => 6.0,
        TicketChannel::Email => 240.0,
    };
    let priority_factor = match priority {
        Priority::Urgent => 0.3,
        Priority::High => 0.6,
        Priority::Normal => 1.0,
        Priority::Low => 1.6,
    };
    let weekend = if day_index(created_at) % 7 >= 5 { 2.5 } else { 1.0 };
    let apac = if region == Region::Apac { 1.6 } else { 1.0 };
    let sla = if plan == Plan::Enterprise { 0.6 } else { 1.0 };
    let improving = 1.3 - 0.5 * progress(created_at);
    let minutes = log_normal(rng, median * priority_factor * weekend * apac * sla * improving, 0.8);
    minutes.round().clamp(0.0, 20_000.0) as i32
}

/// Seconds from creation to resolution.
fn resolution_seconds(rng: &mut DemoRng, category: TicketCategory, priority: Priority) -> i64 {
    let median_hours = match category {
        TicketCategory::HowTo => 5.0,
        TicketCategory::Billing => 18.0,
        TicketCategory::Bug => 60.0,
        TicketCategory::FeatureRequest => 300.0,
        TicketCategory::Outage => 8.0,
    };
    let urgency = match priority {
        Priority::Urgent => 0.4,
        Priority::High => 0.7,
        Priority::Normal => 1.0,
        Priority::Low => 1.4,
    };
    log_normal(rng, median_hours * urgency * HOUR as f64, 0.9) as i64
}

/// 1..5: high after a quick answer and a quick fix, lower after waiting, outages and bugs.
fn csat(rng: &mut DemoRng, first_response_minutes: i32, resolution: i64, category: TicketCategory) -> i32 {
    let waited = (1.0 + f64::from(first_response_minutes) / 20.0).ln();
    let took = (1.0 + resolution as f64 / DAY as f64).ln();
    let penalty = match category {
        TicketCategory::Outage => 0.5,
        TicketCategory::Bug => 0.2,
        _ => 0.0,
    };
    let latent = 4.75 - 0.5 * waited - 0.25 * took - penalty + 0.75 * standard_normal(rng);
    latent.round().clamp(1.0, 5.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn tickets_are_filed_after_signup_and_rated_only_when_resolved() {
        let mut rng = stream(23, 0);
        let calendar = Calendar::new(&mut rng);
        let accounts = crate::accounts::generate(&mut rng, &calendar, 1_000);
        let (_, standings) = crate::billing::generate_subscriptions(&mut rng, &accounts);
        let users = crate::users::generate(&mut rng, &calendar, &accounts, &standings);
        let lifecycles = crate::users::lifecycles(&mut rng, &users, &accounts, &standings);
        let tickets = generate(&mut rng, &calendar, &accounts, &standings, &users, &lifecycles, 4_000.0);
        assert!((3_000..5_000).contains(&tickets.len()), "{} tickets", tickets.len());
        for t in &tickets {
            assert_eq!(users[t.user].account, t.account);
            assert!(t.created_at >= users[t.user].signup_at && t.created_at <= END);
            if let Some(r) = t.resolved_at {
                assert!(r >= t.created_at && r <= END);
            } else {
                assert!(t.csat_score.is_none());
            }
            assert!(t.first_response_minutes >= 0);
        }
        let mean_csat = |channel: TicketChannel| {
            let s: Vec<i32> = tickets.iter().filter(|t| t.channel == channel).filter_map(|t| t.csat_score).collect();
            f64::from(s.iter().sum::<i32>()) / s.len() as f64
        };
        assert!(mean_csat(TicketChannel::Chat) > mean_csat(TicketChannel::Email) + 0.4);
    }
}
