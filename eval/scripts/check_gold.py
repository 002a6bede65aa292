#!/usr/bin/env python3
"""Checks a labeled question set (JSONL) against a snapshot directory of Parquet files.

For every case it validates the line's shape (ids, tags, difficulty, conversation turns),
then runs `gold_sql` and each `gold_sql_alternatives` entry on one or more engines:

- `duckdb`: DuckDB over the Parquet files (views named like the tables);
- `datafusion`: DataFusion's Python bindings (`pip install datafusion`), the engine quarry
  runs on; the bindings' version trails the Rust crate's slightly, so a query they accept
  is very likely, not certainly, accepted by the workspace's DataFusion.

A gold query fails the check when it errors, returns no rows, or (with LIMIT N) has a tie
among its first N + 1 rows, which would make the expected rows depend on the engine's sort. When two
engines run, their results are compared value by value (relative tolerance 1e-6).

Usage:
    python3 eval/scripts/check_gold.py eval/questions/demo.jsonl --snapshot DIR \
        [--engine duckdb] [--engine datafusion] [--show]

Needs `pip install duckdb pyarrow` (and `datafusion` for that engine). Exits non-zero when
any check fails, listing each failure with the case id.
"""

import argparse
import collections
import datetime
import decimal
import json
import math
import os
import re
import sys

TABLES = ["accounts", "users", "subscriptions", "invoices", "events", "support_tickets", "experiment_assignments"]
DIFFICULTIES = {"easy", "medium", "hard"}
REQUIRED = {"id": str, "question": str, "gold_sql": str, "tags": list, "difficulty": str}
LIMIT_RE = re.compile(r"\bLIMIT\s+(\d+)\s*$", re.IGNORECASE)
TOLERANCE = 1e-6


def load_cases(path):
    """Parses the JSONL file; returns (cases, problems) with problems as 'line N: ...' strings."""
    cases, problems = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"line {number}: not valid JSON ({e})")
                continue
            for key, kind in REQUIRED.items():
                if not isinstance(case.get(key), kind):
                    problems.append(f"line {number}: field '{key}' must be a {kind.__name__}")
            if case.get("difficulty") not in DIFFICULTIES:
                problems.append(f"line {number}: difficulty must be one of {sorted(DIFFICULTIES)}")
            if ("conversation" in case) != ("turn" in case):
                problems.append(f"line {number}: 'conversation' and 'turn' go together")
            case["_line"] = number
            cases.append(case)
    ids = collections.Counter(c.get("id") for c in cases)
    problems += [f"id '{i}' appears {n} times" for i, n in ids.items() if n > 1]
    conversations = collections.defaultdict(list)
    for case in cases:
        if "conversation" in case:
            conversations[case["conversation"]].append(case["turn"])
    for conv, turns in conversations.items():
        if turns != list(range(1, len(turns) + 1)):
            problems.append(f"conversation '{conv}': turns must be 1..n in file order, got {turns}")
    return cases, problems


def normalize(value):
    """Makes values from different engines comparable."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day)
    return value


class DuckDbEngine:
    name = "duckdb"

    def __init__(self, snapshot):
        import duckdb

        self.con = duckdb.connect()
        for table in TABLES:
            path = os.path.join(snapshot, f"{table}.parquet")
            self.con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")

    def run(self, sql):
        return [tuple(normalize(v) for v in row) for row in self.con.execute(sql).fetchall()]


class DataFusionEngine:
    name = "datafusion"

    def __init__(self, snapshot):
        import datafusion

        self.ctx = datafusion.SessionContext()
        for table in TABLES:
            self.ctx.register_parquet(table, os.path.join(snapshot, f"{table}.parquet"))

    def run(self, sql):
        return [tuple(normalize(v) for v in row.values()) for row in self.ctx.sql(sql).to_arrow_table().to_pylist()]


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        try:
            return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b


def sort_key(row):
    """Orders rows of mixed types (None, numbers, strings, timestamps) deterministically."""
    return tuple((v is None, isinstance(v, (int, float)), v if isinstance(v, (int, float)) else str(v)) for v in row)


def same_rows(left, right, ordered):
    if len(left) != len(right):
        return False
    if not ordered:
        left, right = sorted(left, key=sort_key), sorted(right, key=sort_key)
    return all(len(x) == len(y) and all(close(p, q) for p, q in zip(x, y)) for x, y in zip(left, right))


def tie_at_cutoff(engine, sql):
    """With `... ORDER BY m LIMIT n`, looks for equal metric values (last column) among the
    first n + 1 rows of the query: a tie there makes the expected rows or their order
    depend on how the engine sorts."""
    match = LIMIT_RE.search(sql)
    if not match:
        return None
    n = int(match.group(1))
    rows = engine.run(sql[: match.start()] + f" LIMIT {n + 1}")
    values = [row[-1] for row in rows]
    for i, a in enumerate(values):
        for b in values[i + 1 :]:
            if close(a, b):
                return f"tie among the first {n + 1} rows ({a!r} == {b!r})"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions")
    parser.add_argument("--snapshot", required=True, help="directory holding <table>.parquet files")
    parser.add_argument("--engine", action="append", choices=["duckdb", "datafusion"])
    parser.add_argument("--show", action="store_true", help="print each gold result (first rows)")
    args = parser.parse_args()

    missing = [t for t in TABLES if not os.path.exists(os.path.join(args.snapshot, f"{t}.parquet"))]
    if missing:
        sys.exit(f"{args.snapshot} lacks {', '.join(m + '.parquet' for m in missing)}; generate the demo snapshot first")

    cases, failures = load_cases(args.questions)
    classes = {"duckdb": DuckDbEngine, "datafusion": DataFusionEngine}
    engines = [classes[name](args.snapshot) for name in (args.engine or ["duckdb"])]

    checked = 0
    for case in cases:
        queries = [("gold", case.get("gold_sql", ""))]
        queries += [(f"alt{i}", sql) for i, sql in enumerate(case.get("gold_sql_alternatives", []), start=1)]
        for label, sql in queries:
            results = {}
            for engine in engines:
                try:
                    rows = engine.run(sql)
                except Exception as e:  # every engine error is a finding, reported with the case
                    failures.append(f"{case['id']} [{label}] {engine.name}: {str(e).splitlines()[0][:300]}")
                    continue
                if not rows:
                    failures.append(f"{case['id']} [{label}] {engine.name}: empty result")
                    continue
                results[engine.name] = rows
                tie = tie_at_cutoff(engine, sql)
                if tie:
                    failures.append(f"{case['id']} [{label}] {engine.name}: {tie}")
                if args.show and engine is engines[0]:
                    print(f"{case['id']} [{label}] {len(rows)} rows: {rows[:3]}")
            checked += 1
            names = list(results)
            for other in names[1:]:
                ordered = "ORDER BY" in sql.upper()
                if not same_rows(results[names[0]], results[other], ordered):
                    failures.append(f"{case['id']} [{label}]: {names[0]} and {other} disagree: "
                                    f"{results[names[0]][:3]} vs {results[other][:3]}")

    conversations = {c["conversation"] for c in cases if "conversation" in c}
    print(f"{len(cases)} cases, {len(conversations)} conversations, {checked} queries run on "
          f"{', '.join(e.name for e in engines)}")
    if failures:
        print(f"{len(failures)} problems:")
        for failure in failures:
            print("  " + failure)
        sys.exit(1)
    print("all gold queries ran and returned rows")


if __name__ == "__main__":
    main()
