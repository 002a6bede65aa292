//! The starter layer: a first semantic layer inferred from a snapshot's schemas and data,
//! written at import so that a planner can answer questions before anyone edits it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use quarry_snapshot::Snapshot;

use crate::error::{Error, Result};
use crate::layer::{
    ColumnDef, ColumnKind, Dimension, DimensionValue, JoinDef, Metric, MetricFormat, SemanticLayer, TableDef,
    TimeConventions,
};
use crate::validate::snapshot_schemas;

/// Distinct values tracked per column; beyond this a column is "many-valued" and its values
/// are not kept (containment checks for inferred joins need the full set below it).
const DISTINCT_CAP: usize = 10_000;
/// Rows read per table to profile it: enough for value lists, bounded for large imports.
const PROFILE_ROWS: usize = 2_000_000;
/// A text column with at most this many distinct values becomes a dimension with values.
const DIMENSION_MAX_VALUES: usize = 100;
/// Values longer than this are free text, not something people name in a question.
const MAX_VALUE_CHARS: usize = 60;

/// Writes a first semantic layer for a snapshot of a user's own data, inferred from its
/// schemas and its data:
///
/// - every table, with an entity name and its singular and plural forms as synonyms, and a
///   row-count metric labelled for it ("Number of singers"), timed by its first date or
///   timestamp column that is not a birth date;
/// - every column, with synonyms from splitting its identifier (snake_case, CamelCase) and
///   expanding abbreviations (`num_employees` is "number of employees");
/// - a dimension for each low- or medium-cardinality text or boolean column, listing its
///   distinct values with accent-free and humanized forms as value synonyms (the table's
///   label column, its name or title, is left out: see below);
/// - joins from declared foreign keys and from columns whose name, type and values match
///   another table's single-column key, always from the "many" side to the "one" side;
/// - personal-data flags on columns that look like emails, phone numbers, person names,
///   street addresses, national ids or birth dates, when `flag_personal` is set.
///
/// The result is deterministic for the same snapshot.
pub fn starter_layer(snapshot: &Snapshot, name: &str, flag_personal: bool) -> Result<SemanticLayer> {
    let schemas = snapshot_schemas(snapshot)?;
    let manifest = &snapshot.manifest;
    let mut profiles = BTreeMap::new();
    for (table, schema) in &schemas {
        profiles.insert(table.clone(), profile_table(snapshot, table, schema)?);
    }
    // Declared keys, else (CSV and Parquet declare none) a unique `id` or `<entity>_id` column.
    let keys = |table: &str| {
        let declared = manifest.table(table).map(|e| e.primary_key.clone()).unwrap_or_default();
        if !declared.is_empty() {
            return declared;
        }
        let mut own = split_identifier(&Entity::of(table).singular.replace(' ', "_"));
        own.push("id".into());
        profiles[table]
            .iter()
            .find(|c| {
                let words = split_identifier(&c.name);
                c.unique() && (words == ["id"] || words == own)
            })
            .map(|c| vec![c.name.clone()])
            .unwrap_or_default()
    };

    let mut tables = Vec::new();
    let mut metrics = Vec::new();
    let mut dimensions = Vec::new();
    let mut metric_names = BTreeSet::new();
    let mut dimension_names = BTreeSet::new();
    // Words naming tables and columns: a stored value that is one of them would make every
    // question that names the column filter on that value.
    let schema_words: BTreeSet<String> = schemas
        .iter()
        .flat_map(|(t, s)| {
            std::iter::once(humanize(t))
                .chain(s.fields().iter().flat_map(|f| [humanize(f.name()), f.name().to_lowercase()]))
        })
        .collect();
    let declared_from: BTreeSet<(String, String)> = manifest
        .tables
        .iter()
        .flat_map(|e| {
            e.foreign_keys.iter().flat_map(move |fk| fk.columns.iter().map(move |c| (e.name.clone(), c.clone())))
        })
        .collect();

    // The last word of every table's entity: a kindred noun that names another table is not
    // a synonym ("stores" where `shop` and `store` are both tables).
    let entity_nouns: BTreeSet<String> =
        schemas.iter().filter_map(|(t, _)| Entity::of(t).singular.rsplit(' ').next().map(str::to_string)).collect();

    for (table_name, schema) in &schemas {
        let profile = &profiles[table_name];
        let primary_key = keys(table_name);
        let entity = Entity::of(table_name);
        let personal = |column: &str| flag_personal && looks_personal(column);
        let is_key = |column: &str| {
            primary_key.iter().any(|k| k == column)
                || declared_from.contains(&(table_name.clone(), column.to_string()))
                || is_key_name(column)
        };

        // The label column ("which singer") is kept out of the category dimensions. It is not
        // written as a dimension of its own: with the built-in planner, a label dimension
        // turned listing and arg-max questions into confident group-by counts (Spider dev:
        // +30 answers right but +20 wrong, precision 75% against 83% without). It is the
        // table's label instead, which listing questions show.
        let label = label_column(profile, &entity, &|c| personal(c) || looks_personal(c) || is_key(c));
        tables.push(TableDef {
            name: table_name.clone(),
            description: String::new(),
            primary_key: primary_key.clone(),
            synonyms: dedup(entity.synonyms(table_name).into_iter().chain(entity.kindred(&entity_nouns))),
            columns: schema
                .fields()
                .iter()
                .map(|f| ColumnDef {
                    name: f.name().clone(),
                    description: String::new(),
                    personal: personal(f.name()),
                    synonyms: identifier_synonyms(f.name()),
                    kind: Some(ColumnKind::of(f.data_type())),
                })
                .collect(),
            label: label.map(|l| l.name.clone()),
        });

        let time_column = profile
            .iter()
            .find(|c| is_temporal(&c.data_type) && !personal(&c.name) && !looks_personal(&c.name))
            .map(|c| c.name.clone());
        metrics.push(Metric {
            // Not the table's own name: a metric and a table named alike make the planner
            // take words near the entity as understood and leave them out of the query.
            name: unique(&mut metric_names, &format!("{table_name}_count")),
            label: format!("Number of {}", entity.plural),
            description: format!("Rows of {table_name}: {} counted.", entity.plural),
            table: table_name.clone(),
            expression: "COUNT(*)".into(),
            filter: None,
            time_column,
            format: MetricFormat::Count,
            synonyms: dedup([entity.plural.clone(), format!("count of {}", entity.plural), entity.singular.clone()]),
        });

        for column in profile {
            if label.is_some_and(|l| l.name == column.name)
                || personal(&column.name)
                || looks_personal(&column.name)
                || is_key(&column.name)
            {
                continue;
            }
            let boolean = column.data_type == DataType::Boolean;
            let categorical = is_text(&column.data_type)
                && column.distinct.as_ref().is_some_and(|values| {
                    let n = values.len();
                    n > 0
                        && n <= DIMENSION_MAX_VALUES
                        && (n as f64) <= 0.7 * column.non_null as f64
                        && values.iter().map(|v| v.chars().count()).sum::<usize>() <= n * MAX_VALUE_CHARS
                });
            if !boolean && !categorical {
                continue;
            }
            let words = humanize(&column.name);
            dimensions.push(Dimension {
                name: unique(&mut dimension_names, &format!("{}_{}", snake(&entity.singular), snake(&words))),
                label: capitalize(&words),
                column: format!("{table_name}.{}", column.name),
                also: Vec::new(),
                synonyms: dedup(std::iter::once(words.clone()).chain(identifier_synonyms(&column.name))),
                values: if boolean { Vec::new() } else { dimension_values(column, &schema_words) },
            });
        }
    }

    let mut joins = Vec::new();
    for entry in &manifest.tables {
        for fk in entry.foreign_keys.iter().filter(|fk| fk.columns.len() == 1 && fk.ref_columns.len() == 1) {
            let join = JoinDef {
                from: format!("{}.{}", entry.name, fk.columns[0]),
                to: format!("{}.{}", fk.ref_table, fk.ref_columns[0]),
            };
            // A "foreign key" to a column that repeats is many-to-many: joining on it
            // multiplies rows, so it is left out.
            let target_unique = profiles
                .get(&fk.ref_table)
                .and_then(|cols| cols.iter().find(|c| c.name == fk.ref_columns[0]))
                .is_none_or(|c| c.distinct.as_ref().is_none_or(|d| d.len() as u64 == c.non_null));
            if target_unique && !joins.contains(&join) {
                joins.push(join);
            }
        }
    }
    joins.extend(inferred_joins(&profiles, &keys, &joins));

    Ok(SemanticLayer {
        name: name.to_string(),
        description: format!(
            "Starter layer inferred by quarry from snapshot {}; check the personal flags, add descriptions, metrics and synonyms.",
            manifest.id
        ),
        time: TimeConventions::default(),
        tables,
        joins,
        metrics,
        dimensions,
        segments: Vec::new(),
        verified_queries: Vec::new(),
    })
}

/// What was read of one column.
#[derive(Debug, Clone)]
struct ColumnProfile {
    name: String,
    data_type: DataType,
    /// Rows read.
    rows: u64,
    /// Non-null, non-empty values read.
    non_null: u64,
    /// Distinct values (trimmed), or `None` beyond [`DISTINCT_CAP`].
    distinct: Option<BTreeSet<String>>,
}

impl ColumnProfile {
    /// Whether every value read is distinct and present: a candidate key.
    fn unique(&self) -> bool {
        self.distinct.as_ref().is_some_and(|d| d.len() as u64 == self.non_null && self.non_null == self.rows)
    }
}

/// Reads a table's Parquet file and profiles each scalar column.
fn profile_table(snapshot: &Snapshot, table: &str, schema: &SchemaRef) -> Result<Vec<ColumnProfile>> {
    let failed = |message: String| Error::Snapshot { table: table.to_string(), message };
    let path = snapshot.table_path(table).ok_or_else(|| failed("not in the manifest".into()))?;
    let file = File::open(&path).map_err(|e| failed(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(16 * 1024).build())
        .map_err(|e| failed(e.to_string()))?;
    let mut profiles: Vec<ColumnProfile> = schema
        .fields()
        .iter()
        .map(|f| ColumnProfile {
            name: f.name().clone(),
            data_type: f.data_type().clone(),
            rows: 0,
            non_null: 0,
            distinct: Some(BTreeSet::new()),
        })
        .collect();
    let mut read = 0;
    for batch in reader {
        let batch = batch.map_err(|e| failed(e.to_string()))?;
        for (column, profile) in batch.columns().iter().zip(profiles.iter_mut()) {
            profile.rows += column.len() as u64;
            if !is_scalar(&profile.data_type) {
                profile.distinct = None;
                continue;
            }
            let strings = cast(column, &DataType::Utf8).map_err(|e| failed(e.to_string()))?;
            for value in strings.as_string::<i32>().iter().flatten() {
                let value = value.trim();
                if value.is_empty() {
                    continue;
                }
                profile.non_null += 1;
                if let Some(set) = &mut profile.distinct
                    && !set.contains(value)
                {
                    set.insert(value.to_string());
                    if set.len() > DISTINCT_CAP {
                        profile.distinct = None;
                    }
                }
            }
        }
        read += batch.num_rows();
        if read >= PROFILE_ROWS {
            break;
        }
    }
    Ok(profiles)
}

/// The column that names a row ("which singer"): name- or title-like text, nearly unique.
fn label_column<'a>(
    profile: &'a [ColumnProfile],
    entity: &Entity,
    excluded: &dyn Fn(&str) -> bool,
) -> Option<&'a ColumnProfile> {
    let candidates: Vec<&ColumnProfile> = profile
        .iter()
        .filter(|c| {
            is_text(&c.data_type)
                && c.non_null > 0
                && !excluded(&c.name)
                && c.distinct.as_ref().is_none_or(|d| d.len() as f64 >= 0.8 * c.non_null as f64)
        })
        .collect();
    // A column called just "name" or "title", else the entity's own ("concert_name"): other
    // name-like columns ("manager_name", "first_name") name something else.
    let words = |c: &ColumnProfile| humanize(&c.name);
    candidates.iter().find(|c| matches!(words(c).as_str(), "name" | "title")).copied().or_else(|| {
        let singular = split_identifier(&entity.singular.replace(' ', "_"));
        candidates
            .iter()
            .find(|c| {
                let w = split_identifier(&c.name);
                w.len() == singular.len() + 1
                    && w[..singular.len()] == singular[..]
                    && matches!(w[singular.len()].as_str(), "name" | "title")
            })
            .copied()
    })
}

/// A dimension's values as stored, each with the accent-free and humanized forms people may
/// type; values that could not be named in a question (numbers, yes/no flags, one letter,
/// long text, words that name a table or column) are left out.
fn dimension_values(column: &ColumnProfile, schema_words: &BTreeSet<String>) -> Vec<DimensionValue> {
    let Some(values) = &column.distinct else { return Vec::new() };
    if values.len() > DIMENSION_MAX_VALUES {
        return Vec::new();
    }
    values
        .iter()
        .filter(|v| {
            let lower = collapse(&v.to_lowercase());
            lower.chars().filter(|c| c.is_alphabetic()).count() >= 2
                && v.chars().count() <= MAX_VALUE_CHARS
                && v.parse::<f64>().is_err()
                && !matches!(lower.as_str(), "yes" | "no" | "true" | "false" | "none" | "null" | "n/a" | "na" | "other")
                && !schema_words.contains(&lower)
        })
        .map(|v| {
            let stored = collapse(&v.to_lowercase());
            let synonyms = dedup(
                [strip_accents(&stored), humanize(v), strip_accents(&humanize(v))]
                    .into_iter()
                    .filter(|s| !s.is_empty() && *s != stored),
            );
            DimensionValue { value: v.clone(), synonyms }
        })
        .collect()
}

/// Joins the snapshot does not declare: a column whose name and type match another table's
/// single-column unique key (`singer_id` -> `singer.singer_id`, or `singer_id` ->
/// `singer.id`) and whose values all occur in that key. The key's side is the "one" side.
fn inferred_joins(
    profiles: &BTreeMap<String, Vec<ColumnProfile>>,
    keys: &dyn Fn(&str) -> Vec<String>,
    declared: &[JoinDef],
) -> Vec<JoinDef> {
    let mut joins = Vec::new();
    for (table, columns) in profiles {
        let own_key = keys(table);
        for column in columns {
            if own_key == [column.name.clone()] || declared.iter().any(|j| j.from == format!("{table}.{}", column.name))
            {
                continue;
            }
            let Some(values) = column.distinct.as_ref().filter(|v| !v.is_empty()) else { continue };
            let column_words = split_identifier(&column.name);
            let mut targets = Vec::new();
            for (other, other_columns) in profiles {
                let other_key = keys(other);
                if other == table || other_key.len() != 1 {
                    continue;
                }
                let Some(key) = other_columns.iter().find(|c| c.name == other_key[0]) else { continue };
                let key_words = split_identifier(&key.name);
                let entity_key = {
                    let mut words = split_identifier(&Entity::of(other).singular.replace(' ', "_"));
                    words.push("id".into());
                    words
                };
                let named = (column.name.eq_ignore_ascii_case(&key.name) && is_key_name(&key.name))
                    || (key_words == ["id"] && column_words == entity_key);
                let contained = key.unique()
                    && same_kind(&column.data_type, &key.data_type)
                    && key.distinct.as_ref().is_some_and(|k| values.is_subset(k));
                if named && contained {
                    targets.push(JoinDef {
                        from: format!("{table}.{}", column.name),
                        to: format!("{other}.{}", key.name),
                    });
                }
            }
            // Two tables keyed by the same name (a table and its one-to-one extension) leave
            // the column ambiguous: no join is better than a wrong one.
            if targets.len() == 1 {
                joins.extend(targets);
            }
        }
    }
    joins
}

/// The thing a table's rows are, in singular and plural.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entity {
    singular: String,
    plural: String,
}

impl Entity {
    fn of(table: &str) -> Self {
        let mut words = split_identifier(table);
        // `ref_template_types`, `dim_customer`: a modelling convention's prefix is no part of
        // what the rows are.
        if words.len() > 1 && matches!(words[0].as_str(), "ref" | "lu" | "lkp" | "lookup" | "dim" | "fact" | "tbl") {
            words.remove(0);
        }
        let (init, last) = match words.split_last() {
            Some((last, init)) => (init.join(" "), last.clone()),
            None => (String::new(), table.to_lowercase()),
        };
        let join = |w: String| if init.is_empty() { w } else { format!("{init} {w}") };
        let singular = singularize(&last);
        Entity { plural: join(pluralize(&singular)), singular: join(singular) }
    }

    /// The table's other names: its humanized and expanded forms, singular and plural.
    fn synonyms(&self, table: &str) -> Vec<String> {
        let raw = table.to_lowercase().replace('_', " ");
        dedup(
            [self.singular.clone(), self.plural.clone()]
                .into_iter()
                .chain(identifier_synonyms(table))
                .filter(|s| *s != raw),
        )
    }
}

/// Nouns that name the same kind of thing in questions about data, however the schema
/// calls it: "stores" for `shop`, "nations" for `country`.
const KINDRED_NOUNS: &[&[&str]] = &[
    &["shop", "store"],
    &["country", "nation"],
    &["film", "movie"],
    &["car", "automobile", "vehicle"],
    &["employee", "worker"],
    &["customer", "client"],
    &["student", "pupil"],
    &["teacher", "instructor"],
    &["song", "track"],
    &["city", "town"],
    &["company", "firm"],
    &["doctor", "physician"],
    &["photo", "picture"],
    &["airline", "carrier"],
    &["lecturer", "instructor"],
];

impl Entity {
    /// The entity named with kindred nouns ("stores" for shops), singular and plural, except
    /// nouns another table's entity is named by.
    fn kindred(&self, taken: &BTreeSet<String>) -> Vec<String> {
        let (init, last) = match self.singular.rsplit_once(' ') {
            Some((init, last)) => (format!("{init} "), last),
            None => (String::new(), self.singular.as_str()),
        };
        KINDRED_NOUNS
            .iter()
            .filter(|group| group.contains(&last))
            .flat_map(|group| group.iter().filter(|w| **w != last && !taken.contains(**w)))
            .flat_map(|w| [format!("{init}{w}"), format!("{init}{}", pluralize(w))])
            .collect()
    }
}

/// Other names of an identifier: split into words (`LifeExpectancy` is "life expectancy")
/// and with abbreviations expanded (`avg_age` is "average age"), where they differ from what
/// the name already reads as with underscores as spaces.
fn identifier_synonyms(identifier: &str) -> Vec<String> {
    let raw = identifier.to_lowercase().replace('_', " ");
    let split = humanize(identifier);
    let words = split_identifier(identifier);
    let expanded = expand_abbreviations(&words);
    // "net_worth_millions" is asked about as "net worth": the unit is not part of the name.
    let unit_free = match words.split_last() {
        Some((last, init)) if !init.is_empty() && is_unit(last) => expand_abbreviations(init),
        _ => String::new(),
    };
    dedup([split, expanded, unit_free].into_iter().filter(|s| !s.is_empty() && *s != raw))
}

/// Units that name columns' scales rather than what they measure.
fn is_unit(word: &str) -> bool {
    matches!(
        word,
        "millions"
            | "million"
            | "thousands"
            | "thousand"
            | "billions"
            | "billion"
            | "usd"
            | "eur"
            | "dollars"
            | "euros"
            | "pct"
            | "percent"
            | "percentage"
            | "kg"
            | "kgs"
            | "km"
            | "kms"
            | "cm"
            | "mm"
            | "mph"
            | "kmh"
            | "mins"
            | "minutes"
            | "hours"
            | "hrs"
            | "secs"
            | "seconds"
            | "days"
            | "lbs"
            | "m"
            | "k"
    )
}

/// Lower-case words of an identifier: split at `_`, `-`, spaces, and CamelCase and
/// letter-digit boundaries (`HTMLParser2` is `html parser 2`).
fn split_identifier(identifier: &str) -> Vec<String> {
    let chars: Vec<char> = identifier.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let boundary = prev.is_some_and(|p| {
            (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                || (p.is_alphabetic() && c.is_ascii_digit())
                || (p.is_ascii_digit() && c.is_alphabetic())
        });
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn humanize(identifier: &str) -> String {
    split_identifier(identifier).join(" ")
}

/// Expands common abbreviations of column and table names.
fn expand_abbreviations(words: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let more = i + 1 < words.len();
        match word.as_str() {
            // "num_employees" and "number_products" count employees and products
            // ("number of products"); a trailing "no" is a number ("flight_no").
            "num" | "nbr" | "no" | "cnt" | "number" if more && words[i + 1] != "of" => out.extend(["number", "of"]),
            "num" | "nbr" | "no" => out.push("number"),
            "cnt" => out.push("count"),
            "avg" => out.push("average"),
            "qty" => out.push("quantity"),
            "dept" => out.push("department"),
            "amt" => out.push("amount"),
            "pct" => out.push("percent"),
            "yr" => out.push("year"),
            "addr" => out.push("address"),
            "desc" => out.push("description"),
            "emp" => out.push("employee"),
            "mgr" => out.push("manager"),
            "dob" => out.extend(["date", "of", "birth"]),
            "id" => out.push("id"),
            other => out.push(other),
        }
    }
    out.join(" ")
}

fn singularize(word: &str) -> String {
    let irregular = [("people", "person"), ("children", "child"), ("men", "man"), ("women", "woman")];
    if let Some((_, s)) = irregular.iter().find(|(p, _)| *p == word) {
        return s.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies")
        && stem.len() >= 2
    {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes", "zes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_string();
        }
    }
    if word.len() > 3 && word.ends_with('s') && !["ss", "us", "is"].iter().any(|s| word.ends_with(s)) {
        return word[..word.len() - 1].to_string();
    }
    word.to_string()
}

fn pluralize(word: &str) -> String {
    let irregular = [("person", "people"), ("child", "children"), ("man", "men"), ("woman", "women")];
    if let Some((_, p)) = irregular.iter().find(|(s, _)| *s == word) {
        return p.to_string();
    }
    let vowel_before_y = word.len() >= 2 && "aeiou".contains(&word[word.len() - 2..word.len() - 1]);
    if word.ends_with('y') && !vowel_before_y {
        return format!("{}ies", &word[..word.len() - 1]);
    }
    if ["s", "x", "z", "ch", "sh"].iter().any(|s| word.ends_with(s)) {
        return format!("{word}es");
    }
    if word.is_empty() { String::new() } else { format!("{word}s") }
}

/// Whether a column name says it holds personal data: contact details, person names,
/// street addresses, national ids or birth dates.
fn looks_personal(column: &str) -> bool {
    let words = split_identifier(column);
    let has = |w: &str| words.iter().any(|x| x == w);
    let pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    let joined = words.concat();
    ["email", "mail", "phone", "telephone", "mobile", "cellphone", "fax", "ssn", "passport", "password", "surname"]
        .iter()
        .any(|w| has(w))
        || ["email", "phone", "firstname", "lastname", "fullname", "birthdate", "dateofbirth", "birthday"]
            .iter()
            .any(|w| joined.contains(w))
        || has("dob")
        || ["full", "first", "last", "middle", "given", "family", "maiden", "nick"].iter().any(|a| pair(a, "name"))
        || ["street", "home", "mailing", "postal", "billing", "shipping"].iter().any(|a| pair(a, "address"))
        || (has("address") && !has("ip"))
        || has("street")
        || (has("birth") && !has("place"))
        || ["national", "social", "tax"].iter().any(|a| has(a) && (has("id") || has("number") || has("security")))
}

/// Whether a column name reads like a key rather than a measure or category.
fn is_key_name(column: &str) -> bool {
    split_identifier(column).last().is_some_and(|w| matches!(w.as_str(), "id" | "key" | "pk" | "fk" | "uuid" | "guid"))
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

fn is_temporal(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64)
}

fn is_scalar(data_type: &DataType) -> bool {
    is_text(data_type) || is_temporal(data_type) || data_type.is_numeric() || *data_type == DataType::Boolean
}

/// Whether two key columns can hold the same values: both integers, or both text.
fn same_kind(a: &DataType, b: &DataType) -> bool {
    (a.is_integer() && b.is_integer()) || (is_text(a) && is_text(b))
}

fn snake(words: &str) -> String {
    let s: String = words.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let s = s.split('_').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("_");
    if s.is_empty() { "entity".into() } else { s }
}

fn capitalize(words: &str) -> String {
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Latin letters without their accents ("são paulo" is "sao paulo").
fn strip_accents(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let plain = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
            'ğ' => "g",
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
            'ł' | 'ľ' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
            'ř' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ß' => "ss",
            'ť' | 'ţ' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            'æ' => "ae",
            'œ' => "oe",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(plain);
    }
    out
}

/// Distinct strings in first-seen order.
fn dedup(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|s| !s.is_empty() && seen.insert(s.clone())).collect()
}

/// `base`, or `base_2`, `base_3`… when taken.
fn unique(taken: &mut BTreeSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use quarry_snapshot::import::{ImportOptions, import_into};

    use super::*;

    /// A snapshot imported from CSV files written into a temporary directory.
    fn snapshot(files: &[(&str, &str)]) -> (tempfile::TempDir, Snapshot) {
        let dir = tempfile::tempdir().expect("temp dir");
        let csv = dir.path().join("csv");
        std::fs::create_dir_all(&csv).expect("csv dir");
        for (name, text) in files {
            std::fs::write(csv.join(name), text).expect("write csv");
        }
        let out = dir.path().join("snap");
        std::fs::create_dir_all(&out).expect("snapshot dir");
        import_into(&out, &csv, &ImportOptions { as_of: None }).expect("import");
        let snapshot = Snapshot::open(Path::new(&out)).expect("open");
        (dir, snapshot)
    }

    fn fixture() -> (tempfile::TempDir, Snapshot) {
        let mut singers = String::from("singer_id,name,country,net_worth_millions,email,debut_year\n");
        let countries = ["France", "France", "United States", "Côte d'Ivoire", "France", "United States"];
        for (i, country) in countries.iter().enumerate() {
            singers.push_str(&format!("{},Singer {i},{country},{}.5,s{i}@example.com,{}\n", i + 1, i * 3, 1990 + i));
        }
        let mut songs = String::from("song_id,title,singer_id,sales,released\n");
        for i in 0..12 {
            songs.push_str(&format!("{},Song {i},{},{},2020-01-{:02}\n", i + 1, i % 6 + 1, i * 100, i + 1));
        }
        snapshot(&[("singers.csv", &singers), ("songs.csv", &songs)])
    }

    #[tokio::test]
    async fn the_inferred_layer_validates_and_is_deterministic() {
        let (_dir, snapshot) = fixture();
        let layer = starter_layer(&snapshot, "starter", true).expect("starter");
        layer.validate_against(&snapshot, "starter").await.expect("valid");
        assert_eq!(layer, starter_layer(&snapshot, "starter", true).expect("again"));
        let reloaded = SemanticLayer::from_yaml_str(&layer.to_yaml(), "starter.yaml").expect("round-trips");
        assert_eq!(reloaded, layer);
    }

    #[test]
    fn a_modelling_prefix_is_no_part_of_the_entity() {
        assert_eq!(Entity::of("ref_template_types").singular, "template type");
        assert_eq!(Entity::of("dim_customers").plural, "customers");
        // A prefix that is the whole name stays.
        assert_eq!(Entity::of("ref").singular, "ref");
    }

    #[test]
    fn entities_have_singular_and_plural_names_and_a_count_metric() {
        let (_dir, snapshot) = fixture();
        let layer = starter_layer(&snapshot, "starter", true).expect("starter");
        let singers = layer.table("singers").expect("table");
        assert!(singers.synonyms.contains(&"singer".to_string()), "{:?}", singers.synonyms);
        let metric = layer.metrics.iter().find(|m| m.table == "singers").expect("metric");
        assert_eq!(metric.label, "Number of singers");
        assert!(metric.synonyms.contains(&"count of singers".to_string()), "{:?}", metric.synonyms);
        assert_eq!(
            (Entity::of("countries").singular, Entity::of("country").plural),
            ("country".into(), "countries".into())
        );
    }

    #[test]
    fn low_cardinality_text_becomes_a_dimension_with_groundable_values() {
        let (_dir, snapshot) = fixture();
        let layer = starter_layer(&snapshot, "starter", true).expect("starter");
        let country = layer.dimensions.iter().find(|d| d.column == "singers.country").expect("country dimension");
        let values: Vec<&str> = country.values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(values, ["Côte d'Ivoire", "France", "United States"]);
        assert!(country.values[0].synonyms.contains(&"cote d'ivoire".to_string()), "{:?}", country.values[0]);
        // Nearly unique text (titles) and the label column are not category dimensions.
        assert!(!layer.dimensions.iter().any(|d| d.column == "songs.title" || d.column == "singers.name"));
    }

    #[test]
    fn the_label_column_is_the_name_or_the_entitys_own_name() {
        let (_dir, snapshot) = fixture();
        let profile = profile_table(&snapshot, "singers", &snapshot_schemas(&snapshot).unwrap()[0].1).unwrap();
        let label = label_column(&profile, &Entity::of("singers"), &|_| false).expect("label");
        assert_eq!(label.name, "name");
        let profile = profile_table(&snapshot, "songs", &snapshot_schemas(&snapshot).unwrap()[1].1).unwrap();
        assert_eq!(label_column(&profile, &Entity::of("songs"), &|_| false).expect("label").name, "title");
    }

    #[test]
    fn dates_time_the_metric_and_identifiers_give_synonyms() {
        let (_dir, snapshot) = fixture();
        let layer = starter_layer(&snapshot, "starter", true).expect("starter");
        let songs = layer.metrics.iter().find(|m| m.table == "songs").expect("metric");
        assert_eq!(songs.time_column.as_deref(), Some("released"));
        let worth = layer.table("singers").and_then(|t| t.column("net_worth_millions")).expect("column");
        assert!(worth.synonyms.contains(&"net worth".to_string()), "{:?}", worth.synonyms);
        assert_eq!(identifier_synonyms("LifeExpectancy"), ["life expectancy"]);
        assert_eq!(identifier_synonyms("num_employees"), ["number of employees"]);
        assert_eq!(identifier_synonyms("Number_products"), ["number of products"]);
        assert_eq!(identifier_synonyms("num_of_staff"), ["number of staff"]);
        assert_eq!(identifier_synonyms("AvgQty"), ["avg qty", "average quantity"]);
    }

    #[test]
    fn kindred_nouns_name_a_table_unless_another_table_has_them() {
        let none = BTreeSet::new();
        assert_eq!(Entity::of("shop").kindred(&none), ["store", "stores"]);
        assert_eq!(Entity::of("coffee_shop").kindred(&none), ["coffee store", "coffee stores"]);
        assert_eq!(Entity::of("country").kindred(&none), ["nation", "nations"]);
        let stores = BTreeSet::from(["store".to_string()]);
        assert!(Entity::of("shop").kindred(&stores).is_empty());
        assert!(Entity::of("singer").kindred(&none).is_empty());
    }

    #[test]
    fn inferred_joins_go_from_the_many_side_to_the_unique_key() {
        let (_dir, snapshot) = fixture();
        let layer = starter_layer(&snapshot, "starter", true).expect("starter");
        assert_eq!(
            layer.joins,
            [JoinDef { from: "songs.singer_id".into(), to: "singers.singer_id".into() }],
            "CSV declares no keys: the join comes from the name, the type and the values"
        );
    }

    #[test]
    fn personal_columns_are_flagged_only_when_asked() {
        let (_dir, snapshot) = fixture();
        let flagged = starter_layer(&snapshot, "starter", true).expect("starter");
        assert_eq!(flagged.personal_columns(), [("singers".to_string(), "email".to_string())]);
        assert!(starter_layer(&snapshot, "starter", false).expect("starter").personal_columns().is_empty());
        for name in ["email_address", "HomePhone", "first_name", "street_address", "date_of_birth", "national_id"] {
            assert!(looks_personal(name), "{name}");
        }
        for name in ["name", "country", "ip_address_count", "birth_place", "title"] {
            assert!(!looks_personal(name), "{name}");
        }
    }
}
