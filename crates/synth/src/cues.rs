//! The words and patterns of questions that are grammar rather than vocabulary: cues for
//! aggregates, ranking, shares, negation, grouping, counting and follow-ups. The vocabulary
//! itself (metrics, dimensions, values) comes from the semantic layer.

use std::sync::LazyLock;

use regex::Regex;

use crate::query::AggregateFunc;
use crate::text::is_stopword;

pub(crate) const AGG_WORDS: &[(&str, AggregateFunc)] = &[
    ("average", AggregateFunc::Avg),
    ("avg", AggregateFunc::Avg),
    ("mean", AggregateFunc::Avg),
    ("typical", AggregateFunc::Median),
    ("median", AggregateFunc::Median),
    ("total", AggregateFunc::Sum),
    ("sum", AggregateFunc::Sum),
    ("combined", AggregateFunc::Sum),
    ("maximum", AggregateFunc::Max),
    ("max", AggregateFunc::Max),
    ("highest", AggregateFunc::Max),
    ("largest", AggregateFunc::Max),
    ("biggest", AggregateFunc::Max),
    ("longest", AggregateFunc::Max),
    ("most", AggregateFunc::Max),
    ("minimum", AggregateFunc::Min),
    ("min", AggregateFunc::Min),
    ("lowest", AggregateFunc::Min),
    ("smallest", AggregateFunc::Min),
    ("shortest", AggregateFunc::Min),
    ("distinct", AggregateFunc::CountDistinct),
    ("unique", AggregateFunc::CountDistinct),
    ("different", AggregateFunc::CountDistinct),
];

pub(crate) const DESC_WORDS: &[&str] = &[
    "most",
    "highest",
    "largest",
    "biggest",
    "top",
    "best",
    "leading",
    "greatest",
    "max",
    "maximum",
    "more",
    "strongest",
    "busiest",
    "heaviest",
    "slowest",
    "longest",
    "peak",
];
pub(crate) const ASC_WORDS: &[&str] = &[
    "least", "lowest", "fewest", "smallest", "bottom", "worst", "min", "minimum", "weakest", "quietest", "lightest",
    "fastest", "quickest", "shortest",
];
pub(crate) const RANK_WORDS: &[&str] =
    &["rank", "ranked", "ranking", "sorted", "sort", "order", "ordered", "leaderboard"];
pub(crate) const SHARE_WORDS: &[&str] =
    &["share", "percentage", "percent", "%", "proportion", "fraction", "pct", "portion", "percentages", "shares"];
pub(crate) const NEGATION_WORDS: &[&str] =
    &["not", "excluding", "exclude", "except", "without", "non", "besides", "other", "ignoring", "minus", "no"];
pub(crate) const GROUP_CUES: &[&str] = &["by", "per", "each", "every", "across", "which", "what", "for", "between"];
pub(crate) const BREAKDOWN_WORDS: &[&str] =
    &["between", "vs", "versus", "compare", "compared", "breakdown", "break", "split", "each"];

pub(crate) static SHIFT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:the |a )?(?P<g>day|week|month|quarter|year) (?:before|prior|earlier)\b|\b(?:the )?(?:previous|prior|preceding) (?P<g2>period)\b").expect("valid regex")
});

pub(crate) fn has_any(normalized: &str, words: &[&str]) -> bool {
    normalized.split_whitespace().any(|w| words.contains(&w))
}

pub(crate) const COUNT_CUES: &[&str] = &["how many", "number of", "count of", "count", "# of", "how much"];
pub(crate) const FOLLOW_UP_STARTS: &[&str] = &[
    "and",
    "what about",
    "how about",
    "now",
    "only",
    "just",
    "same",
    "also",
    "instead",
    "then",
    "break",
    "split",
    "show it",
    "make it",
    "and for",
    "for",
    "excluding",
    "without",
    "but",
    "add",
    "include",
];

pub(crate) static TOP_N_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bwhich (?P<n3>\d+|two|three|four|five|six|seven|eight|nine|ten)\b|\b(?P<w>top|bottom|first|best|worst|highest|lowest|largest|smallest|biggest|leading) (?P<n>\d+|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty)\b|\b(?P<n2>\d+|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty) (?P<w2>most|least|highest|lowest|biggest|largest|smallest|best|worst|top|bottom|fewest)\b")
        .expect("valid regex")
});

pub(crate) static COMPARE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?P<op>(?:not|no) (?:more|greater|higher|larger|bigger|longer|heavier|older|taller|later|less|fewer|lower|smaller|shorter|lighter|younger|earlier) than|(?:not|no) (?:over|above|under|below)|more than|greater than|higher than|larger than|bigger than|longer than|heavier than|older than|taller than|later than|over|above|exceeding|at least|less than|fewer than|lower than|smaller than|shorter than|lighter than|younger than|earlier than|under|below|within|at most|exactly|equal to|equals|>=|<=|>|<|=) (?:\$ )?(?P<n>\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten)(?: ?(?P<unit>k|m|thousand|million))?(?: (?P<orx>or more|or less|or fewer|or above|or below|or higher|or lower|and up|plus))?\b|\b(?P<n2>\d+(?:\.\d+)?) (?P<op2>or more|or less|or fewer|or above|or below|or higher|or lower|and up|plus|\+)")
        .expect("valid regex")
});

pub(crate) static BETWEEN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\bbetween (?:\$ )?(?P<a>\d+(?:\.\d+)?) (?:and|to|-) (?:\$ )?(?P<b>\d+(?:\.\d+)?)(?: (?P<usd>dollars|usd))?\b",
    )
    .expect("valid regex")
});

/// "Which channel had the most signups" asks for one group; "which channels" for several.
pub(crate) fn is_singular_question(normalized: &str) -> bool {
    normalized.starts_with("who ")
        || normalized.contains(" the most ")
        || normalized.contains(" the highest ")
        || normalized.contains(" the lowest ")
        || normalized.contains(" the least ")
        || normalized.contains(" the fewest ")
}

/// Verbs, units and connectives of questions that carry no filter or measure of their own.
#[rustfmt::skip]
pub(crate) const GRAMMAR_WORDS: &[&str] = &[
    "signed", "went", "go", "goes", "used", "use", "using", "had", "has", "came", "opened", "open", "created", "new",
    "split", "breakdown", "than", "versus", "chart", "table", "graph", "plot", "line", "bar", "pie", "show", "them",
    "they", "their", "one", "ones", "per", "was", "were", "happen", "happened", "so", "far", "since", "until", "up",
    "received", "got", "come", "month", "week", "day", "year", "quarter", "take", "takes", "took", "taking", "started",
    "start", "starts", "assigned", "comes", "become", "became", "booked", "book", "billed", "cite", "cites", "citing",
    "sitting", "sit", "trended", "contribute", "contributes", "contributed", "through", "because", "kind", "kinds",
    "type", "types", "fast", "long", "single", "common", "frequent", "don't", "doesn't", "haven't", "didn't", "isn't",
    "aren't", "weren't", "wasn't", "mix", "number", "numbers", "average", "looked", "happening", "trending", "break",
    "cut", "sliced", "slice", "against", "compare", "vs", "out", "off", "based", "end", "ended", "ending", "running",
    "ran", "run", "active", "any", "anyone", "anybody", "folks", "guys", "stand", "stands", "stood", "doing", "pull",
    "pulled", "rank", "list", "add", "adding", "recent", "latest", "newest", "earliest", "oldest", "issue", "issued", "issuing", "send", "sent", "sends", "sending", "gets",
    "getting", "filed", "file", "files", "filing", "raised", "raise", "submitted", "submit", "receive", "receives",
    "last", "lasted", "lasts", "wait", "waited", "waiting",
    "chronological", "chronologically", "hours", "minutes", "hour", "minute", "days", "weeks", "months", "years", "quarters",
];

/// Words the planner understands as grammar rather than content.
pub(crate) fn is_known_word(word: &str) -> bool {
    is_stopword(word)
        || AGG_WORDS.iter().any(|(w, _)| *w == word)
        || DESC_WORDS.contains(&word)
        || ASC_WORDS.contains(&word)
        || RANK_WORDS.contains(&word)
        || SHARE_WORDS.contains(&word)
        || NEGATION_WORDS.contains(&word)
        || word.chars().all(|c| c.is_ascii_digit() || c == '.')
        || GRAMMAR_WORDS.contains(&word)
        || MONEY_VERBS.contains(&word)
}

/// Verbs of paying: "how much did they pay us" asks for money.
pub(crate) const MONEY_VERBS: &[&str] = &[
    "pay",
    "paid",
    "pays",
    "paying",
    "make",
    "made",
    "earn",
    "earned",
    "bring",
    "brought",
    "spend",
    "spent",
    "spending",
    "bill",
    "billed",
    "collect",
    "collected",
    "generate",
    "generated",
    "bring in",
];

/// Words of conversation around a question ("I'm putting together the board deck", "our CFO
/// keeps asking", "obviously"): they name nothing in any data, so a reading that ignores
/// them answers the same question. Words that could name data (nouns of a business) are not
/// here: an unknown one of those lowers confidence instead.
#[rustfmt::skip]
pub(crate) const FILLER_WORDS: &[&str] = &[
    // Contractions and pronouns.
    "i'm", "im", "i've", "i'd", "i'll", "we're", "we've", "we'd", "we'll", "you're", "you've", "they're", "they've",
    "it's", "that's", "there's", "here's", "let's", "lets", "who's", "where's", "how's", "can't", "won't",
    "someone", "somebody", "something", "anything", "everything", "everyone", "everybody", "myself", "ourselves",
    "yourself", "he", "she", "him", "her", "his", "hers", "mine", "ours", "yours", "whom", "whose",
    // Requests and conversation.
    "hey", "hi", "hello", "thanks", "thank", "thx", "pls", "plz", "kindly", "ok", "okay", "sure", "quick", "quickly",
    "asap", "wondering", "wonder", "curious", "trying", "try", "tried", "pull", "grab", "fetch", "check", "compute",
    "calculate", "calculated", "figure", "tell", "ask", "asking", "asked", "asks", "keeps", "keep", "kept", "help",
    "wants", "wanted", "needs", "needed", "care", "interested", "mind", "remind", "confirm", "verify", "double",
    "sanity", "putting", "put", "prepare", "preparing", "prep", "working", "work", "build", "building", "write",
    "writing", "update", "updating", "review", "reviewing", "debating", "debate", "deciding", "decide", "thinking",
    "think", "guess", "assume", "suppose", "say", "saying", "said", "mean", "means", "meant", "hoping", "hope",
    "going", "gonna", "wanna", "gotta", "able", "possible", "quite", "pretty", "really", "actually", "basically",
    "literally", "honestly", "obviously", "clearly", "simply", "definitely", "probably", "maybe", "perhaps",
    "anyway", "anyways", "though", "however", "also", "further", "furthermore", "additionally", "specifically",
    "particular", "particularly", "especially", "generally", "overall", "whole", "entire", "entirely", "together",
    "along", "among", "amongst", "across", "around", "via", "regarding", "re", "whether", "if", "worth",
    "context", "background", "fyi", "btw", "fwiw", "imo", "tldr", "etc", "e.g", "i.e", "eg", "ie", "ones", "stuff",
    "things", "thing", "bit", "lot", "lots", "bunch", "few", "several", "some", "very", "super", "much", "more",
    "again", "please", "now", "soon", "right", "exact", "exactly", "precise", "approx", "approximate", "rough",
    "ballpark", "give", "gives", "giving", "given", "look", "looks", "see", "know", "knowing", "understand",
    "handled", "handle", "handles", "deal", "dealt", "push", "harder", "happen", "happens",
    // People and occasions around a question.
    "boss", "manager", "team", "teams", "cfo", "ceo", "cto", "coo", "cmo", "vp", "exec", "execs", "leadership",
    "board", "deck", "slide", "slides", "meeting", "standup", "sync", "presentation", "investor", "investors",
    "all-hands", "hands", "offsite", "okr", "okrs", "planning", "retro", "memo", "email", "doc", "wiki", "dashboard",
    "marketing", "finance-team", "org", "department", "colleague", "colleagues", "stakeholders",
];

/// Whether a word is conversation around the question rather than part of it.
pub(crate) fn is_filler(word: &str) -> bool {
    FILLER_WORDS.contains(&word)
}

/// Common written abbreviations, read as the word they stand for before anything else
/// ("w /" and "b / w" are what normalization leaves of "w/" and "b/w"). Those of time
/// ("qtr", "yr") are read by [`crate::time::extract_time`] itself.
pub(crate) const ABBREVIATIONS: &[(&str, &str)] = &[
    ("w / o", "without"),
    ("w /", "with"),
    ("b / w", "between"),
    ("ppl", "people"),
    ("num", "number"),
    ("nbr", "number"),
    ("cnt", "count"),
    ("amt", "amount"),
    ("avg", "average"),
    ("hrs", "hours"),
    ("hr", "hours"),
    ("mins", "minutes"),
    ("pct", "percent"),
    ("perc", "percent"),
    ("btwn", "between"),
    ("thru", "through"),
    ("rev", "revenue"),
    ("conv", "conversion"),
    ("prio", "priority"),
    ("cust", "customers"),
    ("custs", "customers"),
    ("acct", "account"),
    ("accts", "accounts"),
    ("usr", "user"),
    ("usrs", "users"),
    ("tix", "tickets"),
    ("wich", "which"),
    ("whats", "what is"),
];

/// `normalized` with [`ABBREVIATIONS`] spelled out (whole words only).
pub(crate) fn expand_abbreviations(normalized: &str) -> String {
    let mut text = format!(" {normalized} ");
    for (short, long) in ABBREVIATIONS {
        let pattern = format!(" {short} ");
        while let Some(at) = text.find(&pattern) {
            text.replace_range(at..at + pattern.len(), &format!(" {long} "));
        }
    }
    // "ios + android": a plus between words is "and"; after a number ("1000+") it is a bound.
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let after_number = i > 0 && words[i - 1].chars().next().is_some_and(|c| c.is_ascii_digit());
        let before_word = words.get(i + 1).is_some_and(|w| w.chars().next().is_some_and(char::is_alphabetic));
        out.push(if *word == "+" && !after_number && before_word { "and" } else { word });
    }
    out.join(" ")
}
