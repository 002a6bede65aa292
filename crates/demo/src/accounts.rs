//! Customer accounts: who they are (industry, country, size) and when they signed on.

use std::collections::BTreeSet;

use crate::calendar::{Calendar, DAY, END, HOUR, START, WORK_HOURS, at};
use rand::Rng;

use crate::random::{DemoRng, chance, pick};
use crate::vocab::{COMPANY_PREFIXES, COMPANY_ROOTS, Country, EmployeeBand, Industry, company_suffixes};

/// Share of accounts that were beta customers, moved over on launch in the first days of
/// January 2024: the warehouse starts with a small installed base rather than from zero.
const LAUNCH_COHORT_SHARE: f64 = 0.025;
/// End of the launch cohort's arrival.
const LAUNCH_COHORT_END: i64 = at(2024, 1, 4);

/// One customer company. Its position in the generated list (0-based) is `account_id - 1`.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) name: String,
    /// The name as a DNS label, for the users' email addresses.
    pub(crate) domain: String,
    pub(crate) industry: Industry,
    pub(crate) country: Country,
    pub(crate) band: EmployeeBand,
    /// UTC offset of the account's office, for its hours of activity.
    pub(crate) utc_offset_minutes: i32,
    pub(crate) created_at: i64,
}

/// `count` accounts sorted by creation time (so account ids follow the calendar).
pub(crate) fn generate(rng: &mut DemoRng, calendar: &Calendar, count: usize) -> Vec<Account> {
    let countries: Vec<(Country, f64)> = Country::ALL.iter().map(|&c| (c, c.account_weight())).collect();
    let launch_cohort = (count as f64 * LAUNCH_COHORT_SHARE).round() as usize;
    let mut names = CompanyNames::default();
    let mut accounts = Vec::with_capacity(count);
    for i in 0..count {
        let country = pick(rng, &countries);
        let utc_offset_minutes = pick(rng, country.utc_offsets());
        let created_at = if i < launch_cohort {
            calendar.work.sample_time(rng, START, LAUNCH_COHORT_END - 1, &WORK_HOURS, utc_offset_minutes)
        } else {
            calendar.acquisition.sample_time(rng, START, END, &WORK_HOURS, utc_offset_minutes)
        };
        let industry = pick(
            rng,
            &[
                (Industry::Software, 30.0),
                (Industry::Retail, 14.0),
                (Industry::Finance, 12.0),
                (Industry::Healthcare, 11.0),
                (Industry::Education, 10.0),
                (Industry::Manufacturing, 12.0),
                (Industry::Media, 9.0),
            ],
        );
        let band = pick(rng, &band_weights(industry));
        let (name, domain) = names.next(rng, industry);
        accounts.push(Account { name, domain, industry, country, band, utc_offset_minutes, created_at });
    }
    // A stable sort keeps generation order among equal timestamps: deterministic ids.
    accounts.sort_by_key(|a| a.created_at);
    // The launch cohort always includes someone on the very first morning, so that the
    // first day of the warehouse has activity.
    if let Some(first) = accounts.first_mut()
        && first.created_at >= START + DAY
    {
        first.created_at = START + 9 * HOUR;
    }
    accounts
}

/// Employee bands per industry: software and media skew small, finance and manufacturing
/// have more large companies.
fn band_weights(industry: Industry) -> [(EmployeeBand, f64); 5] {
    let (micro, small, medium, large, huge) = match industry {
        Industry::Software => (34.0, 32.0, 19.0, 10.0, 5.0),
        Industry::Media => (36.0, 32.0, 18.0, 10.0, 4.0),
        Industry::Retail => (30.0, 30.0, 20.0, 13.0, 7.0),
        Industry::Education => (28.0, 30.0, 24.0, 13.0, 5.0),
        Industry::Healthcare => (24.0, 28.0, 24.0, 15.0, 9.0),
        Industry::Finance => (20.0, 26.0, 24.0, 18.0, 12.0),
        Industry::Manufacturing => (18.0, 26.0, 26.0, 19.0, 11.0),
    };
    [
        (EmployeeBand::Micro, micro),
        (EmployeeBand::Small, small),
        (EmployeeBand::Medium, medium),
        (EmployeeBand::Large, large),
        (EmployeeBand::Huge, huge),
    ]
}

/// Hands out company names ("Brightwave Labs"), unique within the warehouse.
#[derive(Debug, Default)]
struct CompanyNames {
    used: BTreeSet<String>,
}

impl CompanyNames {
    /// A fresh (name, domain) pair; falls back to numbering after repeated collisions.
    fn next(&mut self, rng: &mut DemoRng, industry: Industry) -> (String, String) {
        let suffixes = company_suffixes(industry);
        let mut attempt = 0u32;
        loop {
            let prefix = COMPANY_PREFIXES[rng.random_range(0..COMPANY_PREFIXES.len())];
            let root = COMPANY_ROOTS[rng.random_range(0..COMPANY_ROOTS.len())];
            let suffix = suffixes[rng.random_range(0..suffixes.len())];
            // Some companies go by the bare compound ("Ironforge"), most carry a suffix.
            let bare = chance(rng, 0.12);
            let stem = format!("{prefix}{root}");
            let mut name = if bare { stem.clone() } else { format!("{stem} {suffix}") };
            attempt += 1;
            if attempt > 12 {
                name = format!("{name} {}", self.used.len() + 1);
            }
            if self.used.insert(name.clone()) {
                let domain = name.to_ascii_lowercase().replace(' ', "-");
                return (name, domain);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn accounts_are_sorted_unique_and_inside_the_window() {
        let mut rng = stream(5, 0);
        let calendar = Calendar::new(&mut rng);
        let accounts = generate(&mut rng, &calendar, 2_000);
        assert_eq!(accounts.len(), 2_000);
        assert!(accounts.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        assert!(accounts.iter().all(|a| (START..=END).contains(&a.created_at)));
        assert!(accounts[0].created_at < START + DAY, "the first day has an account");
        let names: BTreeSet<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names.len(), accounts.len());
        assert!(
            accounts.iter().all(|a| a.domain.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        );
    }
}
