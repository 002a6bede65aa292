//! A/B tests run on users: a new onboarding flow in 2024 (treatment activates more users),
//! a pricing page redesign in the first half of 2025 (no real difference) and the AI
//! assistant launch since September 2025 (treatment, who see it, use it far more).

use rand::Rng;

use crate::calendar::{Calendar, DAY, END, HOUR, USAGE_HOURS, at};
use crate::random::{DemoRng, chance, log_normal};
use crate::users::{Lifecycle, User};
use crate::vocab::{Experiment, Role, Variant};

const ONBOARDING_WINDOW: (i64, i64) = (at(2024, 4, 1), at(2024, 10, 1));
const PRICING_WINDOW: (i64, i64) = (at(2025, 1, 13), at(2025, 7, 1));
const AI_ASSISTANT_START: i64 = at(2025, 9, 2);

/// One user's exposure to one experiment.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    /// Index of the user in the user list.
    pub(crate) user: usize,
    pub(crate) experiment: Experiment,
    pub(crate) variant: Variant,
    pub(crate) assigned_at: i64,
    pub(crate) converted_at: Option<i64>,
}

/// Assignments of all three experiments, about `target` in total, sorted by time.
pub(crate) fn generate(
    rng: &mut DemoRng,
    calendar: &Calendar,
    users: &[User],
    lifecycles: &[Lifecycle],
    target: f64,
) -> Vec<Assignment> {
    let mut out = Vec::new();

    // Every new user of the test period saw one onboarding flow (bar a holdout).
    for (index, (user, life)) in users.iter().zip(lifecycles).enumerate() {
        if !(ONBOARDING_WINDOW.0..ONBOARDING_WINDOW.1).contains(&user.signup_at) || !chance(rng, 0.85) {
            continue;
        }
        let variant = variant(rng);
        let assigned_at = (user.signup_at + rng.random_range(30..600)).min(END);
        let rate = if variant == Variant::Treatment { 0.37 } else { 0.31 };
        // Activated = reached the first dashboard within a week, while still around.
        let converted_at = chance(rng, rate)
            .then(|| assigned_at + log_normal(rng, 1.5 * DAY as f64, 1.0) as i64)
            .filter(|&t| t <= assigned_at + 7 * DAY && t <= life.stop.max(assigned_at + HOUR) && t <= END);
        out.push(Assignment { user: index, experiment: Experiment::NewOnboarding, variant, assigned_at, converted_at });
    }

    let remaining = (target - out.len() as f64).max(0.3 * target);
    // Admins are the ones who open the pricing page.
    let pricing_weight = |u: &User| if u.role == Role::Admin { 3.0 } else { 1.0 };
    let ai_weight = |u: &User| if u.role == Role::Viewer { 0.5 } else { 1.0 };
    let experiments = [
        (Experiment::PricingPageV2, PRICING_WINDOW, 0.4 * remaining, &pricing_weight as &dyn Fn(&User) -> f64),
        (Experiment::AiAssistantLaunch, (AI_ASSISTANT_START, END + 1), 0.6 * remaining, &ai_weight),
    ];
    for (experiment, (from, until), wanted, weight) in experiments {
        let eligible = |u: &User, l: &Lifecycle| u.signup_at < until - HOUR && l.stop > from;
        let total_weight: f64 =
            users.iter().zip(lifecycles).filter(|(u, l)| eligible(u, l)).map(|(u, _)| weight(u)).sum();
        if total_weight <= 0.0 {
            continue;
        }
        let scale = wanted / total_weight;
        for (index, (user, life)) in users.iter().zip(lifecycles).enumerate() {
            if !eligible(user, life) || !chance(rng, scale * weight(user)) {
                continue;
            }
            let lo = from.max(user.signup_at + 60);
            let hi = (until - 1).min(life.stop.max(lo + HOUR));
            let assigned_at = calendar.usage.sample_time(rng, lo, hi, &USAGE_HOURS, user.utc_offset_minutes);
            let variant = variant(rng);
            let converted_at = match experiment {
                Experiment::PricingPageV2 => {
                    let rate = if variant == Variant::Treatment { 0.092 } else { 0.085 };
                    chance(rng, rate).then(|| assigned_at + log_normal(rng, 25.0 * 60.0, 1.2) as i64)
                }
                _ => {
                    let rate = if variant == Variant::Treatment { 0.26 } else { 0.1 };
                    chance(rng, rate)
                        .then(|| assigned_at + log_normal(rng, 2.0 * DAY as f64, 1.1) as i64)
                        .filter(|&t| t <= assigned_at + 21 * DAY)
                }
            }
            .filter(|&t| t <= END);
            out.push(Assignment { user: index, experiment, variant, assigned_at, converted_at });
        }
    }
    out.sort_by_key(|a| (a.assigned_at, a.user, a.experiment));
    out
}

fn variant(rng: &mut DemoRng) -> Variant {
    if chance(rng, 0.5) { Variant::Treatment } else { Variant::Control }
}

/// Converted AI-assistant users used the feature at the moment they converted: these
/// become `feature_used` events so experiments and usage agree.
pub(crate) fn ai_assistant_conversions(assignments: &[Assignment]) -> Vec<(usize, i64)> {
    assignments
        .iter()
        .filter(|a| a.experiment == Experiment::AiAssistantLaunch)
        .filter_map(|a| a.converted_at.map(|t| (a.user, t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn treatment_converts_better_where_it_should() {
        let mut rng = stream(17, 0);
        let calendar = Calendar::new(&mut rng);
        let accounts = crate::accounts::generate(&mut rng, &calendar, 2_000);
        let (_, standings) = crate::billing::generate_subscriptions(&mut rng, &accounts);
        let users = crate::users::generate(&mut rng, &calendar, &accounts, &standings);
        let lifecycles = crate::users::lifecycles(&mut rng, &users, &accounts, &standings);
        let assignments = generate(&mut rng, &calendar, &users, &lifecycles, 12_000.0);
        let rate = |e: Experiment, v: Variant| {
            let group: Vec<&Assignment> = assignments.iter().filter(|a| a.experiment == e && a.variant == v).collect();
            group.iter().filter(|a| a.converted_at.is_some()).count() as f64 / group.len() as f64
        };
        assert!(
            rate(Experiment::AiAssistantLaunch, Variant::Treatment)
                > rate(Experiment::AiAssistantLaunch, Variant::Control) + 0.08
        );
        for a in &assignments {
            let user = &users[a.user];
            assert!(a.assigned_at >= user.signup_at && a.assigned_at <= END);
            if let Some(t) = a.converted_at {
                assert!(t >= a.assigned_at && t <= END);
            }
        }
        let mut keys: Vec<(usize, Experiment)> = assignments.iter().map(|a| (a.user, a.experiment)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), assignments.len(), "one assignment per user and experiment");
    }
}
