//! Realistic models in each format (fixtures/semantic): what maps (ratio metrics, named
//! conditions, joins) and that every construct quarry cannot map is reported by name (issue 18).

use std::path::PathBuf;

use quarry_interchange::{Format, Import, import_path};

fn import(name: &str) -> Import {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/semantic").join(name);
    import_path(&path, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_reported(import: &Import, names: &[&str]) {
    for name in names {
        assert!(
            import.report.unmapped_named(name).is_some(),
            "{name} is not reported as unmapped:\n{}",
            import.report.to_text()
        );
    }
}

fn metric<'a>(import: &'a Import, name: &str) -> &'a quarry_semantic::Metric {
    import.layer.metric(name).unwrap_or_else(|| panic!("no metric {name}:\n{}", import.report.to_text()))
}

#[test]
fn jaffle_shop_in_dbt() {
    let import = import("jaffle-shop-dbt");
    assert_eq!(import.report.format, Format::Dbt);
    assert_eq!(metric(&import, "food_revenue").filter.as_deref(), Some("is_food_order = true"));
    assert_eq!(
        metric(&import, "food_revenue_pct").expression,
        "CAST(SUM(CASE WHEN is_food_order = true THEN order_total END) AS DOUBLE) / NULLIF(SUM(order_total), 0)"
    );
    assert_eq!(
        metric(&import, "large_order_share").expression,
        "CAST(SUM(CASE WHEN order_total >= 20 THEN 1 END) AS DOUBLE) / NULLIF(SUM(1), 0)"
    );
    assert_eq!(metric(&import, "order_gross_profit").expression, "(SUM(order_total)) - (SUM(order_cost))");
    assert_eq!(import.layer.segment("big_spenders").unwrap().table, "customers");
    assert_eq!(import.layer.joins.len(), 2);
    assert!(import.layer.is_personal("customers", "customer_name"));
    assert_reported(
        &import,
        &[
            "revenue_growth_mom",
            "cumulative_revenue",
            "visit_to_buy_conversion_rate_7d",
            "p90_order",
            "revenue_per_customer",
            "returning_customer_revenue",
            "orders.order_total_dollars",
            "orders.tax_paid",
            "revenue_by_location",
            "stg_payments",
            "customers.customer_name",
        ],
    );
}

#[test]
fn ecommerce_in_cube() {
    let import = import("ecommerce-cube");
    assert_eq!(import.report.format, Format::Cube);
    let share = metric(&import, "completed_percentage");
    assert_eq!(share.expression, "100.0 * (COUNT(CASE WHEN status = 'completed' THEN 1 END)) / NULLIF((COUNT(*)), 0)");
    assert_eq!(metric(&import, "completed_count").time_column.as_deref(), Some("completed_at"));
    assert_eq!(import.layer.segment("big_orders").unwrap().condition, "amount > 100");
    let joins: Vec<(&str, &str)> = import.layer.joins.iter().map(|j| (j.from.as_str(), j.to.as_str())).collect();
    assert!(joins.contains(&("line_items.order_id", "orders.id")), "{joins:?}");
    assert!(joins.contains(&("orders.user_id", "users.id")), "{joins:?}");
    assert!(import.layer.is_personal("users", "email"));
    assert_reported(
        &import,
        &[
            "orders.rolling_count_month",
            "orders.average_user_age",
            "orders.p95_amount",
            "orders.size",
            "orders.orders_by_day",
            "big_orders_query",
            "orders_view",
        ],
    );
    assert!(
        import.report.unmapped.iter().any(|u| u.name.ends_with("product_suppliers.js")),
        "{}",
        import.report.to_text()
    );
}

#[test]
fn revenue_timeseries_in_cortex_analyst() {
    let import = import("revenue.cortex.yaml");
    assert_eq!(import.report.format, Format::Cortex);
    assert_eq!(metric(&import, "profit_margin").expression, "(SUM(revenue) - SUM(cogs)) / NULLIF(SUM(revenue), 0)");
    let big = metric(&import, "forecast_revenue_big_days");
    assert_eq!(big.filter.as_deref(), Some("forecasted_revenue > 10000"));
    assert_eq!(big.time_column.as_deref(), Some("date"));
    assert_eq!(import.layer.segment("big_days").unwrap().condition, "revenue > 10000");
    assert_eq!(import.layer.joins.len(), 2);
    assert_eq!(import.layer.dimension("sales_region").unwrap().values.len(), 5);
    assert!(
        import.layer.verified_queries[0].sql.contains("FROM daily_revenue"),
        "{}",
        import.layer.verified_queries[0].sql
    );
    assert_reported(
        &import,
        &[
            "custom_instructions",
            "module_custom_instructions",
            "daily_revenue.weekday",
            "daily_revenue.revenue_per_product_price",
            "daily_revenue.daily_forecasted_revenue.default_aggregation",
            "product.product_line.cortex_search_service",
            "product_to_region_by_two_keys",
        ],
    );
}

#[test]
fn tpcds_in_osi() {
    let import = import("tpcds.osi.yaml");
    assert_eq!(import.report.format, Format::Osi);
    assert_eq!(metric(&import, "net_sales").expression, "SUM(ss_net_paid)");
    assert_eq!(metric(&import, "net_sales").time_column.as_deref(), Some("ss_sold_at"));
    assert_eq!(metric(&import, "profit_margin").expression, "SUM(ss_net_profit) / NULLIF(SUM(ss_net_paid), 0)");
    assert_eq!(metric(&import, "big_ticket_sales").filter.as_deref(), Some("ss_net_paid > 500"));
    assert_eq!(metric(&import, "item_count").table, "item");
    assert_eq!(import.layer.segment("big_ticket").unwrap().condition, "ss_net_paid > 500");
    assert_eq!(import.layer.dimension("brand").unwrap().column, "item.i_brand");
    assert_eq!(import.layer.joins.len(), 3);
    assert_reported(
        &import,
        &[
            "sales_per_customer",
            "sales_to_item_version",
            "store_sales.net_paid_eur",
            "item.unique_keys[i_item_id,i_rec_start_date]",
            "semantic_model[tpcds_retail].ai_context.instructions",
            "Net sales by brand last year",
            "datasets[store_sales].custom_extensions[DBT]",
            "semantic_model[tpcds_retail].custom_extensions[SNOWFLAKE]",
        ],
    );
}

#[test]
fn ecommerce_in_wren_mdl() {
    let import = import("ecommerce.wren.json");
    assert_eq!(import.report.format, Format::Wren);
    assert_eq!(metric(&import, "total_value").table, "olist_order_items");
    assert_eq!(metric(&import, "total_value").expression, "sum(price)");
    let delivered = metric(&import, "delivered_orders_count");
    assert_eq!(
        (delivered.expression.as_str(), delivered.filter.as_deref()),
        ("COUNT(*)", Some("order_status = 'delivered'"))
    );
    assert_eq!(delivered.time_column.as_deref(), Some("order_purchase_timestamp"));
    assert_eq!(metric(&import, "freight_share").format, quarry_semantic::MetricFormat::Percent);
    let status = import.layer.dimension("status").unwrap();
    assert_eq!(
        status.values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(),
        ["delivered", "shipped", "canceled"]
    );
    assert_eq!(import.layer.segment("delivered_orders").unwrap().table, "olist_orders");
    assert_eq!(import.layer.verified_queries.len(), 1);
    let joins: Vec<(&str, &str)> = import.layer.joins.iter().map(|j| (j.from.as_str(), j.to.as_str())).collect();
    assert_eq!(
        joins,
        [
            ("olist_orders.customer_id", "olist_customers.customer_id"),
            ("olist_order_items.order_id", "olist_orders.order_id")
        ]
    );
    assert_reported(
        &import,
        &[
            "orders.customer_state",
            "orders.order_year",
            "top_customers",
            "customers_top",
            "items_products",
            "revenue_by_state",
            "customers.rowLevelAccessControls[own_state_only]",
        ],
    );
}
