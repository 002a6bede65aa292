//! The people in customer accounts: who signed up, when, through which channel, and how
//! engaged each of them is (which drives their events and tickets).

use rand::Rng;

use crate::accounts::Account;
use crate::billing::AccountStanding;
use crate::calendar::{CAMPAIGN_DAYS, Calendar, DAY, END, WORK_HOURS, progress};
use crate::random::{DemoRng, chance, exponential, log_normal, pick};
use crate::vocab::{Country, EmployeeBand, FIRST_NAMES, LAST_NAMES, Plan, Platform, Region, Role, SignupChannel};

/// The partner program opens on this day: no partner signups before it.
const PARTNER_PROGRAM: i64 = crate::calendar::at(2024, 5, 6);

/// One user. Its position in the generated list is `user_id - 1`.
#[derive(Debug, Clone)]
pub(crate) struct User {
    /// Index of the account in the account list.
    pub(crate) account: usize,
    pub(crate) first_name: &'static str,
    pub(crate) last_name: &'static str,
    pub(crate) role: Role,
    pub(crate) signup_at: i64,
    pub(crate) channel: SignupChannel,
    pub(crate) platform: Platform,
    pub(crate) country: Country,
    pub(crate) utc_offset_minutes: i32,
}

/// Users of every account, sorted by signup time (so user ids follow the calendar). The
/// first user of an account created it and is its admin; colleagues follow, many in the
/// first week, the rest over the following months.
pub(crate) fn generate(
    rng: &mut DemoRng,
    calendar: &Calendar,
    accounts: &[Account],
    standings: &[AccountStanding],
) -> Vec<User> {
    let mut users = Vec::with_capacity(accounts.len() * 10);
    for (index, (account, standing)) in accounts.iter().zip(standings).enumerate() {
        let wanted = team_size(rng, account.band, standing.plan);
        for n in 0..wanted {
            let signup_at = if n == 0 {
                account.created_at + rng.random_range(20..600)
            } else {
                match colleague_signup(rng, calendar, account) {
                    Some(t) => t,
                    None => continue,
                }
            };
            if signup_at > END {
                continue;
            }
            let role = if n == 0 { Role::Admin } else { colleague_role(rng, standing.plan) };
            let country = if chance(rng, 0.88) { account.country } else { other_country(rng, account.country) };
            let utc_offset_minutes =
                if country == account.country { account.utc_offset_minutes } else { pick(rng, country.utc_offsets()) };
            users.push(User {
                account: index,
                first_name: FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
                last_name: LAST_NAMES[rng.random_range(0..LAST_NAMES.len())],
                role,
                signup_at,
                channel: signup_channel(rng, signup_at, n == 0),
                platform: signup_platform(rng, signup_at, country.region(), n == 0),
                country,
                utc_offset_minutes,
            });
        }
    }
    users.sort_by_key(|u| u.signup_at);
    users
}

/// How many people of the account use the product eventually.
fn team_size(rng: &mut DemoRng, band: EmployeeBand, plan: Plan) -> usize {
    let typical = match band {
        EmployeeBand::Micro => 2.3,
        EmployeeBand::Small => 5.5,
        EmployeeBand::Medium => 12.0,
        EmployeeBand::Large => 24.0,
        EmployeeBand::Huge => 45.0,
    };
    let plan_factor = match plan {
        Plan::Free => 0.7,
        Plan::Starter => 0.9,
        Plan::Pro => 1.1,
        Plan::Enterprise => 1.35,
    };
    // Divide by the log-normal's mean factor so `typical` is the average team size.
    let sigma: f64 = 0.5;
    let size = log_normal(rng, typical * plan_factor / (sigma * sigma / 2.0).exp(), sigma);
    (size.round() as usize).max(1)
}

/// When a colleague joins: within days for the first wave of invites, months later for
/// the rest. Colleagues who would join after the as-of date mostly do not exist yet.
fn colleague_signup(rng: &mut DemoRng, calendar: &Calendar, account: &Account) -> Option<i64> {
    let delay =
        if chance(rng, 0.45) { exponential(rng, 4.0 * DAY as f64) } else { exponential(rng, 150.0 * DAY as f64) };
    let target = account.created_at + delay as i64;
    let (lo, hi) = if target > END {
        if chance(rng, 0.75) {
            return None;
        }
        (account.created_at, END)
    } else {
        (account.created_at.max(target - 3 * DAY), (target + 3 * DAY).min(END))
    };
    Some(calendar.work.sample_time(rng, lo, hi, &WORK_HOURS, account.utc_offset_minutes).max(account.created_at + 60))
}

fn colleague_role(rng: &mut DemoRng, plan: Plan) -> Role {
    let viewers = if plan == Plan::Enterprise { 36.0 } else { 26.0 };
    pick(rng, &[(Role::Admin, 7.0), (Role::Member, 67.0), (Role::Viewer, viewers)])
}

fn other_country(rng: &mut DemoRng, home: Country) -> Country {
    let others: Vec<(Country, f64)> =
        Country::ALL.iter().filter(|&&c| c != home).map(|&c| (c, c.account_weight())).collect();
    pick(rng, &others)
}

/// Account creators come from marketing channels whose mix shifts: paid search and the
/// partner program grow, organic shrinks, social spikes on campaign days. Invited
/// colleagues mostly arrive by referral.
fn signup_channel(rng: &mut DemoRng, signup_at: i64, creator: bool) -> SignupChannel {
    let f = progress(signup_at);
    let partner = if signup_at < PARTNER_PROGRAM { 0.0 } else { 3.0 + 12.0 * f };
    let campaign = CAMPAIGN_DAYS.iter().any(|&c| (0..2 * DAY).contains(&(signup_at - c)));
    let social = if campaign { 40.0 } else { 12.0 };
    if creator {
        pick(
            rng,
            &[
                (SignupChannel::Organic, 40.0 - 12.0 * f),
                (SignupChannel::PaidSearch, 16.0 + 12.0 * f),
                (SignupChannel::Social, social),
                (SignupChannel::Referral, 14.0 + 3.0 * f),
                (SignupChannel::Partner, partner),
            ],
        )
    } else {
        pick(
            rng,
            &[
                (SignupChannel::Organic, 32.0),
                (SignupChannel::PaidSearch, 6.0),
                (SignupChannel::Social, social / 3.0),
                (SignupChannel::Referral, 45.0),
                (SignupChannel::Partner, partner / 3.0),
            ],
        )
    }
}

/// Most signups happen on the web; mobile grows over time, Android is strong in APAC and
/// LATAM, and invited colleagues often accept on their phone.
fn signup_platform(rng: &mut DemoRng, signup_at: i64, region: Region, creator: bool) -> Platform {
    let f = progress(signup_at);
    let invited = if creator { 1.0 } else { 1.6 };
    let (ios, android) = match region {
        Region::Na => (16.0, 8.0),
        Region::Emea => (13.0, 11.0),
        Region::Latam => (7.0, 20.0),
        Region::Apac => (10.0, 22.0),
    };
    pick(
        rng,
        &[
            (Platform::Web, 76.0),
            (Platform::Ios, ios * (1.0 + 0.5 * f) * invited),
            (Platform::Android, android * (1.0 + 0.5 * f) * invited),
        ],
    )
}

/// How one user engages: how often they come back and until when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifecycle {
    /// Relative engagement (sessions per active day, before calibration).
    pub(crate) engagement: f64,
    /// After this instant the user no longer starts sessions.
    pub(crate) stop: i64,
}

/// Engagement and activity span of every user: admins and paying accounts use the product
/// more; a quarter of users try it and drift away within weeks; everyone stops soon after
/// their account churns.
pub(crate) fn lifecycles(
    rng: &mut DemoRng,
    users: &[User],
    accounts: &[Account],
    standings: &[AccountStanding],
) -> Vec<Lifecycle> {
    users
        .iter()
        .map(|user| {
            let standing = standings[user.account];
            let role = match user.role {
                Role::Admin => 1.4,
                Role::Member => 1.0,
                Role::Viewer => 0.55,
            };
            let plan = match standing.plan {
                Plan::Free => 0.55,
                Plan::Starter => 0.9,
                Plan::Pro => 1.1,
                Plan::Enterprise => 1.25,
            };
            let region = match accounts[user.account].country.region() {
                Region::Na => 1.0,
                Region::Emea => 0.95,
                Region::Latam => 0.85,
                Region::Apac => 1.05,
            };
            let engagement = log_normal(rng, 1.0, 1.0) * role * plan * region;
            let span = if chance(rng, 0.25) {
                exponential(rng, 25.0 * DAY as f64)
            } else {
                exponential(rng, 520.0 * DAY as f64)
            };
            let mut stop = user.signup_at + DAY + span as i64;
            if let Some(churned) = standing.churned_at {
                stop = stop.min(churned + exponential(rng, 5.0 * DAY as f64) as i64);
            }
            Lifecycle { engagement, stop: stop.clamp(user.signup_at, END) }
        })
        .collect()
}

/// Index of the first user who signed up after `t` (users are sorted by signup).
pub(crate) fn signed_up_before(users: &[User], t: i64) -> usize {
    users.partition_point(|u| u.signup_at < t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn users_join_their_account_after_it_exists() {
        let mut rng = stream(13, 0);
        let calendar = Calendar::new(&mut rng);
        let accounts = crate::accounts::generate(&mut rng, &calendar, 800);
        let (_, standings) = crate::billing::generate_subscriptions(&mut rng, &accounts);
        let users = generate(&mut rng, &calendar, &accounts, &standings);
        assert!(users.len() > 4 * accounts.len(), "{} users", users.len());
        assert!(users.windows(2).all(|w| w[0].signup_at <= w[1].signup_at));
        for u in &users {
            assert!(u.signup_at >= accounts[u.account].created_at && u.signup_at <= END);
        }
        let home = users.iter().filter(|u| u.country == accounts[u.account].country).count();
        assert!(home * 100 > users.len() * 80);
        let lifecycles = lifecycles(&mut rng, &users, &accounts, &standings);
        assert!(users.iter().zip(&lifecycles).all(|(u, l)| l.stop >= u.signup_at && l.stop <= END));
        assert_eq!(signed_up_before(&users, 0), 0);
        assert_eq!(signed_up_before(&users, END + 1), users.len());
    }
}
