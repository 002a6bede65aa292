//! Import from a real PostgreSQL, run when `TEST_POSTGRES_URL` is set (and failing without it
//! when `REQUIRE_POSTGRES=1`), each test in a schema of its own that is dropped afterwards:
//! Spider databases copied into Postgres import as their SQLite files do (tables, rows, types,
//! keys), every documented type mapping, the `--tables` filter, and clear errors that leave
//! nothing in the snapshot store.
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::arrow::util::display::array_value_to_string;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use quarry_snapshot::import::postgres::{PostgresSource, import_into as import_postgres};
use quarry_snapshot::import::{ImportOptions, ImportedData, import_into, load};
use quarry_snapshot::{Error, ForeignKey, Manifest, SnapshotStore};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// The server to test against; `None` (the test is skipped) when `TEST_POSTGRES_URL` is unset,
/// unless `REQUIRE_POSTGRES=1`.
fn server_url() -> Option<String> {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        }
        Err(_) => {
            eprintln!("skipped: set TEST_POSTGRES_URL to run the PostgreSQL import tests");
            None
        }
    }
}

/// A schema of its own for one test, dropped (with everything in it) when the test ends,
/// whether it passed or not.
struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    async fn create(url: &str, tag: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("quarry_import_{tag}_{}_{}", std::process::id(), nanos % 1_000_000_000);
        let mut conn = PgConnection::connect(url).await.expect("TEST_POSTGRES_URL should be reachable");
        execute(&mut conn, &format!("CREATE SCHEMA {name}")).await;
        Self { url: url.to_string(), name }
    }

    async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.expect("connect")
    }

    fn source(&self) -> PostgresSource {
        PostgresSource { url: self.url.clone(), schema: self.name.clone(), tables: Vec::new() }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
                let mut conn = PgConnection::connect(&url).await?;
                sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"))).execute(&mut conn).await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("could not drop schema {}: {dropped:?}", self.name);
        }
    }
}

async fn execute(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn spider(database: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../fixtures/spider-mini/database/{database}/{database}.sqlite"))
}

/// Creates the tables of an imported SQLite database in `schema` under their SQLite names
/// (quoted, so mixed case stays), each column with the PostgreSQL type of the Arrow type the
/// SQLite import chose (integers that fit as `integer`), with the same rows, primary keys and
/// foreign keys.
async fn copy_to_postgres(conn: &mut PgConnection, schema: &str, data: &ImportedData) {
    let source_of = |table: &str| data.report.table(table).expect("report").source.clone();
    let column_source = |table: &str, column: &str| {
        data.report.table(table).and_then(|t| t.column(column)).expect("column report").source.clone()
    };
    for table in &data.tables {
        let mut columns = Vec::new();
        for (i, field) in table.schema.fields().iter().enumerate() {
            let fits_i32 = table.batches.iter().all(|b| {
                b.column(i)
                    .as_primitive_opt::<Int64Type>()
                    .is_none_or(|a| a.iter().flatten().all(|v| i32::try_from(v).is_ok()))
            });
            let pg_type = match field.data_type() {
                DataType::Int64 if fits_i32 => "integer",
                DataType::Int64 => "bigint",
                DataType::Float64 => "double precision",
                DataType::Boolean => "boolean",
                DataType::Utf8 => "text",
                DataType::Date32 => "date",
                t if *t == TIMESTAMP => "timestamp",
                t => panic!("no PostgreSQL type for {t} in this test"),
            };
            columns.push(format!("{} {pg_type}", quoted(&column_source(&table.name, field.name()))));
        }
        if !table.primary_key.is_empty() {
            let key: Vec<String> = table.primary_key.iter().map(|c| quoted(&column_source(&table.name, c))).collect();
            columns.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        let name = format!("{schema}.{}", quoted(&source_of(&table.name)));
        execute(conn, &format!("CREATE TABLE {name} ({})", columns.join(", "))).await;

        let width = table.schema.fields().len();
        let placeholders: Vec<String> = table
            .schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| match f.data_type() {
                DataType::Date32 => format!("${}::date", i + 1),
                t if *t == TIMESTAMP => format!("${}::timestamp", i + 1),
                _ => format!("${}", i + 1),
            })
            .collect();
        let insert = format!("INSERT INTO {name} VALUES ({})", placeholders.join(", "));
        for batch in &table.batches {
            for row in 0..batch.num_rows() {
                let mut query = sqlx::query(AssertSqlSafe(insert.clone()));
                for i in 0..width {
                    let column = batch.column(i);
                    let valid = column.is_valid(row);
                    query = match column.data_type() {
                        DataType::Int64 => query.bind(valid.then(|| column.as_primitive::<Int64Type>().value(row))),
                        DataType::Float64 => query.bind(valid.then(|| column.as_primitive::<Float64Type>().value(row))),
                        DataType::Boolean => query.bind(valid.then(|| column.as_boolean().value(row))),
                        DataType::Utf8 => query.bind(valid.then(|| column.as_string::<i32>().value(row).to_string())),
                        _ => query.bind(valid.then(|| array_value_to_string(column, row).unwrap())),
                    };
                }
                query.execute(&mut *conn).await.unwrap_or_else(|e| panic!("{insert}: {e}"));
            }
        }
    }
    for table in &data.tables {
        for key in &table.foreign_keys {
            let columns: Vec<String> = key.columns.iter().map(|c| quoted(&column_source(&table.name, c))).collect();
            let ref_columns: Vec<String> =
                key.ref_columns.iter().map(|c| quoted(&column_source(&key.ref_table, c))).collect();
            let sql = format!(
                "ALTER TABLE {schema}.{} ADD FOREIGN KEY ({}) REFERENCES {schema}.{} ({})",
                quoted(&source_of(&table.name)),
                columns.join(", "),
                quoted(&source_of(&key.ref_table)),
                ref_columns.join(", ")
            );
            execute(conn, &sql).await;
        }
    }
}

/// Every row of a snapshot table, each value as Arrow displays it, sorted.
fn sorted_rows(dir: &Path, table: &str) -> Vec<Vec<String>> {
    let batch = read_table(dir, table);
    let mut rows: Vec<Vec<String>> = (0..batch.num_rows())
        .map(|r| batch.columns().iter().map(|c| array_value_to_string(c, r).unwrap()).collect())
        .collect();
    rows.sort();
    rows
}

fn read_table(dir: &Path, table: &str) -> RecordBatch {
    let file = std::fs::File::open(dir.join(format!("{table}.parquet"))).expect("table file");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    concat_batches(&schema, &batches).unwrap()
}

fn sorted_keys(keys: &[ForeignKey]) -> Vec<ForeignKey> {
    let mut keys = keys.to_vec();
    keys.sort_by(|a, b| (&a.ref_table, &a.columns).cmp(&(&b.ref_table, &b.columns)));
    keys
}

/// The two snapshots hold the same tables, columns, types, keys and rows.
fn assert_same_snapshot(sqlite: (&Path, &Manifest), postgres: (&Path, &Manifest)) {
    let names = |m: &Manifest| m.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(postgres.1), names(sqlite.1));
    for (p, s) in postgres.1.tables.iter().zip(&sqlite.1.tables) {
        assert_eq!(p.rows, s.rows, "row count of {}", s.name);
        assert_eq!(p.columns, s.columns, "columns and types of {}", s.name);
        assert_eq!(p.primary_key, s.primary_key, "primary key of {}", s.name);
        assert_eq!(sorted_keys(&p.foreign_keys), sorted_keys(&s.foreign_keys), "foreign keys of {}", s.name);
        assert_eq!(sorted_rows(postgres.0, &p.name), sorted_rows(sqlite.0, &s.name), "rows of {}", s.name);
    }
    assert_eq!(postgres.1.as_of, sqlite.1.as_of);
}

#[tokio::test]
async fn spider_databases_copied_into_postgres_import_as_their_sqlite_files_do() {
    let Some(url) = server_url() else { return };
    for database in ["concert_singer", "pets_1"] {
        let path = spider(database);
        let data = load(&path, &ImportOptions::default()).expect("the SQLite import");
        let schema = TestSchema::create(&url, database).await;
        copy_to_postgres(&mut schema.connect().await, &schema.name, &data).await;

        let options = ImportOptions { as_of: Some(data.as_of) };
        let dirs = tempfile::tempdir().unwrap();
        let (sqlite_dir, postgres_dir) = (dirs.path().join("sqlite"), dirs.path().join("postgres"));
        let (sqlite, _) = import_into(&sqlite_dir, &path, &options).expect("SQLite import");
        let started = std::time::Instant::now();
        let (postgres, report) = import_postgres(&postgres_dir, &schema.source(), &options).await.expect("import");
        eprintln!("{database}: {} rows from PostgreSQL in {:?}", postgres.total_rows(), started.elapsed());
        assert_same_snapshot((&sqlite_dir, &sqlite), (&postgres_dir, &postgres));
        assert!(!sqlite.tables.iter().all(|t| t.foreign_keys.is_empty()), "{database} has foreign keys to compare");
        assert_eq!(report.tables.len(), sqlite.tables.len());
        // Mixed-case PostgreSQL names are lower-cased as SQLite's are, and said so.
        if database == "concert_singer" {
            assert!(report.notes.iter().any(|n| n.contains("`Singer_ID` -> singer_id")), "{:#?}", report.notes);
            assert_eq!(
                postgres.table("singer_in_concert").unwrap().primary_key,
                vec!["concert_id".to_string(), "singer_id".to_string()]
            );
        }
        // Importing the same data again gives the same snapshot.
        let again_dir = dirs.path().join("again");
        let (again, _) = import_postgres(&again_dir, &schema.source(), &options).await.expect("import again");
        assert_eq!(again.id, postgres.id);
    }
}

#[tokio::test]
async fn every_type_maps_as_documented_with_nulls_and_time_zones() {
    let Some(url) = server_url() else { return };
    let schema = TestSchema::create(&url, "types").await;
    let s = &schema.name;
    let mut conn = schema.connect().await;
    // The session's zone must not matter: timestamptz values are imported in UTC.
    execute(&mut conn, "SET TimeZone = 'America/New_York'").await;
    execute(
        &mut conn,
        &format!(
            "CREATE TYPE {s}.mood AS ENUM ('sad', 'happy');
             CREATE DOMAIN {s}.positive AS integer CHECK (VALUE > 0);
             CREATE TABLE {s}.everything (
                 id serial PRIMARY KEY, small smallint, big bigint, positive {s}.positive,
                 amount numeric(12,2), whole numeric(10,0), free numeric, r real, d double precision, flag boolean,
                 t text, v varchar(20), c char(5), n name, day date, at timestamp, at_tz timestamptz,
                 u uuid, doc json, docb jsonb, raw bytea, tags text[], mood {s}.mood, span interval);
             INSERT INTO {s}.everything (small, big, positive, amount, whole, free, r, d, flag, t, v, c, n, day, at,
                                          at_tz, u, doc, docb, raw, tags, mood, span)
             VALUES (-2, 9007199254740993, 7, 1234.56, 42, 0.125, 0.1, 2.5, true, 'text', 'varchar', 'ab', 'nm',
                     '2024-02-29', '2024-03-01 12:34:56.789', '2024-03-01 12:00:00+02',
                     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{\"k\": [1, 2]}}', '{{\"k\": 1}}', '\\xdeadbeef',
                     ARRAY['x', 'y'], 'happy', '1 day 02:00:00');
             INSERT INTO {s}.everything (whole) VALUES (NULL);
             INSERT INTO {s}.everything (whole, day, at, at_tz) VALUES ('NaN', 'infinity', '-infinity', 'infinity');
             CREATE TABLE {s}.series AS SELECT g AS id, g * 0.5 AS half, md5(g::text) AS label
                 FROM generate_series(1, 20000) g;
             ALTER TABLE {s}.series ADD PRIMARY KEY (id);
             CREATE TABLE {s}.base (id int);
             CREATE TABLE {s}.derived (extra text) INHERITS ({s}.base);
             INSERT INTO {s}.base VALUES (1);
             INSERT INTO {s}.derived VALUES (2, 'x'), (3, 'y');
             CREATE TABLE {s}.parted (id int, k int) PARTITION BY RANGE (k);
             CREATE TABLE {s}.parted_low PARTITION OF {s}.parted FOR VALUES FROM (0) TO (10);
             CREATE TABLE {s}.parted_high PARTITION OF {s}.parted FOR VALUES FROM (10) TO (20);
             INSERT INTO {s}.parted VALUES (1, 1), (2, 12), (3, 15);"
        ),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let (manifest, report) =
        import_postgres(dir.path(), &schema.source(), &ImportOptions::default()).await.expect("import");
    // The latest finite date or timestamp, from the rows streamed in.
    assert_eq!(manifest.as_of, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());

    let expected = [
        ("id", DataType::Int64),
        ("small", DataType::Int64),
        ("big", DataType::Int64),
        ("positive", DataType::Int64),
        ("amount", DataType::Float64),
        ("whole", DataType::Int64),
        ("free", DataType::Float64),
        ("r", DataType::Float64),
        ("d", DataType::Float64),
        ("flag", DataType::Boolean),
        ("t", DataType::Utf8),
        ("v", DataType::Utf8),
        ("c", DataType::Utf8),
        ("n", DataType::Utf8),
        ("day", DataType::Date32),
        ("at", TIMESTAMP),
        ("at_tz", TIMESTAMP),
        ("u", DataType::Utf8),
        ("doc", DataType::Utf8),
        ("docb", DataType::Utf8),
        ("raw", DataType::Utf8),
        ("tags", DataType::Utf8),
        ("mood", DataType::Utf8),
        ("span", DataType::Utf8),
    ];
    let table = report.table("everything").expect("everything");
    let types: Vec<(&str, DataType)> = table.columns.iter().map(|c| (c.name.as_str(), c.data_type.clone())).collect();
    assert_eq!(types, expected.iter().map(|(n, t)| (*n, t.clone())).collect::<Vec<_>>());
    assert_eq!(manifest.table("everything").unwrap().primary_key, vec!["id".to_string()]);

    // What was coerced is said, column by column.
    let note = |column: &str| {
        let prefix = format!("everything.{column} (declared ");
        report
            .notes
            .iter()
            .find(|n| n.starts_with(&prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no note on {column}: {:#?}", report.notes))
    };
    assert!(note("amount").contains("numeric(12,2)): Float64; read as Float64"), "{}", note("amount"));
    assert!(note("free").contains("rounded"));
    assert!(note("at_tz").contains("converted to UTC"));
    assert!(note("u").contains("uuid kept as text"));
    assert!(note("docb").contains("jsonb kept as text"));
    assert!(note("raw").contains("hexadecimal"));
    assert!(note("tags").contains("array text[]"));
    assert!(note("mood").contains("enum"));
    assert!(note("span").contains("interval has no Arrow counterpart"));
    assert!(note("day").contains("1 infinite or out-of-range values read as NULL"));
    assert!(note("at").contains("1 infinite"));
    assert!(report.notes.iter().all(|n| !n.starts_with("everything.small ") && !n.starts_with("everything.t ")));

    let batch = read_table(dir.path(), "everything");
    assert_eq!(batch.num_rows(), 3);
    let column = |name: &str| batch.column(batch.schema().index_of(name).unwrap()).clone();
    let text = |name: &str, row: usize| column(name).as_string::<i32>().value(row).to_string();
    assert_eq!(column("small").as_primitive::<Int64Type>().value(0), -2);
    assert_eq!(column("big").as_primitive::<Int64Type>().value(0), 9_007_199_254_740_993);
    assert_eq!(column("positive").as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(column("amount").as_primitive::<Float64Type>().value(0), 1234.56);
    assert_eq!(column("whole").as_primitive::<Int64Type>().value(0), 42);
    assert_eq!(column("free").as_primitive::<Float64Type>().value(0), 0.125);
    assert_eq!(column("r").as_primitive::<Float64Type>().value(0), 0.1);
    assert_eq!(column("d").as_primitive::<Float64Type>().value(0), 2.5);
    assert!(column("flag").as_boolean().value(0));
    assert_eq!(text("t", 0), "text");
    assert_eq!(text("v", 0), "varchar");
    assert_eq!(text("c", 0), "ab");
    assert_eq!(text("n", 0), "nm");
    let days =
        (NaiveDate::from_ymd_opt(2024, 2, 29).unwrap() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days();
    assert_eq!(i64::from(column("day").as_primitive::<Date32Type>().value(0)), days);
    let micros = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap().and_utc().timestamp_micros()
    };
    assert_eq!(column("at").as_primitive::<TimestampMicrosecondType>().value(0), micros("2024-03-01 12:34:56.789"));
    assert_eq!(column("at_tz").as_primitive::<TimestampMicrosecondType>().value(0), micros("2024-03-01 10:00:00"));
    assert_eq!(text("u", 0), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(text("doc", 0), "{\"k\": [1, 2]}");
    assert_eq!(text("docb", 0), "{\"k\": 1}");
    assert_eq!(text("raw", 0), "deadbeef");
    assert_eq!(text("tags", 0), "{x,y}");
    assert_eq!(text("mood", 0), "happy");
    assert_eq!(text("span", 0), "1 day 02:00:00");
    // The second row is NULL everywhere but its key; the third holds NaN and infinities.
    for (i, field) in batch.schema().fields().iter().enumerate().skip(1) {
        assert!(batch.column(i).is_null(1), "{} of the NULL row", field.name());
    }
    for name in ["whole", "day", "at", "at_tz"] {
        assert!(column(name).is_null(2), "{name} of the NaN/infinity row");
    }

    // Inheritance: a parent without its children's rows; partitions: read as one table.
    let rows = |table: &str| manifest.table(table).map(|t| t.rows);
    assert_eq!((rows("base"), rows("derived"), rows("parted")), (Some(1), Some(2), Some(3)));
    assert_eq!((rows("parted_low"), rows("parted_high")), (None, None));

    // 20,000 rows arrive over several batches, in primary key order.
    let series = read_table(dir.path(), "series");
    assert_eq!(manifest.table("series").unwrap().rows, 20_000);
    let ids = series.column(0).as_primitive::<Int64Type>();
    assert!(ids.values().iter().copied().eq(1..=20_000), "rows are in primary key order");
    assert_eq!(series.schema().field(1).data_type(), &DataType::Float64);
    assert_eq!(series.column(1).as_primitive::<Float64Type>().value(19_999), 10_000.0);
}

#[tokio::test]
async fn the_tables_filter_imports_only_those_tables_and_drops_keys_to_the_others() {
    let Some(url) = server_url() else { return };
    let data = load(&spider("concert_singer"), &ImportOptions::default()).expect("the SQLite import");
    let schema = TestSchema::create(&url, "filter").await;
    copy_to_postgres(&mut schema.connect().await, &schema.name, &data).await;
    execute(&mut schema.connect().await, &format!("CREATE VIEW {}.singer_names AS SELECT 1 AS x", schema.name)).await;

    // Everything: the view is skipped with a note.
    let dir = tempfile::tempdir().unwrap();
    let (all, report) = import_postgres(dir.path(), &schema.source(), &ImportOptions::default()).await.unwrap();
    assert_eq!(all.tables.len(), 4);
    assert!(report.notes.contains(&"skipped view singer_names: only tables are imported".to_string()));

    // Two tables, one named in another case.
    let mut source = schema.source();
    source.tables = vec!["singer".into(), "Singer_In_Concert".into()];
    let dir = tempfile::tempdir().unwrap();
    let (manifest, report) = import_postgres(dir.path(), &source, &ImportOptions::default()).await.unwrap();
    let names: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["singer", "singer_in_concert"]);
    let kept = &manifest.table("singer_in_concert").unwrap().foreign_keys;
    assert_eq!(
        kept,
        &[ForeignKey {
            columns: vec!["singer_id".into()],
            ref_table: "singer".into(),
            ref_columns: vec!["singer_id".into()]
        }]
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("dropped foreign key singer_in_concert(concert_ID) -> concert(concert_ID)")
                && n.ends_with("is not imported")),
        "{:#?}",
        report.notes
    );
    assert_eq!(manifest.table("singer").unwrap().rows, 6);
}

fn reason(result: Result<(Manifest, quarry_snapshot::import::ImportReport), Error>) -> String {
    match result {
        Err(Error::Postgres { url, reason }) => {
            assert!(!url.contains("hunter2"), "the password is not shown: {url}");
            reason
        }
        Err(other) => panic!("expected a PostgreSQL error, got {other}"),
        Ok((manifest, _)) => panic!("expected an error, got snapshot {}", manifest.id),
    }
}

#[tokio::test]
async fn errors_are_clear_and_leave_nothing_in_the_store() {
    let Some(url) = server_url() else { return };
    let schema = TestSchema::create(&url, "errors").await;
    execute(
        &mut schema.connect().await,
        &format!(
            "CREATE TABLE {s}.a_first (id int PRIMARY KEY); INSERT INTO {s}.a_first VALUES (1), (2);
             CREATE TABLE {s}.b_locked (id int PRIMARY KEY);",
            s = schema.name
        ),
    )
    .await;
    let options = ImportOptions::default();
    let with = |edit: &dyn Fn(&mut url::Url)| {
        let mut parsed = url::Url::parse(&url).unwrap();
        edit(&mut parsed);
        PostgresSource { url: parsed.to_string(), ..schema.source() }
    };
    let scratch = tempfile::tempdir().unwrap();
    let dir = |name: &str| scratch.path().join(name);

    let unreachable = with(&|u| {
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(1)).unwrap();
    });
    let message = reason(import_postgres(&dir("1"), &unreachable, &options).await);
    assert!(message.contains("cannot reach the server at 127.0.0.1:1"), "{message}");

    let stranger = with(&|u| {
        u.set_username("quarry_no_such_user").unwrap();
        u.set_password(Some("hunter2")).unwrap();
    });
    let message = reason(import_postgres(&dir("2"), &stranger, &options).await);
    assert!(message.contains("refused user quarry_no_such_user"), "{message}");
    assert!(message.contains("check the user name and password"), "{message}");

    let no_database = with(&|u| u.set_path("/quarry_no_such_database"));
    let message = reason(import_postgres(&dir("3"), &no_database, &options).await);
    assert!(message.contains("database \"quarry_no_such_database\" does not exist"), "{message}");

    let no_schema = PostgresSource { schema: "quarry_no_such_schema".into(), ..schema.source() };
    let message = reason(import_postgres(&dir("4"), &no_schema, &options).await);
    assert!(message.contains("schema quarry_no_such_schema does not exist"), "{message}");
    assert!(message.contains(&schema.name), "the schemas that exist are listed: {message}");

    let no_table = PostgresSource { tables: vec!["a_first".into(), "nope".into()], ..schema.source() };
    let message = reason(import_postgres(&dir("5"), &no_table, &options).await);
    assert_eq!(message, format!("no table nope in schema {}; its tables are: a_first, b_locked", schema.name));

    let bad_url = PostgresSource { url: "postgres://quarry:hunter2@localhost:notaport/db".into(), ..schema.source() };
    let message = reason(import_postgres(&dir("6"), &bad_url, &options).await);
    assert!(message.contains("not a valid PostgreSQL URL"), "{message}");

    // A failure after the first table was written: b_locked is locked by another session and
    // the import gives up waiting, which must leave nothing in the store.
    let mut locker = schema.connect().await;
    execute(&mut locker, &format!("BEGIN; LOCK TABLE {}.b_locked IN ACCESS EXCLUSIVE MODE", schema.name)).await;
    let impatient = with(&|u| {
        u.query_pairs_mut().append_pair("options[lock_timeout]", "300");
    });
    let store = SnapshotStore::new(scratch.path().join("store"));
    let failed = store
        .install_async(|dir| async move {
            let result = import_postgres(&dir, &impatient, &options).await;
            assert!(dir.join("a_first.parquet").is_file() || result.is_ok(), "the first table was written");
            result
        })
        .await;
    let message = match failed {
        Err(Error::Postgres { reason, .. }) => reason,
        other => panic!("expected a lock timeout, got {other:?}"),
    };
    assert!(message.contains("reading table") && message.contains("b_locked"), "{message}");
    assert!(message.contains("lock timeout"), "{message}");
    let left: Vec<_> = std::fs::read_dir(store.root()).unwrap().collect();
    assert!(left.is_empty(), "nothing is left in the store: {left:?}");
    execute(&mut locker, "ROLLBACK").await;

    // With the lock gone the same import succeeds and installs.
    let source = schema.source();
    let (snapshot, _) = store
        .install_async(|dir| async move { import_postgres(&dir, &source, &ImportOptions::default()).await })
        .await
        .expect("import");
    assert_eq!(snapshot.manifest.total_rows(), 2);
    assert_eq!(store.list().unwrap().len(), 1);
}

/// `VmHWM` (peak resident memory) or `VmRSS` of this process, in MiB.
fn memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kib.unwrap_or(0.0) / 1024.0
}

/// The throughput figure: two million rows of seven columns, streamed in. Run it with
/// `cargo test --release -p quarry-snapshot --test import_postgres -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a benchmark: two million rows"]
async fn a_large_table_streams_in_bounded_memory() {
    let Some(url) = server_url() else { return };
    let schema = TestSchema::create(&url, "large").await;
    execute(
        &mut schema.connect().await,
        &format!(
            "CREATE TABLE {s}.events AS SELECT g::bigint AS id, (g % 1000)::int AS user_id,
                 (g * 0.37)::numeric(12,2) AS amount, timestamptz '2024-01-01' + g * interval '7 seconds' AS at,
                 md5(g::text) AS label, (g % 3 = 0) AS flag, date '2024-01-01' + (g % 365) AS day
             FROM generate_series(1, 2000000) g;
             ALTER TABLE {s}.events ADD PRIMARY KEY (id);",
            s = schema.name
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let before = memory_mib("VmRSS:");
    let started = std::time::Instant::now();
    let (manifest, _) = import_postgres(dir.path(), &schema.source(), &ImportOptions::default()).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let rows = manifest.total_rows();
    assert_eq!(rows, 2_000_000);
    eprintln!(
        "{rows} rows in {seconds:.1} s ({:.0} rows/s), {:.1} MB of Parquet; resident memory {before:.0} MiB before, \
         peak {:.0} MiB",
        rows as f64 / seconds,
        manifest.total_bytes() as f64 / 1e6,
        memory_mib("VmHWM:")
    );
}
