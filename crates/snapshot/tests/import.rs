//! Import of CSV/Parquet directories and SQLite databases: inferred types, coercion notes, keys, names, ids and errors.
use std::fs;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, Float32Array, Int32Array, StringArray};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Int64Type, Schema, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use quarry_snapshot::import::{ImportOptions, ImportedData, import_into, load};
use quarry_snapshot::{Error, ForeignKey, SnapshotSource, SnapshotStore, SourceDialect};
use rusqlite::Connection;

const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn days(y: i32, m: u32, d: u32) -> i32 {
    (date(y, m, d) - date(1970, 1, 1)).num_days() as i32
}

fn micros(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap().and_utc().timestamp_micros()
}

/// All rows of one column of an imported table.
fn column(data: &ImportedData, table: &str, column: &str) -> ArrayRef {
    let table = data.tables.iter().find(|t| t.name == table).unwrap_or_else(|| panic!("no table {table}"));
    let index = table.schema.index_of(column).unwrap_or_else(|_| panic!("no column {column} in {:?}", table.schema));
    let parts: Vec<&dyn Array> = table.batches.iter().map(|b| b.column(index).as_ref()).collect();
    concat(&parts).unwrap()
}

fn data_type(data: &ImportedData, table: &str, column: &str) -> DataType {
    data.report.table(table).unwrap().column(column).unwrap().data_type.clone()
}

fn note_for<'a>(data: &'a ImportedData, prefix: &str) -> &'a str {
    data.report
        .notes
        .iter()
        .find(|n| n.starts_with(prefix))
        .unwrap_or_else(|| panic!("no note starting {prefix:?} in {:#?}", data.report.notes))
}

fn write_orders_csv(dir: &Path) {
    fs::write(
        dir.join("orders.csv"),
        "id,amount,placed_on,placed_at,paid,note,code,empty\n\
         1,12.5,2024-01-03,2024-01-03 10:15:00,true,first,007,\n\
         2,,2024-02-10,2024-02-10T08:00:00,false,\"with, comma\",010,\n\
         3,7,2024-03-01,2024-03-01 23:59:59.5,TRUE,NULL,123,\n\
         4,NULL,,,,,,\n",
    )
    .unwrap();
}

#[test]
fn csv_directory_infers_types_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    write_orders_csv(dir.path());
    fs::write(dir.path().join("README.txt"), "not data").unwrap();
    fs::create_dir(dir.path().join("archive")).unwrap();

    let data = load(dir.path(), &ImportOptions::default()).unwrap();
    assert!(matches!(data.source, SnapshotSource::Files { .. }));
    assert_eq!(data.dialect, SourceDialect::Csv);
    let orders = data.report.table("orders").unwrap();
    assert_eq!(orders.source, "orders.csv");
    assert_eq!(orders.rows, 4);
    let types: Vec<(&str, &DataType)> = orders.columns.iter().map(|c| (c.name.as_str(), &c.data_type)).collect();
    assert_eq!(
        types,
        [
            ("id", &DataType::Int64),
            ("amount", &DataType::Float64),
            ("placed_on", &DataType::Date32),
            ("placed_at", &TIMESTAMP),
            ("paid", &DataType::Boolean),
            ("note", &DataType::Utf8),
            ("code", &DataType::Utf8),
            ("empty", &DataType::Utf8),
        ]
    );
    assert!(orders.columns.iter().all(|c| c.declared.is_none()), "CSV types are inferred");

    let amount = column(&data, "orders", "amount");
    let amount = amount.as_primitive::<Float64Type>();
    assert_eq!((amount.value(0), amount.value(2)), (12.5, 7.0));
    assert!(amount.is_null(1) && amount.is_null(3));
    assert_eq!(orders.column("amount").unwrap().nulled, 1, "the 'NULL' string, not the empty field");
    assert!(note_for(&data, "orders.amount: Float64").contains("'NULL'"));
    let placed_on = column(&data, "orders", "placed_on");
    assert_eq!(placed_on.as_primitive::<Date32Type>().value(2), days(2024, 3, 1));
    let placed_at = column(&data, "orders", "placed_at");
    let placed_at = placed_at.as_primitive::<TimestampMicrosecondType>();
    assert_eq!(placed_at.value(1), micros("2024-02-10 08:00:00"));
    assert_eq!(placed_at.value(2), micros("2024-03-01 23:59:59.5"));
    let note = column(&data, "orders", "note");
    let note = note.as_string::<i32>();
    assert_eq!(note.value(1), "with, comma");
    assert_eq!(note.value(2), "NULL", "text columns keep null-like strings");
    assert!(note.is_null(3));
    assert!(note_for(&data, "orders.code: Utf8").contains("'007'"));
    assert!(note_for(&data, "orders.empty: Utf8").contains("no values"));

    assert!(data.report.notes.iter().any(|n| n == "skipped README.txt: only .csv and .parquet files are imported"));
    assert!(data.report.notes.iter().any(|n| n.starts_with("skipped directory archive")));
    assert_eq!(data.as_of, date(2024, 3, 1));
    assert!(note_for(&data, "as_of 2024-03-01").contains("orders.placed_"));

    let shown = data.report.to_string();
    assert!(shown.contains("orders (from orders.csv): 4 rows"), "{shown}");
    assert!(shown.contains("  placed_at Timestamp(µs) (inferred)"), "{shown}");
    assert!(shown.contains("  paid Boolean (inferred)"), "{shown}");
}

#[test]
fn csv_offsets_are_converted_to_utc_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("events.csv"), "at\n2024-05-01T12:00:00+02:00\n2024-05-01T12:00:00Z\n").unwrap();
    let data = load(dir.path(), &ImportOptions::default()).unwrap();
    let at = column(&data, "events", "at");
    let at = at.as_primitive::<TimestampMicrosecondType>();
    assert_eq!((at.value(0), at.value(1)), (micros("2024-05-01 10:00:00"), micros("2024-05-01 12:00:00")));
    assert!(note_for(&data, "events.at: Timestamp(µs)").contains("converted to UTC: 1"));
}

#[test]
fn csv_bad_rows_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.csv"), "a,b\n1,2\n3,4,5\n").unwrap();
    let err = load(dir.path(), &ImportOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Import { .. }), "{err:?}");
    assert!(text.contains("bad.csv") && text.contains("line 3") && text.contains("expected 2 got 3"), "{text}");

    fs::write(dir.path().join("bad.csv"), b"a,b\n1,\xff\xfe\n").unwrap();
    let text = load(dir.path(), &ImportOptions::default()).unwrap_err().to_string();
    assert!(text.contains("bad.csv") && text.contains("line 2") && text.contains("UTF-8"), "{text}");

    fs::write(dir.path().join("bad.csv"), "").unwrap();
    let text = load(dir.path(), &ImportOptions::default()).unwrap_err().to_string();
    assert!(text.contains("bad.csv") && text.contains("header row"), "{text}");
}

#[test]
fn parquet_import_keeps_types_and_normalizes_names() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("Customer ID", DataType::Int32, false),
        Field::new("Signup Date", DataType::Date32, true),
        Field::new("Score", DataType::Float32, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int32Array::from(vec![1, 2, 3])),
            Arc::new(Date32Array::from(vec![Some(days(2023, 1, 1)), None, Some(days(2023, 6, 30))])),
            Arc::new(Float32Array::from(vec![Some(1.5), Some(2.0), None])),
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
        ],
    )
    .unwrap();
    let file = fs::File::create(dir.path().join("Customers.parquet")).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let data = load(dir.path(), &ImportOptions::default()).unwrap();
    let table = &data.tables[0];
    assert_eq!(table.name, "customers");
    let fields: Vec<(&str, &DataType, bool)> =
        table.schema.fields().iter().map(|f| (f.name().as_str(), f.data_type(), f.is_nullable())).collect();
    assert_eq!(
        fields,
        [
            ("customer_id", &DataType::Int32, false),
            ("signup_date", &DataType::Date32, true),
            ("score", &DataType::Float32, true),
            ("name", &DataType::Utf8, true),
        ]
    );
    let ids = column(&data, "customers", "customer_id");
    assert_eq!(ids.as_primitive::<datafusion::arrow::datatypes::Int32Type>().values(), &[1, 2, 3]);
    assert_eq!(data.report.table("customers").unwrap().rows, 3);
    assert!(data.report.notes.contains(&"file Customers.parquet -> table customers".to_string()));
    assert!(
        note_for(&data, "customers: columns renamed")
            .contains("`Customer ID` -> customer_id, `Signup Date` -> signup_date, `Score` -> score")
    );
    assert_eq!(data.as_of, date(2023, 6, 30));

    // A single Parquet file is a one-table import too.
    let single = load(&dir.path().join("Customers.parquet"), &ImportOptions::default()).unwrap();
    assert_eq!(single.tables.len(), 1);
    assert_eq!(single.tables[0].name, "customers");
}

/// A database whose columns hold what SQLite allows but a typed warehouse does not.
fn mixed_database(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        r#"
        CREATE TABLE "Customer Orders" (
            "Order ID" INTEGER PRIMARY KEY,
            qty INTEGER,
            price NUMERIC,
            label INTEGER,
            shipped BOOLEAN,
            flag BOOLEAN,
            ordered_on DATE,
            updated DATETIME,
            payload BLOB,
            mixed,
            "Home Town" TEXT
        );
        INSERT INTO "Customer Orders" VALUES (1, 5, 1, 10, 0, 'yes', '2023-05-01', '2023-05-02 10:00:00', x'00ff', 1, 'Oslo');
        INSERT INTO "Customer Orders" VALUES (2, 'null', 2.5, 'abc', 1, 'no', '2023-05-03', '', NULL, 'a', 'null');
        INSERT INTO "Customer Orders" VALUES (3, '', 'n/a', 30, NULL, NULL, NULL, '2023-06-01T08:30:00', x'01', x'41', NULL);
        INSERT INTO "Customer Orders" VALUES (4, NULL, 4, 40, 1, 'no', '2023-04-30', NULL, NULL, 2.5, 'Bergen');
        "#,
    )
    .unwrap();
}

#[test]
fn sqlite_mixed_columns_get_a_type_that_holds_them_and_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    mixed_database(&db);
    let data = load(&db, &ImportOptions::default()).unwrap();
    assert!(matches!(data.source, SnapshotSource::Sqlite { .. }));
    let t = "customer_orders";
    let report = data.report.table(t).unwrap();
    assert_eq!(report.source, "Customer Orders");
    assert_eq!(report.rows, 4);
    assert_eq!(report.column("qty").unwrap().declared.as_deref(), Some("INTEGER"));

    assert_eq!(data_type(&data, t, "qty"), DataType::Int64);
    let qty = column(&data, t, "qty");
    let qty = qty.as_primitive::<Int64Type>();
    assert_eq!(qty.value(0), 5);
    assert_eq!(qty.null_count(), 3);
    assert_eq!(report.column("qty").unwrap().nulled, 2);
    let note = note_for(&data, "customer_orders.qty (declared INTEGER): Int64");
    assert!(note.contains("empty or null-like values read as NULL: 2 (e.g. 'null')"), "{note}");

    assert_eq!(data_type(&data, t, "price"), DataType::Float64);
    let price = column(&data, t, "price");
    let price = price.as_primitive::<Float64Type>();
    assert_eq!((price.value(0), price.value(1), price.value(3)), (1.0, 2.5, 4.0));
    assert!(price.is_null(2));
    let note = note_for(&data, "customer_orders.price (declared NUMERIC): Float64");
    assert!(
        note.contains("integers stored as Float64: 2 (e.g. 1)") && note.contains("read as NULL: 1 (e.g. 'n/a')"),
        "{note}"
    );

    assert_eq!(data_type(&data, t, "label"), DataType::Utf8);
    let label = column(&data, t, "label");
    assert_eq!(label.as_string::<i32>().iter().collect::<Vec<_>>(), [Some("10"), Some("abc"), Some("30"), Some("40")]);
    let note = note_for(&data, "customer_orders.label (declared INTEGER): Utf8");
    assert!(
        note.contains("1 of 4 values that are not numbers (e.g. 'abc')") && note.contains("numbers stored as text: 3"),
        "{note}"
    );

    assert_eq!(data_type(&data, t, "shipped"), DataType::Boolean);
    let shipped = column(&data, t, "shipped");
    assert_eq!(shipped.as_boolean().iter().collect::<Vec<_>>(), [Some(false), Some(true), None, Some(true)]);
    assert_eq!(data_type(&data, t, "flag"), DataType::Utf8);
    assert!(note_for(&data, "customer_orders.flag (declared BOOLEAN): Utf8").contains("other than 0/1 (e.g. 'yes')"));

    assert_eq!(data_type(&data, t, "ordered_on"), DataType::Date32);
    assert_eq!(column(&data, t, "ordered_on").as_primitive::<Date32Type>().value(3), days(2023, 4, 30));
    assert_eq!(data_type(&data, t, "updated"), TIMESTAMP);
    let updated = column(&data, t, "updated");
    let updated = updated.as_primitive::<TimestampMicrosecondType>();
    assert_eq!(updated.value(2), micros("2023-06-01 08:30:00"));
    assert!(updated.is_null(1));
    let note = note_for(&data, "customer_orders.updated (declared DATETIME): Timestamp(µs)");
    assert!(note.contains("parsed as timestamps: 2") && note.contains("read as NULL: 1 (e.g. '')"), "{note}");

    assert_eq!(data_type(&data, t, "payload"), DataType::Binary);
    assert_eq!(column(&data, t, "payload").as_binary::<i32>().value(0), &[0x00, 0xff]);

    assert_eq!(data_type(&data, t, "mixed"), DataType::Utf8);
    let mixed = column(&data, t, "mixed");
    assert_eq!(mixed.as_string::<i32>().iter().collect::<Vec<_>>(), [Some("1"), Some("a"), Some("A"), Some("2.5")]);
    let note = note_for(&data, "customer_orders.mixed (no declared type): Utf8");
    assert!(
        note.contains("holds integers and reals and texts and blobs") && note.contains("UTF-8 blobs stored as text: 1"),
        "{note}"
    );

    assert_eq!(data_type(&data, t, "home_town"), DataType::Utf8);
    assert_eq!(column(&data, t, "home_town").as_string::<i32>().value(1), "null");
    assert!(
        note_for(&data, "customer_orders.home_town (declared TEXT)")
            .contains("'null' strings kept as text, as declared (they are not NULL): 1")
    );

    assert!(data.report.notes.contains(&"table `Customer Orders` -> customer_orders".to_string()));
    assert!(
        note_for(&data, "customer_orders: columns renamed")
            .contains("`Order ID` -> order_id, `Home Town` -> home_town")
    );
    // The latest date-time beats the latest plain date.
    assert_eq!(data.as_of, date(2023, 6, 1));
}

#[test]
fn sqlite_keys_are_read_and_dangling_ones_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        r#"
        CREATE TABLE Customer (CustID INTEGER PRIMARY KEY, Name TEXT);
        CREATE TABLE Product (Sku TEXT, Version INT, Title TEXT, PRIMARY KEY (Sku, Version));
        CREATE TABLE OrderLine (
            Id INTEGER PRIMARY KEY,
            Cust INTEGER REFERENCES customer,
            Sku TEXT,
            Ver INT,
            Other INT REFERENCES Missing(Id),
            Bad INT REFERENCES Customer(NoSuchColumn),
            FOREIGN KEY (Sku, Ver) REFERENCES Product(Sku, Version)
        );
        CREATE VIEW Big AS SELECT * FROM OrderLine;
        CREATE TABLE Seq (Id INTEGER PRIMARY KEY AUTOINCREMENT);
        INSERT INTO Customer VALUES (1, 'Ann');
        INSERT INTO Seq DEFAULT VALUES;
        "#,
    )
    .unwrap();
    drop(conn);
    let data = load(&db, &ImportOptions::default()).unwrap();
    let table = |name: &str| data.tables.iter().find(|t| t.name == name).unwrap();
    assert_eq!(table("customer").primary_key, ["custid"]);
    assert_eq!(table("product").primary_key, ["sku", "version"]);
    assert_eq!(
        table("orderline").foreign_keys,
        [
            ForeignKey {
                columns: vec!["cust".into()],
                ref_table: "customer".into(),
                ref_columns: vec!["custid".into()]
            },
            ForeignKey {
                columns: vec!["sku".into(), "ver".into()],
                ref_table: "product".into(),
                ref_columns: vec!["sku".into(), "version".into()]
            },
        ]
    );
    let notes = &data.report.notes;
    assert!(
        notes.iter().any(|n| n.starts_with("dropped foreign key orderline(Other) -> Missing(Id): table Missing")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("dropped foreign key orderline(Bad) -> Customer(NoSuchColumn)")),
        "{notes:#?}"
    );
    assert!(notes.contains(&"skipped view Big: only tables are imported".to_string()));
    assert!(notes.contains(&"skipped SQLite's internal table sqlite_sequence".to_string()));
    assert_eq!(data.report.tables.len(), 4, "customer, orderline, product, seq");

    let out = dir.path().join("snap");
    let (manifest, _) = import_into(&out, &db, &ImportOptions::default()).unwrap();
    assert_eq!(manifest.table("product").unwrap().primary_key, ["sku", "version"]);
    assert_eq!(manifest.table("orderline").unwrap().foreign_keys.len(), 2);
}

#[test]
fn names_are_normalized_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("names.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        r#"
        CREATE TABLE "Sales 2024" ("Home Town" TEXT, "home_town" TEXT, "2nd Place" INT, "Price ($)" REAL, "ÅR" INT);
        CREATE TABLE "sales-2024" (x INT);
        INSERT INTO "Sales 2024" VALUES ('a', 'b', 2, 1.5, 2024);
        "#,
    )
    .unwrap();
    drop(conn);
    let data = load(&db, &ImportOptions::default()).unwrap();
    let names: Vec<&str> = data.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["sales_2024", "sales_2024_2"]);
    let sales = &data.tables[0];
    let columns: Vec<&str> = sales.schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(columns, ["home_town", "home_town_2", "_2nd_place", "price", "r"]);
    assert!(data.report.notes.contains(&"table `Sales 2024` -> sales_2024".to_string()));
    assert!(data.report.notes.contains(&"table `sales-2024` -> sales_2024_2".to_string()));
    let renames = note_for(&data, "sales_2024: columns renamed");
    assert_eq!(
        renames,
        "sales_2024: columns renamed `Home Town` -> home_town, `home_town` -> home_town_2, `2nd Place` -> _2nd_place, \
         `Price ($)` -> price, `ÅR` -> r"
    );

    // Files whose names collide once normalized.
    let files = dir.path().join("files");
    fs::create_dir(&files).unwrap();
    fs::write(files.join("Order Items.csv"), "a\n1\n").unwrap();
    fs::write(files.join("order-items.csv"), "Order Id,ORDER ID\n1,2\n").unwrap();
    let data = load(&files, &ImportOptions::default()).unwrap();
    let names: Vec<&str> = data.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["order_items", "order_items_2"]);
    let columns: Vec<&str> = data.tables[1].schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(columns, ["order_id", "order_id_2"]);
}

#[test]
fn rows_keep_rowid_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("order.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        r#"
        CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
        CREATE INDEX t_v ON t (v, id);
        INSERT INTO t VALUES (3, 'a'), (1, 'c'), (2, 'b');
        CREATE TABLE w (k TEXT PRIMARY KEY, n INT) WITHOUT ROWID;
        INSERT INTO w VALUES ('b', 2), ('a', 1);
        "#,
    )
    .unwrap();
    drop(conn);
    let data = load(&db, &ImportOptions::default()).unwrap();
    assert_eq!(column(&data, "t", "id").as_primitive::<Int64Type>().values(), &[1, 2, 3]);
    assert_eq!(column(&data, "w", "k").as_string::<i32>().iter().collect::<Vec<_>>(), [Some("a"), Some("b")]);
}

#[test]
fn large_tables_span_several_batches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE big (n INTEGER, s TEXT);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
         INSERT INTO big SELECT i, 'row ' || i FROM c;",
    )
    .unwrap();
    drop(conn);
    let data = load(&db, &ImportOptions::default()).unwrap();
    let big = &data.tables[0];
    assert!(big.batches.len() > 1);
    let n = column(&data, "big", "n");
    let n = n.as_primitive::<Int64Type>();
    assert_eq!(n.len(), 20000);
    assert!(n.values().iter().enumerate().all(|(i, v)| *v == i as i64 + 1));
}

#[test]
fn same_input_gives_the_same_snapshot_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.sqlite");
    mixed_database(&db);
    let options = ImportOptions::default();
    let (first, _) = import_into(&dir.path().join("a"), &db, &options).unwrap();
    let (second, _) = import_into(&dir.path().join("b"), &db, &options).unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(first.tables, second.tables);

    let other_day = ImportOptions { as_of: Some(date(2030, 1, 1)) };
    let (third, _) = import_into(&dir.path().join("c"), &db, &other_day).unwrap();
    assert_eq!(third.as_of, date(2030, 1, 1));
    assert_ne!(third.id, first.id, "as_of is part of the identity");

    let csv = dir.path().join("csv");
    fs::create_dir(&csv).unwrap();
    write_orders_csv(&csv);
    let (x, _) = import_into(&dir.path().join("d"), &csv, &options).unwrap();
    let (y, _) = import_into(&dir.path().join("e"), &csv, &options).unwrap();
    assert_eq!(x.id, y.id);
    assert_eq!(x.notes, y.notes);
}

#[test]
fn import_installs_into_a_store_with_notes_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.sqlite");
    mixed_database(&db);
    let store = SnapshotStore::new(dir.path().join("store"));
    let snapshot =
        store.install(|scratch| import_into(scratch, &db, &ImportOptions::default()).map(|(m, _)| m)).unwrap();
    let manifest = &snapshot.manifest;
    assert!(manifest.notes.iter().any(|n| n.starts_with("customer_orders.qty (declared INTEGER)")));
    assert_eq!(manifest.table("customer_orders").unwrap().rows, 4);
    assert_eq!(manifest.table("customer_orders").unwrap().column("updated").unwrap().data_type, "Timestamp(µs)");
    snapshot.verify().unwrap();
    assert_eq!(store.get(&manifest.id[..10]).unwrap().manifest.id, manifest.id);
    // The source's dialect is recorded, so queries keep SQLite's NULL order and LIKE.
    assert_eq!(manifest.source_dialect, Some(SourceDialect::Sqlite));
    assert_eq!(manifest.dialect(), SourceDialect::Sqlite);
    let json = fs::read_to_string(snapshot.dir.join("manifest.json")).unwrap();
    assert!(json.contains(r#""source_dialect": "sqlite""#), "{json}");
}

#[test]
fn sqlite_text_columns_of_numbers_are_imported_as_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cars.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE cars (id INTEGER PRIMARY KEY, mpg TEXT, horsepower TEXT, code TEXT);
         INSERT INTO cars VALUES (1, '18', '130', '007'), (2, 'null', '98', '012'), (3, '15.5', '', '100');",
    )
    .unwrap();
    drop(conn);
    let data = load(&db, &ImportOptions::default()).unwrap();
    assert_eq!(data_type(&data, "cars", "mpg"), DataType::Float64);
    assert_eq!(data_type(&data, "cars", "horsepower"), DataType::Int64);
    assert_eq!(data_type(&data, "cars", "code"), DataType::Utf8, "codes with leading zeros stay text");
    let mpg = column(&data, "cars", "mpg");
    let mpg = mpg.as_primitive::<Float64Type>();
    assert_eq!((mpg.value(0), mpg.is_null(1), mpg.value(2)), (18.0, true, 15.5));
    let note = note_for(&data, "cars.mpg");
    assert!(note.contains("declared TEXT, but every value is a number (e.g. '18')"), "{note}");
    assert!(note.contains("1 empty or null-like strings (e.g. 'null') read as NULL"), "{note}");
}

#[test]
fn bad_inputs_say_what_is_expected() {
    let dir = tempfile::tempdir().unwrap();
    let reason = |path: &Path| match load(path, &ImportOptions::default()) {
        Err(Error::Import { reason, .. }) => reason,
        other => panic!("expected an import error for {}, got {other:?}", path.display()),
    };

    assert!(reason(&dir.path().join("missing")).contains("does not exist"));

    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let text = reason(&empty);
    assert!(text.contains("no .csv or .parquet files") && text.contains("one file per table"), "{text}");
    fs::write(empty.join("notes.md"), "hi").unwrap();
    assert!(reason(&empty).contains("no .csv or .parquet files"));

    let random = dir.path().join("data.bin");
    fs::write(&random, "just some bytes, not a database").unwrap();
    let text = reason(&random);
    assert!(text.contains("SQLite 3 header") && text.contains("pass a directory"), "{text}");

    let fake = dir.path().join("fake.sqlite");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0xAB, 4096));
    fs::write(&fake, bytes).unwrap();
    let text = reason(&fake);
    assert!(text.contains("cannot be read") && text.contains("SQLite 3 database"), "{text}");

    let no_tables = dir.path().join("none.sqlite");
    Connection::open(&no_tables).unwrap().execute_batch("CREATE VIEW v AS SELECT 1 AS x;").unwrap();
    assert!(reason(&no_tables).contains("no tables to import"));

    let bad_parquet = dir.path().join("pq");
    fs::create_dir(&bad_parquet).unwrap();
    fs::write(bad_parquet.join("t.parquet"), "not parquet at all").unwrap();
    let text = reason(&bad_parquet);
    assert!(text.contains("not a readable Parquet file"), "{text}");
    let err = load(&bad_parquet, &ImportOptions::default()).unwrap_err().to_string();
    assert!(err.contains("t.parquet"), "the error names the file: {err}");
}

#[test]
fn import_into_refuses_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_orders_csv(dir.path());
    let out = tempfile::tempdir().unwrap();
    fs::write(out.path().join("keep.txt"), "x").unwrap();
    let err = import_into(out.path(), dir.path(), &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}
