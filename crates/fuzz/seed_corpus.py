#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the project's own files, into
crates/fuzz/corpus/<target>/ (cargo fuzz's default corpus directory, not committed):

- sql_policy: every query of fixtures/hostile_sql.jsonl and every gold query of eval/questions/*.jsonl;
- chart_spec: every golden chart spec of crates/chart/tests/snapshots (the insta header removed);
- both: the hand-written seeds of fixtures/fuzz/corpus/<target>/ and the regression inputs of
  fixtures/fuzz/regressions/<target>/.

Run from anywhere: python3 crates/fuzz/seed_corpus.py
"""
import glob
import hashlib
import json
import os

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def write(target, name, text):
    if isinstance(text, str):
        text = text.encode()
    directory = os.path.join(ROOT, "crates", "fuzz", "corpus", target)
    os.makedirs(directory, exist_ok=True)
    # The content hash keeps names unique when two sources share an id.
    digest = hashlib.sha1(text).hexdigest()[:8]
    with open(os.path.join(directory, f"{name}-{digest}"), "wb") as out:
        out.write(text)


def jsonl(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main():
    counts = {"sql_policy": 0, "chart_spec": 0}
    for case in jsonl(os.path.join(ROOT, "fixtures", "hostile_sql.jsonl")):
        write("sql_policy", "hostile-" + case["id"], case["sql"])
        counts["sql_policy"] += 1
    for path in glob.glob(os.path.join(ROOT, "eval", "questions", "*.jsonl")):
        for case in jsonl(path):
            if case.get("gold_sql"):
                write("sql_policy", "gold-" + case["id"], case["gold_sql"])
                counts["sql_policy"] += 1
    for path in glob.glob(os.path.join(ROOT, "crates", "chart", "tests", "snapshots", "*_spec.snap")):
        with open(path) as snap:
            # An insta snapshot: a `---`-fenced header, then the JSON.
            body = snap.read().split("---\n", 2)[2]
        write("chart_spec", os.path.basename(path).removesuffix(".snap"), body)
        counts["chart_spec"] += 1
    for target in counts:
        kept = glob.glob(os.path.join(ROOT, "fixtures", "fuzz", "corpus", target, "*"))
        for path in kept + glob.glob(os.path.join(ROOT, "fixtures", "fuzz", "regressions", target, "*")):
            with open(path, "rb") as regression:
                write(target, "kept-" + os.path.basename(path), regression.read())
            counts[target] += 1
    for target, count in counts.items():
        print(f"{target}: {count} seeds in crates/fuzz/corpus/{target}")


if __name__ == "__main__":
    main()
