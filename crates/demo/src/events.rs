//! Product usage events, grouped in sessions.
//!
//! Each user starts a session right after signing up, comes back more often in their first
//! weeks, then at a steady personal rate until they drift away or their account churns.
//! Session counts are calibrated so the table has about the requested number of rows.

use rand::Rng;

use crate::billing::AccountStanding;
use crate::calendar::{AI_ASSISTANT_LAUNCH, Calendar, DAY, DAYS, END, HOUR, USAGE_HOURS, day_index, day_start};
use crate::random::{DemoRng, chance, exponential, geometric, pick, poisson};
use crate::users::{Lifecycle, User, signed_up_before};
use crate::vocab::{EventName, Feature, Plan, Platform, Role};

/// Share of sessions that begin with an explicit login (web sessions expire, apps keep
/// users signed in).
const WEB_LOGIN: f64 = 0.6;
const APP_LOGIN: f64 = 0.3;
/// Chance that a session ends after each activity: sessions average 1 / this activities.
const SESSION_END: f64 = 0.3;
/// How much more often users come back during their first three weeks.
const NOVELTY: f64 = 2.0;
const NOVELTY_SPAN: i64 = 21 * DAY;

/// One event before ids are assigned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub(crate) time: i64,
    /// Index of the user in the user list.
    pub(crate) user: u32,
    /// Session number, renumbered in order of session start once all events exist.
    pub(crate) session: u32,
    /// Position within the session, to order events of one second.
    ordinal: u16,
    pub(crate) name: EventName,
    pub(crate) feature: Option<Feature>,
    pub(crate) platform: Platform,
}

/// Everything the event generator needs to know about the warehouse so far.
pub(crate) struct EventInputs<'a> {
    pub(crate) calendar: &'a Calendar,
    pub(crate) standings: &'a [AccountStanding],
    pub(crate) users: &'a [User],
    pub(crate) lifecycles: &'a [Lifecycle],
    /// (user, time) of AI-assistant uses recorded by the experiment.
    pub(crate) ai_conversions: &'a [(usize, i64)],
}

/// About `target` events sorted by time, with session numbers in order of session start.
pub(crate) fn generate(rng: &mut DemoRng, inputs: &EventInputs<'_>, target: f64) -> Vec<Event> {
    let EventInputs { calendar, users, lifecycles, .. } = *inputs;
    let mean_login = 0.5 * (WEB_LOGIN + APP_LOGIN);
    let events_per_session = mean_login + 1.0 + (1.0 - SESSION_END) / SESSION_END;
    let fixed_sessions = users.len() as f64 + inputs.ai_conversions.len() as f64 / events_per_session;
    let exposure: f64 =
        users.iter().zip(lifecycles).map(|(u, l)| l.engagement * session_exposure(calendar, u, l)).sum();
    let rate = if exposure > 0.0 { (target / events_per_session - fixed_sessions).max(0.0) / exposure } else { 0.0 };

    let mut writer = SessionWriter { events: Vec::with_capacity(target as usize + target as usize / 8), sessions: 0 };
    for (index, (user, life)) in users.iter().zip(lifecycles).enumerate() {
        let start = (user.signup_at + rng.random_range(5..120)).min(END);
        writer.session(rng, inputs, index, start);
        let lo = user.signup_at + 60;
        let regular = poisson(rng, rate * life.engagement * calendar.usage.mass(lo, life.stop));
        for _ in 0..regular {
            let t = calendar.usage.sample_time(rng, lo, life.stop, &USAGE_HOURS, user.utc_offset_minutes);
            writer.session(rng, inputs, index, t);
        }
        let novelty_end = life.stop.min(user.signup_at + NOVELTY_SPAN);
        let early = poisson(rng, rate * NOVELTY * life.engagement * calendar.usage.mass(lo, novelty_end));
        for _ in 0..early {
            let t = calendar.usage.sample_time(rng, lo, novelty_end, &USAGE_HOURS, user.utc_offset_minutes);
            writer.session(rng, inputs, index, t);
        }
    }
    for &(user, time) in inputs.ai_conversions {
        writer.single(user, time, Some(Feature::AiAssistant), users[user].platform);
    }
    fill_quiet_days(rng, inputs, &mut writer);

    let mut events = writer.events;
    events.sort_unstable_by_key(|e| (e.time, e.session, e.ordinal));
    renumber_sessions(&mut events, writer.sessions);
    events
}

/// Weighted time a user can start sessions in, counting the novelty weeks extra.
fn session_exposure(calendar: &Calendar, user: &User, life: &Lifecycle) -> f64 {
    let lo = user.signup_at + 60;
    calendar.usage.mass(lo, life.stop) + NOVELTY * calendar.usage.mass(lo, life.stop.min(user.signup_at + NOVELTY_SPAN))
}

/// Makes sure every day of the window has activity, even in tiny warehouses: a day
/// without events gets one session of someone who had already signed up.
fn fill_quiet_days(rng: &mut DemoRng, inputs: &EventInputs<'_>, writer: &mut SessionWriter) {
    let mut busy = vec![false; DAYS];
    for e in &writer.events {
        busy[day_index(e.time)] = true;
    }
    for (day, _) in busy.iter().enumerate().filter(|(_, b)| !**b) {
        let (from, until) = (day_start(day), day_start(day) + DAY - 1);
        let candidates = signed_up_before(inputs.users, until - 60);
        if candidates == 0 {
            continue;
        }
        let user = rng.random_range(0..candidates);
        let lo = from.max(inputs.users[user].signup_at + 1);
        let t = rng.random_range(lo..=until - 30);
        writer.session(rng, inputs, user, t);
    }
}

/// Appends sessions and their events.
struct SessionWriter {
    events: Vec<Event>,
    sessions: u32,
}

impl SessionWriter {
    /// One session of `user` starting at `start`: maybe a login, then a few activities a
    /// minute or so apart.
    fn session(&mut self, rng: &mut DemoRng, inputs: &EventInputs<'_>, user: usize, start: i64) {
        let person = &inputs.users[user];
        let plan = inputs.standings[person.account].plan;
        let platform = session_platform(rng, person, start);
        let session = self.sessions;
        self.sessions += 1;
        let mut time = start;
        let mut ordinal = 0u16;
        let login = if platform == Platform::Web { WEB_LOGIN } else { APP_LOGIN };
        if chance(rng, login) {
            self.push(time, user, session, &mut ordinal, EventName::Login, None, platform);
            time += 3 + exponential(rng, 20.0) as i64;
        }
        let activities = 1 + geometric(rng, SESSION_END, 40);
        let new_user = start < person.signup_at + 14 * DAY;
        for _ in 0..activities {
            if time > END {
                break;
            }
            let name = activity(rng, person.role, new_user);
            let feature = (name == EventName::FeatureUsed).then(|| feature(rng, plan, time));
            self.push(time, user, session, &mut ordinal, name, feature, platform);
            time += 5 + exponential(rng, 70.0) as i64;
        }
    }

    /// A session of a single `feature_used` event.
    fn single(&mut self, user: usize, time: i64, feature: Option<Feature>, platform: Platform) {
        let session = self.sessions;
        self.sessions += 1;
        let mut ordinal = 0;
        self.push(time, user, session, &mut ordinal, EventName::FeatureUsed, feature, platform);
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        time: i64,
        user: usize,
        session: u32,
        ordinal: &mut u16,
        name: EventName,
        feature: Option<Feature>,
        platform: Platform,
    ) {
        self.events.push(Event { time, user: user as u32, session, ordinal: *ordinal, name, feature, platform });
        *ordinal += 1;
    }
}

/// Users stay on the platform they signed up on, but phones take more of the weekend and
/// the evening.
fn session_platform(rng: &mut DemoRng, user: &User, start: i64) -> Platform {
    let weekend = day_index(start) % 7 >= 5;
    let local_hour = (start + i64::from(user.utc_offset_minutes) * 60).rem_euclid(DAY) / HOUR;
    let mobile_boost = if weekend { 1.8 } else { 1.0 } * if local_hour >= 19 { 1.5 } else { 1.0 };
    let (web, ios, android) = match user.platform {
        Platform::Web => (92.0, 5.0, 3.0),
        Platform::Ios => (38.0, 62.0, 0.0),
        Platform::Android => (38.0, 0.0, 62.0),
    };
    pick(rng, &[(Platform::Web, web), (Platform::Ios, ios * mobile_boost), (Platform::Android, android * mobile_boost)])
}

/// What a user does: viewers mostly look, admins invite colleagues (especially in their
/// first two weeks).
fn activity(rng: &mut DemoRng, role: Role, new_user: bool) -> EventName {
    let (reports, exports, invites) = match role {
        Role::Admin => (9.0, 5.0, 6.0),
        Role::Member => (8.0, 5.0, 1.5),
        Role::Viewer => (1.0, 3.0, 0.3),
    };
    let invites = if new_user { invites * 3.0 } else { invites };
    pick(
        rng,
        &[
            (EventName::PageView, 38.0),
            (EventName::FeatureUsed, 26.0),
            (EventName::ReportCreated, reports),
            (EventName::DashboardViewed, 18.0),
            (EventName::Export, exports),
            (EventName::InviteSent, invites),
        ],
    )
}

/// Which feature: the AI assistant exists only since its launch and grows fast; bigger
/// plans lean on integrations and the API.
fn feature(rng: &mut DemoRng, plan: Plan, time: i64) -> Feature {
    let ai = if time < AI_ASSISTANT_LAUNCH {
        0.0
    } else {
        8.0 + 18.0 * (time - AI_ASSISTANT_LAUNCH) as f64 / (END - AI_ASSISTANT_LAUNCH) as f64
    };
    let (integrations, api) = match plan {
        Plan::Free => (6.0, 2.0),
        Plan::Starter => (9.0, 5.0),
        Plan::Pro => (15.0, 8.0),
        Plan::Enterprise => (15.0, 18.0),
    };
    pick(
        rng,
        &[
            (Feature::Dashboards, 30.0),
            (Feature::Reports, 24.0),
            (Feature::Alerts, 12.0),
            (Feature::Integrations, integrations),
            (Feature::AiAssistant, ai),
            (Feature::Api, api),
        ],
    )
}

/// Renumbers sessions 0.. in the order their first event appears (events are sorted).
fn renumber_sessions(events: &mut [Event], sessions: u32) {
    let mut new_ids = vec![u32::MAX; sessions as usize];
    let mut next = 0u32;
    for e in events.iter_mut() {
        let slot = &mut new_ids[e.session as usize];
        if *slot == u32::MAX {
            *slot = next;
            next += 1;
        }
        e.session = *slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn events_are_sorted_after_signup_and_cover_every_day() {
        let mut rng = stream(19, 0);
        let calendar = Calendar::new(&mut rng);
        let accounts = crate::accounts::generate(&mut rng, &calendar, 300);
        let (_, standings) = crate::billing::generate_subscriptions(&mut rng, &accounts);
        let users = crate::users::generate(&mut rng, &calendar, &accounts, &standings);
        let lifecycles = crate::users::lifecycles(&mut rng, &users, &accounts, &standings);
        let inputs = EventInputs {
            calendar: &calendar,
            standings: &standings,
            users: &users,
            lifecycles: &lifecycles,
            ai_conversions: &[],
        };
        let events = generate(&mut rng, &inputs, 60_000.0);
        let n = events.len() as f64;
        assert!((45_000.0..75_000.0).contains(&n), "{n} events");
        assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
        let mut days = vec![false; DAYS];
        let mut next_session = 0;
        for e in &events {
            assert!(e.time >= users[e.user as usize].signup_at && e.time <= END);
            assert_eq!(e.feature.is_some(), e.name == EventName::FeatureUsed);
            if e.feature == Some(Feature::AiAssistant) {
                assert!(e.time >= AI_ASSISTANT_LAUNCH);
            }
            assert!(e.session <= next_session, "sessions are numbered in order of start");
            next_session = next_session.max(e.session + 1);
            days[day_index(e.time)] = true;
        }
        assert!(days.iter().all(|d| *d), "every day has events");
    }
}
