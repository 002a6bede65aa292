"""Runs quarry's SQL in DuckDB over the same Parquet files, for the benchmark harness.

Reads a JSON job from stdin: {"tables": {name: parquet path}, "queries": [{"id", "sql"}],
"repetitions": n, "threads": n}. Each table is a view over its Parquet file (read on every
query, as quarry's executor does); each query runs once to warm up, then `repetitions`
times, fetching the whole result as Arrow. Writes {"version", "results": {id: {"times_ms":
[...]} or {"error": "..."}}} to stdout.
"""
import json
import sys
import time

import duckdb


def fetch(con, sql):
    """The whole result as an Arrow table (`to_arrow_table` from DuckDB 2, before that
    `fetch_arrow_table`)."""
    result = con.execute(sql)
    if hasattr(result, "to_arrow_table"):
        return result.to_arrow_table()
    return result.fetch_arrow_table()


def main():
    job = json.load(sys.stdin)
    con = duckdb.connect(database=":memory:")
    con.execute(f"SET threads TO {int(job['threads'])}")
    for name, path in job["tables"].items():
        con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
    results = {}
    for query in job["queries"]:
        try:
            fetch(con, query["sql"])
            times = []
            for _ in range(job["repetitions"]):
                started = time.perf_counter()
                fetch(con, query["sql"])
                times.append((time.perf_counter() - started) * 1e3)
            results[query["id"]] = {"times_ms": times}
        except Exception as error:  # a dialect difference is reported, not fatal
            results[query["id"]] = {"error": str(error).splitlines()[0]}
    json.dump({"version": duckdb.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
