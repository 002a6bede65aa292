#!/usr/bin/env python3
"""Checks a labeled retrieval question set (JSONL) against the semantic layer and the data contract.

Each line is `{"id", "question", "expected", "tags"}`. Every expected id must name something that
exists, so that a miss in `quarry eval retrieval` is a retrieval miss, never a labeling typo:

- `metric:<name>`, `dimension:<name>`, `segment:<name>`: declared in the semantic layer;
- `table:<table>`, `column:<table>.<column>`: declared in the semantic layer, never a personal column;
- `value:<table>.<column>=<value>`: `<value>` is in the contract's value domain of that column,
  and some dimension of the semantic layer covers that column (its `column` or `also`).

The labeling conventions are checked too: a question expecting a value also expects a dimension
over that value's column (filters are labeled with their dimension); the tags hold exactly the
kinds of the expected ids plus language tags (misspelling, synonym, abbreviation).

With `--coverage` (the default when run on the committed set) it also requires every metric,
dimension and segment to be expected somewhere, at least `--min-values` distinct values and at
least `--min-questions` questions, and prints counts per kind and per tag.

Usage:
    python3 eval/retrieval/check_ids.py [eval/retrieval/demo.jsonl] \
        [--semantic schemas/demo.semantic.yaml] [--contract ../shared/demo-warehouse.md] \
        [--min-questions 140] [--min-values 40] [--no-coverage]

Needs PyYAML (`pip install pyyaml`). Exits non-zero listing every problem with the question id.
"""

import argparse
import collections
import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("check_ids.py needs PyYAML: install it with `pip install pyyaml`")

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KINDS = ["metric", "dimension", "value", "segment", "table", "column"]
LANGUAGE_TAGS = {"misspelling", "synonym", "abbreviation"}
VALUE_ID = re.compile(r"^value:([a-z_]+)\.([a-z_]+)=(.+)$")
TABLE_HEADING = re.compile(r"^###\s+([a-z_]+)\b")
ROW = re.compile(r"^\|\s*([a-z_]+)\s*\|\s*([A-Z]+)[^|]*\|(.*)\|\s*$")
SAME_AS = re.compile(r"same codes as ([a-z_]+)\.([a-z_]+)")


def load_semantic(path):
    """Returns the names the semantic layer declares, by kind, and the columns each dimension covers."""
    with open(path, encoding="utf-8") as f:
        layer = yaml.safe_load(f)
    names = {kind: set() for kind in KINDS if kind != "value"}
    personal = set()
    for table in layer["tables"]:
        names["table"].add(table["name"])
        for column in table["columns"]:
            qualified = f"{table['name']}.{column['name']}"
            if column.get("personal"):
                personal.add(qualified)
            else:
                names["column"].add(qualified)
    names["metric"] = {m["name"] for m in layer["metrics"]}
    names["segment"] = {s["name"] for s in layer.get("segments", [])}
    dimension_columns = {}
    for dimension in layer["dimensions"]:
        names["dimension"].add(dimension["name"])
        dimension_columns[dimension["name"]] = {dimension["column"], *dimension.get("also", [])}
    return names, personal, dimension_columns


def load_contract_values(path):
    """Parses the contract's table sections into {"table.column": {stored values}} for text columns.

    A cell like "NULL unless status = 'canceled'; then one of 'price', ..." lists its domain after
    "then"; the quoted condition before it belongs to another column and is skipped.
    """
    domains, aliases, table = {}, {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            heading = TABLE_HEADING.match(line)
            if heading:
                table = heading.group(1)
                continue
            if line.startswith("## "):
                table = None
            row = ROW.match(line.rstrip("\n")) if table else None
            if not row or row.group(2) != "VARCHAR":
                continue
            column, cell = row.group(1), row.group(3)
            same = SAME_AS.search(cell)
            if same:
                aliases[f"{table}.{column}"] = f"{same.group(1)}.{same.group(2)}"
                continue
            if "then" in cell:
                cell = cell.split("then", 1)[1]
            values = set(re.findall(r"'([^']+)'", cell))
            if values:
                domains[f"{table}.{column}"] = values
    for column, source in aliases.items():
        if source not in domains:
            sys.exit(f"contract: {column} refers to {source}, which has no value list")
        domains[column] = domains[source]
    if not domains:
        sys.exit(f"contract {path}: found no value lists; is it the demo warehouse contract?")
    return domains


def check_id(doc_id, names, personal, domains, dimension_columns):
    """Returns a problem description, or None when the id exists."""
    kind, _, rest = doc_id.partition(":")
    if kind not in KINDS or not rest:
        return f"'{doc_id}' is not <kind>:<name> with kind one of {', '.join(KINDS)}"
    if kind == "value":
        match = VALUE_ID.match(doc_id)
        if not match:
            return f"'{doc_id}' is not value:<table>.<column>=<stored value>"
        column = f"{match.group(1)}.{match.group(2)}"
        if column in personal:
            return f"'{doc_id}' names personal column {column}, which is never indexed"
        if column not in domains:
            return f"'{doc_id}': {column} has no value list in the contract"
        if match.group(3) not in domains[column]:
            return f"'{doc_id}': '{match.group(3)}' is not a stored value of {column} ({sorted(domains[column])})"
        if not any(column in columns for columns in dimension_columns.values()):
            return f"'{doc_id}': no dimension of the semantic layer covers {column}"
        return None
    if kind == "column" and rest in personal:
        return f"'{doc_id}' is a personal column, which is never indexed"
    if rest not in names[kind]:
        return f"'{doc_id}': no {kind} named '{rest}' in the semantic layer"
    return None


def check_file(path, names, personal, domains, dimension_columns):
    """Validates every line; returns (cases, problems)."""
    cases, problems, seen = [], [], set()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                problems.append(f"line {number}: empty line")
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"line {number}: not JSON ({e})")
                continue
            where = f"line {number} ({case.get('id', '?')})"
            shape = {"id": str, "question": str, "expected": list, "tags": list}
            wrong = [k for k, t in shape.items() if not isinstance(case.get(k), t)]
            extra = set(case) - set(shape)
            if wrong or extra:
                problems.append(f"{where}: fields {wrong} missing or mistyped, unknown fields {sorted(extra)}")
                continue
            if case["id"] in seen:
                problems.append(f"{where}: duplicate id")
            seen.add(case["id"])
            expected = case["expected"]
            if not expected or len(set(expected)) != len(expected):
                problems.append(f"{where}: expected must be non-empty and without repeats")
            for doc_id in expected:
                problem = check_id(doc_id, names, personal, domains, dimension_columns)
                if problem:
                    problems.append(f"{where}: {problem}")
            dims = {i.split(":", 1)[1] for i in expected if i.startswith("dimension:")}
            for doc_id in expected:
                match = VALUE_ID.match(doc_id)
                if match:
                    column = f"{match.group(1)}.{match.group(2)}"
                    if not any(column in dimension_columns.get(d, ()) for d in dims):
                        problems.append(f"{where}: '{doc_id}' is filtered on, but no expected dimension covers {column}")
            kinds = {i.split(":", 1)[0] for i in expected}
            tags = set(case["tags"])
            if tags & set(KINDS) != kinds:
                problems.append(f"{where}: kind tags {sorted(tags & set(KINDS))} differ from expected kinds {sorted(kinds)}")
            unknown = tags - set(KINDS) - LANGUAGE_TAGS
            if unknown:
                problems.append(f"{where}: unknown tags {sorted(unknown)}")
            cases.append(case)
    return cases, problems


def coverage(cases, names, min_questions, min_values):
    """Prints counts per kind and tag; returns problems for missing coverage."""
    problems = []
    used = collections.defaultdict(set)
    id_counts, question_counts, tag_counts = collections.Counter(), collections.Counter(), collections.Counter()
    for case in cases:
        for doc_id in case["expected"]:
            kind, _, rest = doc_id.partition(":")
            used[kind].add(rest)
            id_counts[kind] += 1
        for kind in {i.split(":", 1)[0] for i in case["expected"]}:
            question_counts[kind] += 1
        tag_counts.update(case["tags"])
    print(f"{len(cases)} questions")
    print(f"{'kind':<10} {'questions':>9} {'labels':>7} {'distinct':>8} {'declared':>8}")
    for kind in KINDS:
        declared = len(names[kind]) if kind in names else "-"
        print(f"{kind:<10} {question_counts[kind]:>9} {id_counts[kind]:>7} {len(used[kind]):>8} {declared:>8}")
    print("tags: " + ", ".join(f"{tag} {n}" for tag, n in tag_counts.most_common()))
    for kind in ("metric", "dimension", "segment"):
        missing = sorted(names[kind] - used[kind])
        if missing:
            problems.append(f"coverage: no question expects {kind} {', '.join(missing)}")
    if len(used["value"]) < min_values:
        problems.append(f"coverage: {len(used['value'])} distinct values, want at least {min_values}")
    if len(cases) < min_questions:
        problems.append(f"coverage: {len(cases)} questions, want at least {min_questions}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=os.path.join(REPO, "eval", "retrieval", "demo.jsonl"))
    parser.add_argument("--semantic", default=os.path.join(REPO, "schemas", "demo.semantic.yaml"))
    parser.add_argument("--contract", default=os.path.join(REPO, "..", "shared", "demo-warehouse.md"))
    parser.add_argument("--min-questions", type=int, default=140)
    parser.add_argument("--min-values", type=int, default=40)
    parser.add_argument("--no-coverage", action="store_true", help="only validate ids and tags")
    args = parser.parse_args()
    for what, path in (("question set", args.file), ("semantic layer", args.semantic), ("contract", args.contract)):
        if not os.path.isfile(path):
            sys.exit(f"{what} not found at {path}; pass its path (see --help)")
    names, personal, dimension_columns = load_semantic(args.semantic)
    domains = load_contract_values(args.contract)
    cases, problems = check_file(args.file, names, personal, domains, dimension_columns)
    if not args.no_coverage:
        problems += coverage(cases, names, args.min_questions, args.min_values)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problem(s) in {args.file}")
    print(f"ok: every expected id in {args.file} exists")


if __name__ == "__main__":
    main()
