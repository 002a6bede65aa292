//! Product usage events, grouped in sessions.
//!
//! Each user starts a session right after signing up, comes back more often in their first
//! weeks, then at a steady personal rate until they drift away or their account churns.
//! Session counts are calibrated so the table has about the requested number of rows.
//!
//! Events are generated user by user but stored in time order, so they are sorted. Memory
//! stays bounded at any scale: events are collected up to a budget, sorted and spilled to a
//! run file; the runs are then merged (and sessions numbered) as the table is written.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::billing::AccountStanding;
use crate::calendar::{AI_ASSISTANT_LAUNCH, Calendar, DAY, DAYS, END, HOUR, USAGE_HOURS, day_index, day_start};
use crate::random::{DemoRng, chance, exponential, geometric, pick, poisson};
use crate::users::{Lifecycle, User, signed_up_before};
use crate::vocab::{EventName, Feature, Plan, Platform, Role};
use crate::{Error, Result};

/// Share of sessions that begin with an explicit login (web sessions expire, apps keep
/// users signed in).
const WEB_LOGIN: f64 = 0.6;
const APP_LOGIN: f64 = 0.3;
/// Chance that a session ends after each activity: sessions average 1 / this activities.
const SESSION_END: f64 = 0.3;
/// How much more often users come back during their first three weeks.
const NOVELTY: f64 = 2.0;
const NOVELTY_SPAN: i64 = 21 * DAY;
/// Activities a session has beyond its first, at most.
const EXTRA_ACTIVITIES_CAP: u32 = 40;
/// Events a session has at most: a login, its first activity and the extra ones.
const MAX_SESSION_EVENTS: usize = EXTRA_ACTIVITIES_CAP as usize + 2;

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
    /// Whether it is its session's last event: a session's number is forgotten after it.
    last: bool,
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

/// Where events go when they outgrow memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spill<'a> {
    /// A directory for sorted runs; none keeps every event in memory.
    pub(crate) dir: Option<&'a Path>,
    /// Events held in memory before a run is written.
    pub(crate) rows: usize,
}

impl Spill<'_> {
    /// Every event in memory.
    pub(crate) const NONE: Spill<'static> = Spill { dir: None, rows: usize::MAX };
}

/// About `target` events, as sorted runs to read in time order with [`SortedEvents::ordered`].
pub(crate) fn generate(
    rng: &mut DemoRng,
    inputs: &EventInputs<'_>,
    target: f64,
    spill: Spill<'_>,
) -> Result<SortedEvents> {
    let EventInputs { calendar, users, lifecycles, .. } = *inputs;
    let mean_login = 0.5 * (WEB_LOGIN + APP_LOGIN);
    let events_per_session = mean_login + 1.0 + (1.0 - SESSION_END) / SESSION_END;
    let fixed_sessions = users.len() as f64 + inputs.ai_conversions.len() as f64 / events_per_session;
    let exposure: f64 =
        users.iter().zip(lifecycles).map(|(u, l)| l.engagement * session_exposure(calendar, u, l)).sum();
    let rate = if exposure > 0.0 { (target / events_per_session - fixed_sessions).max(0.0) / exposure } else { 0.0 };

    let expected = target as usize + target as usize / 8;
    let mut writer = SessionWriter {
        // Room for the session that crosses the budget, so the buffer never grows past it.
        events: Vec::with_capacity(expected.min(spill.rows.saturating_add(MAX_SESSION_EVENTS))),
        sessions: 0,
        busy: vec![false; DAYS],
        spill,
        runs: Vec::new(),
    };
    for (index, (user, life)) in users.iter().zip(lifecycles).enumerate() {
        let start = (user.signup_at + rng.random_range(5..120)).min(END);
        writer.session(rng, inputs, index, start)?;
        let lo = user.signup_at + 60;
        let regular = poisson(rng, rate * life.engagement * calendar.usage.mass(lo, life.stop));
        for _ in 0..regular {
            let t = calendar.usage.sample_time(rng, lo, life.stop, &USAGE_HOURS, user.utc_offset_minutes);
            writer.session(rng, inputs, index, t)?;
        }
        let novelty_end = life.stop.min(user.signup_at + NOVELTY_SPAN);
        let early = poisson(rng, rate * NOVELTY * life.engagement * calendar.usage.mass(lo, novelty_end));
        for _ in 0..early {
            let t = calendar.usage.sample_time(rng, lo, novelty_end, &USAGE_HOURS, user.utc_offset_minutes);
            writer.session(rng, inputs, index, t)?;
        }
    }
    for &(user, time) in inputs.ai_conversions {
        writer.single(user, time, Some(Feature::AiAssistant), users[user].platform)?;
    }
    fill_quiet_days(rng, inputs, &mut writer)?;

    let mut memory = writer.events;
    memory.sort_unstable_by_key(sort_key);
    Ok(SortedEvents { runs: writer.runs, memory })
}

/// Time, generated session, position in the session.
type SortKey = (i64, u32, u16);

/// The order events are stored in: by time, then session (as generated), then position in the
/// session. No two events share a key, so every sort gives the same order.
fn sort_key(event: &Event) -> SortKey {
    (event.time, event.session, event.ordinal)
}

/// Weighted time a user can start sessions in, counting the novelty weeks extra.
fn session_exposure(calendar: &Calendar, user: &User, life: &Lifecycle) -> f64 {
    let lo = user.signup_at + 60;
    calendar.usage.mass(lo, life.stop) + NOVELTY * calendar.usage.mass(lo, life.stop.min(user.signup_at + NOVELTY_SPAN))
}

/// Makes sure every day of the window has activity, even in tiny warehouses: a day
/// without events gets one session of someone who had already signed up.
fn fill_quiet_days(rng: &mut DemoRng, inputs: &EventInputs<'_>, writer: &mut SessionWriter<'_>) -> Result<()> {
    let busy = writer.busy.clone();
    for (day, _) in busy.iter().enumerate().filter(|(_, b)| !**b) {
        let (from, until) = (day_start(day), day_start(day) + DAY - 1);
        let candidates = signed_up_before(inputs.users, until - 60);
        if candidates == 0 {
            continue;
        }
        let user = rng.random_range(0..candidates);
        let lo = from.max(inputs.users[user].signup_at + 1);
        let t = rng.random_range(lo..=until - 30);
        writer.session(rng, inputs, user, t)?;
    }
    Ok(())
}

/// Appends sessions and their events, spilling sorted runs when memory is full.
struct SessionWriter<'a> {
    /// The events not yet spilled.
    events: Vec<Event>,
    sessions: u32,
    /// Days that have at least one event.
    busy: Vec<bool>,
    spill: Spill<'a>,
    runs: Vec<Run>,
}

impl SessionWriter<'_> {
    /// One session of `user` starting at `start`: maybe a login, then a few activities a
    /// minute or so apart.
    fn session(&mut self, rng: &mut DemoRng, inputs: &EventInputs<'_>, user: usize, start: i64) -> Result<()> {
        let first = self.events.len();
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
        let activities = 1 + geometric(rng, SESSION_END, EXTRA_ACTIVITIES_CAP);
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
        self.end_session(first)
    }

    /// A session of a single `feature_used` event.
    fn single(&mut self, user: usize, time: i64, feature: Option<Feature>, platform: Platform) -> Result<()> {
        let first = self.events.len();
        let session = self.sessions;
        self.sessions += 1;
        let mut ordinal = 0;
        self.push(time, user, session, &mut ordinal, EventName::FeatureUsed, feature, platform);
        self.end_session(first)
    }

    /// Marks the last event of the session whose events start at `first`, then spills a run
    /// if memory is full (only between sessions, so a session's events are in one run).
    fn end_session(&mut self, first: usize) -> Result<()> {
        if self.events.len() > first
            && let Some(last) = self.events.last_mut()
        {
            last.last = true;
        }
        match self.spill.dir {
            Some(dir) if self.events.len() >= self.spill.rows => {
                let path = dir.join(format!("events-{}.run", self.runs.len()));
                self.events.sort_unstable_by_key(sort_key);
                self.runs.push(Run::write(path, &self.events)?);
                self.events.clear();
                Ok(())
            }
            _ => Ok(()),
        }
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
        self.busy[day_index(time)] = true;
        let event = Event { time, user: user as u32, session, ordinal: *ordinal, last: false, name, feature, platform };
        self.events.push(event);
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

/// Bytes of one event in a run file.
const RECORD_BYTES: usize = 22;

/// A sorted run of events in a file.
#[derive(Debug)]
pub(crate) struct Run {
    path: PathBuf,
    events: usize,
}

impl Run {
    /// Writes `events` (sorted) to `path`.
    fn write(path: PathBuf, events: &[Event]) -> Result<Run> {
        let failed = |source| Error::Spill { path: path.clone(), source };
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(failed)?);
        for event in events {
            out.write_all(&encode(event)).map_err(failed)?;
        }
        out.flush().map_err(failed)?;
        Ok(Run { path, events: events.len() })
    }
}

fn encode(e: &Event) -> [u8; RECORD_BYTES] {
    let mut bytes = [0u8; RECORD_BYTES];
    bytes[0..8].copy_from_slice(&e.time.to_le_bytes());
    bytes[8..12].copy_from_slice(&e.user.to_le_bytes());
    bytes[12..16].copy_from_slice(&e.session.to_le_bytes());
    bytes[16..18].copy_from_slice(&e.ordinal.to_le_bytes());
    bytes[18] = e.name as u8;
    bytes[19] = e.feature.map_or(0, |f| f as u8 + 1);
    bytes[20] = e.platform as u8;
    bytes[21] = u8::from(e.last);
    bytes
}

/// The event `encode` wrote, or `None` for bytes it cannot have written.
fn decode(bytes: &[u8; RECORD_BYTES]) -> Option<Event> {
    let word = |range: std::ops::Range<usize>| -> [u8; 4] { bytes[range].try_into().unwrap_or_default() };
    let feature = match bytes[19] {
        0 => None,
        n => Some(*Feature::ALL.get(usize::from(n) - 1)?),
    };
    Some(Event {
        time: i64::from_le_bytes(bytes[0..8].try_into().ok()?),
        user: u32::from_le_bytes(word(8..12)),
        session: u32::from_le_bytes(word(12..16)),
        ordinal: u16::from_le_bytes([bytes[16], bytes[17]]),
        last: bytes[21] == 1,
        name: *EventName::ALL.get(usize::from(bytes[18]))?,
        feature,
        platform: *Platform::ALL.get(usize::from(bytes[20]))?,
    })
}

/// The generated events: sorted runs on disk and the sorted rest in memory.
#[derive(Debug)]
pub(crate) struct SortedEvents {
    runs: Vec<Run>,
    memory: Vec<Event>,
}

impl SortedEvents {
    /// The events in time order, with sessions renumbered 0.. in the order their first event
    /// appears. Memory holds one buffered reader per run and the sessions in progress.
    pub(crate) fn ordered(self) -> Result<OrderedEvents> {
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        for run in self.runs {
            let file = File::open(&run.path).map_err(|source| Error::Spill { path: run.path.clone(), source })?;
            sources.push(Source::Run {
                reader: BufReader::with_capacity(1 << 16, file),
                left: run.events,
                path: run.path,
            });
        }
        sources.push(Source::Memory(self.memory.into_iter()));
        let mut ordered = OrderedEvents {
            sources,
            heads: BinaryHeap::new(),
            current: Vec::new(),
            open: HashMap::new(),
            next_session: 0,
        };
        for index in 0..ordered.sources.len() {
            let head = ordered.sources[index].next()?;
            ordered.current.push(head);
            if let Some(event) = head {
                ordered.heads.push(Reverse((sort_key(&event), index)));
            }
        }
        Ok(ordered)
    }
}

/// One sorted source of events.
enum Source {
    Run { reader: BufReader<File>, left: usize, path: PathBuf },
    Memory(std::vec::IntoIter<Event>),
}

impl Source {
    fn next(&mut self) -> Result<Option<Event>> {
        match self {
            Source::Memory(events) => Ok(events.next()),
            Source::Run { left: 0, .. } => Ok(None),
            Source::Run { reader, left, path } => {
                let mut bytes = [0u8; RECORD_BYTES];
                reader.read_exact(&mut bytes).map_err(|source| Error::Spill { path: path.clone(), source })?;
                *left -= 1;
                let corrupt = || std::io::Error::new(std::io::ErrorKind::InvalidData, "a record no event encodes to");
                decode(&bytes).map(Some).ok_or_else(|| Error::Spill { path: path.clone(), source: corrupt() })
            }
        }
    }
}

/// The events of every source merged in time order, sessions renumbered (see
/// [`SortedEvents::ordered`]).
pub(crate) struct OrderedEvents {
    sources: Vec<Source>,
    /// The next event's key of each source that has one, and the source.
    heads: BinaryHeap<Reverse<(SortKey, usize)>>,
    current: Vec<Option<Event>>,
    /// Sessions started and not yet ended: generated number to stored number.
    open: HashMap<u32, u32>,
    next_session: u32,
}

impl OrderedEvents {
    fn next_event(&mut self) -> Result<Option<Event>> {
        let Some(Reverse((_, index))) = self.heads.pop() else { return Ok(None) };
        let Some(mut event) = self.current[index] else { return Ok(None) };
        let following = self.sources[index].next()?;
        self.current[index] = following;
        if let Some(following) = following {
            self.heads.push(Reverse((sort_key(&following), index)));
        }
        // Times rise within a session, so its first event is the one that comes first.
        let stored = if event.ordinal == 0 {
            let stored = self.next_session;
            self.next_session += 1;
            if !event.last {
                self.open.insert(event.session, stored);
            }
            stored
        } else {
            let found =
                if event.last { self.open.remove(&event.session) } else { self.open.get(&event.session).copied() };
            found.ok_or(Error::Arrow {
                table: "events",
                message: format!("session {} continues after its last event", event.session),
            })?
        };
        event.session = stored;
        Ok(Some(event))
    }
}

impl Iterator for OrderedEvents {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        self.next_event().transpose()
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
        let events: Vec<Event> = generate(&mut rng, &inputs, 60_000.0, Spill::NONE)
            .unwrap()
            .ordered()
            .unwrap()
            .map(Result::unwrap)
            .collect();
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
