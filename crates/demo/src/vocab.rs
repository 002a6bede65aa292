//! The value domains of the demo warehouse contract (`shared/demo-warehouse.md`) and the
//! word lists that fictional names are made from.
//!
//! Each domain is an enum whose `as_str` is the exact string stored in Parquet, so the
//! generator can reason about plans and regions by type while the output matches the
//! contract letter for letter.

/// Declares a closed value domain: an enum, its `ALL` list in contract order and the exact
/// stored strings.
macro_rules! domain {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub(crate) enum $name { $($variant),+ }

        #[allow(dead_code)]
        impl $name {
            /// Every value, in the order the contract lists them.
            pub(crate) const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string stored in the warehouse.
            pub(crate) fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

domain!(
    /// `accounts.industry`.
    Industry {
        Software = "Software",
        Retail = "Retail",
        Finance = "Finance",
        Healthcare = "Healthcare",
        Education = "Education",
        Manufacturing = "Manufacturing",
        Media = "Media",
    }
);

domain!(
    /// `accounts.country` and `users.country` (ISO 3166 alpha-2).
    Country {
        Us = "US",
        Ca = "CA",
        Br = "BR",
        Mx = "MX",
        Gb = "GB",
        De = "DE",
        Fr = "FR",
        Nl = "NL",
        Es = "ES",
        Se = "SE",
        In = "IN",
        Jp = "JP",
        Au = "AU",
        Sg = "SG",
    }
);

domain!(
    /// `accounts.region`, derived from the country.
    Region {
        Na = "NA",
        Latam = "LATAM",
        Emea = "EMEA",
        Apac = "APAC",
    }
);

impl Country {
    /// The contract's country-to-region mapping.
    pub(crate) fn region(self) -> Region {
        match self {
            Country::Us | Country::Ca => Region::Na,
            Country::Br | Country::Mx => Region::Latam,
            Country::Gb | Country::De | Country::Fr | Country::Nl | Country::Es | Country::Se => Region::Emea,
            Country::In | Country::Jp | Country::Au | Country::Sg => Region::Apac,
        }
    }

    /// How common the country is among customer accounts: NA is the home market.
    pub(crate) fn account_weight(self) -> f64 {
        match self {
            Country::Us => 34.0,
            Country::Ca => 5.0,
            Country::Br => 5.0,
            Country::Mx => 3.0,
            Country::Gb => 9.0,
            Country::De => 7.5,
            Country::Fr => 5.5,
            Country::Nl => 3.0,
            Country::Es => 2.5,
            Country::Se => 2.0,
            Country::In => 7.0,
            Country::Jp => 4.5,
            Country::Au => 4.0,
            Country::Sg => 2.0,
        }
    }

    /// UTC offsets in minutes of the country's business centres, with their shares. Local
    /// office hours become different UTC hours per region, which is what a chart of
    /// activity by hour shows.
    pub(crate) fn utc_offsets(self) -> &'static [(i32, f64)] {
        match self {
            Country::Us => &[(-300, 0.47), (-360, 0.29), (-420, 0.07), (-480, 0.17)],
            Country::Ca => &[(-300, 0.62), (-420, 0.13), (-480, 0.25)],
            Country::Br => &[(-180, 1.0)],
            Country::Mx => &[(-360, 1.0)],
            Country::Gb => &[(0, 1.0)],
            Country::De | Country::Fr | Country::Nl | Country::Es | Country::Se => &[(60, 1.0)],
            Country::In => &[(330, 1.0)],
            Country::Jp => &[(540, 1.0)],
            Country::Au => &[(600, 0.8), (480, 0.2)],
            Country::Sg => &[(480, 1.0)],
        }
    }
}

domain!(
    /// `accounts.employee_band`.
    EmployeeBand {
        Micro = "1-10",
        Small = "11-50",
        Medium = "51-200",
        Large = "201-1000",
        Huge = "1000+",
    }
);

domain!(
    /// `users.role`.
    Role {
        Admin = "admin",
        Member = "member",
        Viewer = "viewer",
    }
);

domain!(
    /// `users.signup_channel`.
    SignupChannel {
        Organic = "organic",
        PaidSearch = "paid_search",
        Social = "social",
        Referral = "referral",
        Partner = "partner",
    }
);

domain!(
    /// `users.signup_platform` and `events.platform`.
    Platform {
        Web = "web",
        Ios = "ios",
        Android = "android",
    }
);

domain!(
    /// `subscriptions.plan`.
    Plan {
        Free = "free",
        Starter = "starter",
        Pro = "pro",
        Enterprise = "enterprise",
    }
);

domain!(
    /// `subscriptions.billing_period`.
    BillingPeriod {
        Monthly = "monthly",
        Annual = "annual",
    }
);

domain!(
    /// `subscriptions.status`.
    SubscriptionStatus {
        Active = "active",
        Trialing = "trialing",
        PastDue = "past_due",
        Canceled = "canceled",
    }
);

domain!(
    /// `subscriptions.cancel_reason`.
    CancelReason {
        Price = "price",
        MissingFeature = "missing_feature",
        SwitchedCompetitor = "switched_competitor",
        NoLongerNeeded = "no_longer_needed",
        SupportExperience = "support_experience",
    }
);

domain!(
    /// `invoices.status`.
    InvoiceStatus {
        Paid = "paid",
        Open = "open",
        Void = "void",
        Refunded = "refunded",
    }
);

domain!(
    /// `events.event_name`.
    EventName {
        Login = "login",
        PageView = "page_view",
        FeatureUsed = "feature_used",
        ReportCreated = "report_created",
        DashboardViewed = "dashboard_viewed",
        Export = "export",
        InviteSent = "invite_sent",
    }
);

domain!(
    /// `events.feature`, set only on `feature_used` events.
    Feature {
        Dashboards = "dashboards",
        Reports = "reports",
        Alerts = "alerts",
        Integrations = "integrations",
        AiAssistant = "ai_assistant",
        Api = "api",
    }
);

domain!(
    /// `support_tickets.priority`.
    Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
);

domain!(
    /// `support_tickets.category`.
    TicketCategory {
        Billing = "billing",
        Bug = "bug",
        HowTo = "how_to",
        FeatureRequest = "feature_request",
        Outage = "outage",
    }
);

domain!(
    /// `support_tickets.channel`.
    TicketChannel {
        Email = "email",
        Chat = "chat",
        Phone = "phone",
    }
);

domain!(
    /// `experiment_assignments.experiment_name`.
    Experiment {
        NewOnboarding = "new_onboarding",
        PricingPageV2 = "pricing_page_v2",
        AiAssistantLaunch = "ai_assistant_launch",
    }
);

domain!(
    /// `experiment_assignments.variant`.
    Variant {
        Control = "control",
        Treatment = "treatment",
    }
);

/// Given names for `users.full_name` and emails (ASCII, so emails need no transliteration).
pub(crate) const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Daniel",
    "Karen",
    "Matthew",
    "Emily",
    "Anthony",
    "Olivia",
    "Mark",
    "Sophia",
    "Paul",
    "Emma",
    "Steven",
    "Ava",
    "Andrew",
    "Mia",
    "Lucas",
    "Isabella",
    "Noah",
    "Charlotte",
    "Liam",
    "Amelia",
    "Oliver",
    "Harper",
    "Ethan",
    "Evelyn",
    "Mateo",
    "Valentina",
    "Diego",
    "Camila",
    "Gabriel",
    "Lucia",
    "Rafael",
    "Mariana",
    "Felix",
    "Hannah",
    "Lukas",
    "Lena",
    "Jonas",
    "Clara",
    "Pierre",
    "Camille",
    "Louis",
    "Chloe",
    "Sander",
    "Fleur",
    "Pablo",
    "Alba",
    "Erik",
    "Astrid",
    "Oscar",
    "Ingrid",
    "Arjun",
    "Priya",
    "Rohan",
    "Ananya",
    "Vikram",
    "Diya",
    "Haruto",
    "Yui",
    "Kenji",
    "Sakura",
    "Jack",
    "Ruby",
    "Wei",
    "Mei",
    "Ravi",
    "Aisha",
    "Omar",
    "Leila",
    "Samuel",
    "Grace",
    "Nathan",
    "Zoe",
];

/// Family names for `users.full_name` and emails.
pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Pereira",
    "Costa",
    "Ramirez",
    "Flores",
    "Torres",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Dubois",
    "Laurent",
    "Bernard",
    "Moreau",
    "Lefevre",
    "DeVries",
    "Jansen",
    "Bakker",
    "Visser",
    "Fernandez",
    "Ruiz",
    "Navarro",
    "Johansson",
    "Lindqvist",
    "Eriksson",
    "Nilsson",
    "Sharma",
    "Patel",
    "Gupta",
    "Iyer",
    "Reddy",
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Nguyen",
    "Tan",
    "Lim",
    "Chen",
    "Wong",
    "Kelly",
    "Murphy",
    "OBrien",
    "Walsh",
];

/// First halves of company names.
pub(crate) const COMPANY_PREFIXES: &[&str] = &[
    "Blue", "Bright", "Cedar", "Silver", "North", "Iron", "Clear", "Swift", "Golden", "Red", "Green", "Stone", "River",
    "Sun", "Star", "Oak", "Pine", "Maple", "Harbor", "Summit", "Crystal", "Ever", "True", "Open", "Wild", "Deep",
    "High", "Far", "Quick", "Bold", "Prime", "Nova", "Terra", "Aqua", "Lumen", "Vertex", "Polar", "Coral", "Amber",
    "Echo", "Atlas", "Orbit", "Pixel", "Quantum", "Rapid", "Solid", "Urban", "Vivid", "Zen", "Alpine", "Crimson",
    "Falcon", "Granite", "Meadow", "Orchid", "Sterling", "Willow", "Cobalt", "Juniper", "Beacon",
];

/// Second halves of company names.
pub(crate) const COMPANY_ROOTS: &[&str] = &[
    "wave", "field", "stone", "point", "bridge", "path", "line", "works", "gate", "light", "forge", "leaf", "peak",
    "port", "view", "brook", "crest", "dale", "ridge", "spring", "well", "wood", "shore", "side", "mark", "hive",
    "craft", "scape", "stream", "vale", "rock", "fall", "land", "haven", "flow", "sight", "spark", "bloom", "grove",
    "step", "mont", "tide", "wind", "cloud", "loop", "nest", "track", "yard", "glen", "ford",
];

/// Company name endings that fit the industry (e.g. "Capital" for Finance).
pub(crate) fn company_suffixes(industry: Industry) -> &'static [&'static str] {
    match industry {
        Industry::Software => &["Labs", "Software", "Systems", "Technologies", "Cloud", "Digital", "AI", "Data"],
        Industry::Retail => &["Goods", "Market", "Outfitters", "Retail", "Supply", "Stores", "Brands"],
        Industry::Finance => &["Capital", "Financial", "Partners", "Bank", "Insurance", "Payments", "Advisors"],
        Industry::Healthcare => &["Health", "Care", "Clinics", "Medical", "Therapeutics", "Diagnostics", "Wellness"],
        Industry::Education => &["Learning", "Academy", "Education", "Schools", "Tutoring", "Institute"],
        Industry::Manufacturing => &["Industries", "Manufacturing", "Works", "Machines", "Materials", "Components"],
        Industry::Media => &["Media", "Studios", "Publishing", "Productions", "Network", "Press", "Broadcasting"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_maps_to_the_contract_region() {
        let expected = [
            ("US", "NA"),
            ("CA", "NA"),
            ("BR", "LATAM"),
            ("MX", "LATAM"),
            ("GB", "EMEA"),
            ("DE", "EMEA"),
            ("FR", "EMEA"),
            ("NL", "EMEA"),
            ("ES", "EMEA"),
            ("SE", "EMEA"),
            ("IN", "APAC"),
            ("JP", "APAC"),
            ("AU", "APAC"),
            ("SG", "APAC"),
        ];
        let actual: Vec<(&str, &str)> = Country::ALL.iter().map(|c| (c.as_str(), c.region().as_str())).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn utc_offset_shares_are_positive() {
        for country in Country::ALL {
            let offsets = country.utc_offsets();
            assert!(!offsets.is_empty());
            assert!(offsets.iter().all(|(minutes, share)| minutes.abs() <= 14 * 60 && *share > 0.0));
        }
    }

    #[test]
    fn name_lists_are_plain_ascii_words() {
        for word in FIRST_NAMES.iter().chain(LAST_NAMES).chain(COMPANY_PREFIXES).chain(COMPANY_ROOTS) {
            assert!(!word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic()), "{word}");
        }
    }
}
