//! `quarry snapshot create --from postgres://…`: the concert_singer database copied into a
//! PostgreSQL schema of its own (with psql) and its SQLite file answer the same questions the
//! same way. Runs when `TEST_POSTGRES_URL` is set; fails without it when `REQUIRE_POSTGRES=1`.
mod common;
mod postgres_schema;

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::array_value_to_string;
use postgres_schema::{TestSchema, psql, server_url};
use quarry_snapshot::import::{ImportOptions, ImportedData, load};
use serde_json::Value;

use common::quarry;

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(column: &dyn Array, row: usize) -> String {
    if column.is_null(row) {
        return "NULL".into();
    }
    match column.data_type() {
        DataType::Utf8 => format!("'{}'", column.as_string::<i32>().value(row).replace('\'', "''")),
        DataType::Int64 | DataType::Float64 | DataType::Boolean => array_value_to_string(column, row).unwrap(),
        t => panic!("no literal for {t} in this test"),
    }
}

/// SQL that creates the tables of an imported SQLite database in `schema` under their SQLite
/// names, with the types the SQLite import chose, the same rows and the same keys.
fn copy_sql(schema: &str, data: &ImportedData) -> String {
    let source_of = |table: &str| quoted(&data.report.table(table).expect("report").source);
    let column_source = |table: &str, column: &str| {
        quoted(&data.report.table(table).and_then(|t| t.column(column)).expect("column").source)
    };
    let mut sql = String::new();
    for table in &data.tables {
        let mut columns: Vec<String> = table
            .schema
            .fields()
            .iter()
            .map(|f| {
                let pg_type = match f.data_type() {
                    DataType::Int64 => "integer",
                    DataType::Float64 => "double precision",
                    DataType::Boolean => "boolean",
                    DataType::Utf8 => "text",
                    t => panic!("no PostgreSQL type for {t} in this test"),
                };
                format!("{} {pg_type}", column_source(&table.name, f.name()))
            })
            .collect();
        if !table.primary_key.is_empty() {
            let key: Vec<String> = table.primary_key.iter().map(|c| column_source(&table.name, c)).collect();
            columns.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        sql.push_str(&format!("CREATE TABLE {schema}.{} ({});\n", source_of(&table.name), columns.join(", ")));
        for batch in &table.batches {
            for row in 0..batch.num_rows() {
                let values: Vec<String> = batch.columns().iter().map(|c| literal(c, row)).collect();
                sql.push_str(&format!(
                    "INSERT INTO {schema}.{} VALUES ({});\n",
                    source_of(&table.name),
                    values.join(", ")
                ));
            }
        }
    }
    for table in &data.tables {
        for key in &table.foreign_keys {
            let columns: Vec<String> = key.columns.iter().map(|c| column_source(&table.name, c)).collect();
            let ref_columns: Vec<String> = key.ref_columns.iter().map(|c| column_source(&key.ref_table, c)).collect();
            sql.push_str(&format!(
                "ALTER TABLE {schema}.{} ADD FOREIGN KEY ({}) REFERENCES {schema}.{} ({});\n",
                source_of(&table.name),
                columns.join(", "),
                source_of(&key.ref_table),
                ref_columns.join(", ")
            ));
        }
    }
    sql
}

/// Runs `quarry snapshot create` with `args` in `home` and returns the new snapshot's id.
fn create(home: &Path, args: &[&str]) -> String {
    let output = quarry().env("QUARRY_HOME", home).args(["snapshot", "create"]).args(args).assert().success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).expect("utf-8");
    let line = stdout.lines().find(|l| l.starts_with("snapshot snap-")).unwrap_or_else(|| panic!("{stdout}"));
    line.split_whitespace().nth(1).expect("id").to_string()
}

fn ask(home: &Path, id: &str, question: &str) -> Value {
    let output =
        quarry().env("QUARRY_HOME", home).args(["ask", "--snapshot", id, "--json", question]).output().unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{question}: {e}\n{}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn a_postgres_copy_answers_as_the_sqlite_file_does() {
    let Some(url) = server_url("PostgreSQL import") else { return };
    let database = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/spider-mini/database/concert_singer/concert_singer.sqlite");
    let data = load(&database, &ImportOptions::default()).expect("the SQLite import");
    let schema = TestSchema { url: url.clone(), name: format!("quarry_cli_import_{}", std::process::id()) };
    psql(
        &url,
        &format!(
            "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0};\n{1}",
            schema.name,
            copy_sql(&schema.name, &data)
        ),
    );

    let home = tempfile::tempdir().unwrap();
    let as_of = data.as_of.to_string();
    let from_sqlite = create(home.path(), &["--from", database.to_str().unwrap(), "--as-of", &as_of]);
    let from_postgres = create(home.path(), &["--from", &url, "--schema", &schema.name, "--as-of", &as_of]);
    assert_ne!(from_sqlite, from_postgres);

    // The starter layer found the same joins in both (from the foreign keys).
    let layer =
        |id: &str| std::fs::read_to_string(home.path().join("snapshots").join(id).join("semantic.yaml")).unwrap();
    let joins = |yaml: &str| {
        let block = yaml.lines().skip_while(|l| *l != "joins:").skip(1);
        let mut joins: Vec<String> = block
            .take_while(|l| l.starts_with(['-', ' ']))
            .map(|l| l.trim_start_matches(['-', ' ']).to_string())
            .collect();
        joins.sort();
        joins
    };
    assert!(joins(&layer(&from_postgres)).len() >= 3, "{}", layer(&from_postgres));
    assert_eq!(joins(&layer(&from_postgres)), joins(&layer(&from_sqlite)));

    for question in [
        "how many singers are there",
        "how many concerts are there",
        "number of singers by country",
        "what is the maximum capacity of stadiums",
        "how many concerts in each year",
        // A join, through the foreign key read from the catalog.
        "concerts by stadium name",
    ] {
        let (sqlite, postgres) = (ask(home.path(), &from_sqlite, question), ask(home.path(), &from_postgres, question));
        assert_eq!(sqlite["status"], "answered", "{question}: {sqlite}");
        assert_eq!(postgres["status"], "answered", "{question}: {postgres}");
        let rows = |answer: &Value| {
            let mut rows: Vec<String> =
                answer["rows"].as_array().unwrap_or(&Vec::new()).iter().map(Value::to_string).collect();
            rows.sort();
            rows
        };
        assert!(!rows(&sqlite).is_empty(), "{question}: {sqlite}");
        assert_eq!(rows(&postgres), rows(&sqlite), "{question}: {postgres} vs {sqlite}");
        if question == "how many singers are there" {
            assert_eq!(postgres["rows"], serde_json::json!([[6]]), "{postgres}");
        }
    }

    // A clear error for an unknown table, and nothing installed by it.
    let before = std::fs::read_dir(home.path().join("snapshots")).unwrap().count();
    let output = quarry()
        .env("QUARRY_HOME", home.path())
        .args(["snapshot", "create", "--from", &url, "--schema", &schema.name, "--tables", "singer,nope"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    assert!(stderr.contains("no table nope in schema"), "{stderr}");
    assert_eq!(std::fs::read_dir(home.path().join("snapshots")).unwrap().count(), before);
}
