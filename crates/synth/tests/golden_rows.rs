//! Golden SQL of the row reading on a layer shaped like an inferred starter layer (tables with
//! entity synonyms, column kinds and labels, one dimension with values, foreign-key joins):
//! listing, lookups, ordering, arg-max and arg-min, several aggregates, counts per group, the
//! group with the most rows, count conditions, year filters, quoted and introduced values; and
//! the questions it must leave alone.

use quarry_semantic::SemanticLayer;
use quarry_synth::{PlanOutcome, SemanticPlanner};

const LAYER: &str = r#"
name: music
tables:
- name: artists
  primary_key: [artist_id]
  synonyms: [artist, artists]
  label: name
  columns:
  - {name: artist_id, kind: number}
  - {name: name, kind: text}
  - {name: country, kind: text}
  - {name: age, kind: number}
  - {name: debut_year, kind: number, synonyms: [debut year]}
- name: albums
  primary_key: [album_id]
  synonyms: [album, albums]
  label: title
  columns:
  - {name: album_id, kind: number}
  - {name: artist_id, kind: number}
  - {name: title, kind: text}
  - {name: genre, kind: text}
  - {name: year, kind: number}
  - {name: sales, kind: number}
  - {name: record_label_code, kind: text}
  - {name: bpm, kind: number}
- name: venues
  primary_key: [venue_id]
  synonyms: [venue, venues]
  label: name
  columns:
  - {name: venue_id, kind: number}
  - {name: name, kind: text}
  - {name: city, kind: text}
  - {name: capacity, kind: number}
  - {name: average, kind: number, description: average attendance}
  - {name: venue_code, kind: text}
  - {name: foundyear, kind: number}
- name: drivers
  primary_key: [driver_id]
  synonyms: [driver, drivers]
  label: name
  columns:
  - {name: driver_id, kind: number}
  - {name: name, kind: text}
  - {name: birth_date, kind: number, synonyms: [birth date]}
  - {name: cylinders, kind: number}
  - {name: speed, kind: number}
- name: pets
  primary_key: [pet_id]
  synonyms: [pet, pets]
  columns:
  - {name: pet_id, kind: number}
  - {name: pettype, kind: text}
  - {name: pet_age, kind: number}
  - {name: weight, kind: number}
joins:
- {from: albums.artist_id, to: artists.artist_id}
metrics:
- {name: artists_count, label: Number of artists, table: artists, expression: COUNT(*), format: count, synonyms: [artists, artist]}
- {name: albums_count, label: Number of albums, table: albums, expression: COUNT(*), format: count, synonyms: [albums, album]}
- {name: venues_count, label: Number of venues, table: venues, expression: COUNT(*), format: count, synonyms: [venues, venue]}
- {name: pets_count, label: Number of pets, table: pets, expression: COUNT(*), format: count, synonyms: [pets, pet]}
dimensions:
- name: artist_country
  label: Country
  column: artists.country
  synonyms: [country]
  values:
  - {value: France}
  - {value: Japan}
"#;

fn render(questions: &[&str]) -> String {
    let layer = SemanticLayer::from_yaml_str(LAYER, "music.yaml").expect("layer");
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).expect("date");
    let planner = SemanticPlanner::new(layer, as_of, "snap-rows");
    let mut out = String::new();
    for question in questions {
        out.push_str(&format!("Q: {question}\n"));
        match planner.plan(question, None) {
            PlanOutcome::Sql(plan) => {
                out.push_str(&format!("{}\n", plan.sql));
                // quarry asks back below its threshold (0.8 by default) rather than answer.
                if plan.confidence < 0.8 {
                    out.push_str("-- confidence below 0.8: asked back, not answered\n");
                }
            }
            PlanOutcome::Clarify { question, .. } => out.push_str(&format!("CLARIFY: {question}\n")),
            PlanOutcome::CannotAnswer { .. } => out.push_str("CANNOT ANSWER\n"),
        }
        out.push('\n');
    }
    out
}

#[test]
fn lists_lookups_and_orderings() {
    insta::assert_snapshot!(render(&[
        "List the names and ages of all artists ordered by age in descending order.",
        "What are the titles of albums from France sorted alphabetically?",
        "Show the different countries of artists older than 30.",
        "What is the city of the venue named 'Blue Note'?",
        "List the titles of albums whose genre contains the word 'rock'.",
        "Which venue has the largest capacity?",
        "What is the name of the youngest artist?",
        "Show the title and sales of the 3 albums with the highest sales.",
        "List the names of venues with a capacity of more than 1000.",
        "What is the city of the venue named Blue Note?",
    ]));
}

#[test]
fn aggregates_groups_and_counts() {
    insta::assert_snapshot!(render(&[
        "What is the average, minimum and maximum age of artists from Japan?",
        // A column called `average` does not take the aggregate's word.
        "What is the average and maximum capacity of venues?",
        "How many albums were released in each year?",
        "Which year has the most albums?",
        "What is the most common genre of albums?",
        "Show all genres and the number of albums for each.",
        "What is the genre with the greatest number of albums?",
        "Show the genres that have at least 2 albums.",
        "How many different genres are there?",
        "How many albums came out in 2019 or 2020?",
        "How many artists below age 30 are there?",
        "What are the titles of albums released before 2000?",
    ]));
}

#[test]
fn keys_of_other_tables_and_longer_column_names() {
    insta::assert_snapshot!(render(&[
        // The key the albums hold of their artist, counted per artist.
        "What are the ids of artists that have 2 or more albums?",
        // The names asked for are the artists', joined, not the albums' counted.
        "What are the names and ids of artists that have 2 or more albums?",
        // The rows counted per row of the table they hold a key of.
        "Return the id of the artist with the fewest albums.",
        "What is the name of the artist who has released the most albums?",
        // The words before "codes" that are part of the column's name.
        "List the titles and record label codes of all albums.",
        "Show the names of artists from either France or Japan.",
        // A quoted value right after the entity: its label, or its code when written as one.
        "What is the capacity of venue 'Blue Note'?",
        "Which city does venue 'BN1' belong to?",
        // A name abbreviated into one word, asked in full.
        "What is the founding year of the venue with the largest capacity?",
        // A column named by the initials of the words, restated in brackets.
        "What is the average beats per minute (bpm) of albums released in 2019?",
        // The participle of a column's noun.
        "List the names of artists aged 30 or 31.",
        // Names of rows whose table calls its label a title.
        "What are the names of albums released in 2019?",
        "Show the names of artists who are not from Japan.",
        // Two values of one text column joined by "or".
        "List the names of venues in the city of Paris or the city of Lyon.",
        // A capitalized name no phrase took: a row's label.
        "Which country is Adele from?",
        "What is Adele's age?",
        "List the artist names in reversed lexicographical order.",
    ]));
}

#[test]
fn directions_groupings_by_distinct_values_and_years() {
    insta::assert_snapshot!(render(&[
        // A direction through all the rows, not a pick of the oldest one.
        "Show the name and age of all artists ordered by age from the oldest to the youngest.",
        "List the names of artists from the youngest to the oldest.",
        // "different" after "for" groups; it counts nothing.
        "What is the maximum speed for different number of cylinders?",
        "What is the maximum speed for all the different cylinders?",
        "How many different cylinders are there?",
        // With no age, the oldest is the earliest born.
        "What is the name of the oldest driver?",
        "Who is the youngest driver?",
        // The word "year" before the years the time phrase took.
        "How many albums were released in year 2019 or 2020?",
        "How many albums came out in years of 2019 or 2020?",
        // The entity naming whose column follows: one column, its distinct values.
        "How many different venue cities are there?",
        "Sort artist names by their age in ascending order.",
    ]));
}

#[test]
fn several_aggregates_comparatives_and_groups_after_a_table() {
    insta::assert_snapshot!(render(&[
        // Several aggregates of the base table's own `pet_age`, not the artists' `age`.
        "What is the average and maximum age for each pet type?",
        "Find the average and maximum age for each type of pet.",
        // A grouping after the table named is read, not dropped.
        "Find the average weight for each pet type.",
        // Comparatives, and their negations.
        "Find the number of pets whose weight is heavier than 10.",
        "What is the id and weight of every pet who is older than 1?",
        "What is the average sales of albums whose bpm is not higher than 120?",
        "List the titles of albums with sales no less than 5000.",
        // Grammar between the aggregates and their column.
        "What are the maximum and minimum values of capacity?",
        // A value listed and grouped by once.
        "Show different countries of artists and the number of artists of each country.",
    ]));
}

#[test]
fn counts_that_leave_part_of_the_question_out_are_not_answered() {
    insta::assert_snapshot!(render(&[
        // A grouping by another table that the count does not read.
        "How many albums are there in each venue? List the venue name and the count.",
        // Words of the layer a bare count of rows leaves unused.
        "What is the best label code of albums across all artists?",
        // The distinct values of the column it is grouped by: 1 in every group.
        "Show the number of distinct genres of albums by genre.",
    ]));
}

#[test]
fn questions_the_row_reading_leaves_alone() {
    insta::assert_snapshot!(render(&[
        // A word that names nothing: no answer rather than one without it.
        "List the names of artists who are famous.",
        // Two conditions joined by "or" are not both required.
        "List the albums with more than 1000 sales or released in 2019.",
        // An anti-join the reading cannot express.
        "Which artists do not have any album?",
        // A place asked for, with no column to say which.
        "Where is the youngest artist from?",
        // Conditions no one row can meet: values shared by two sets of rows.
        "Show the genres of albums released before 1990 and after 2000.",
        // A capitalized word before a table describes it; it is no name.
        "What is the average age of Icelandic artists?",
        // A time range the measure cannot take is not dropped silently.
        "What is the total capacity of venues in 2019?",
    ]));
}
