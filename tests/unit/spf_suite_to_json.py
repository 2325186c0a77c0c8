#!/usr/bin/python3
"""Converts the RFC 7208 test suite that Debian's python3-spf ships
(rfc7208-tests.yml.gz, several YAML documents) into one JSON document on
stdout for tests/unit/spf_suite_test.cpp.

The zone is normalised the way python3-spf's own runner (testspf.py) reads
it: SPF (type 99) records are served as TXT when a name has no TXT records,
values "NONE" are dropped, TXT values become lists of strings.
Output: [{"description", "zone": {name: [[type, value], ...]},
          "tests": [{"id", "host", "helo", "mailfrom", "results": [...]}]}]
"""
import gzip
import json
import sys

import yaml


def records(name, entries):
    out, generated, has_txt = [], [], False
    for entry in entries:
        if entry == "TIMEOUT":
            out.append(["TIMEOUT", None])
            continue
        for rtype, value in entry.items():
            if rtype in ("TXT", "SPF") and isinstance(value, str):
                value = [value]
            if rtype == "TXT":
                has_txt = True  # even "NONE": a name with TXT gets no TXT made from SPF
            if value == ["NONE"] or value == "NONE":
                continue
            if rtype == "SPF":
                generated.append(["TXT", value])
                continue
            out.append([rtype, value])
    if not has_txt:
        out.extend(generated)
    return out


def main(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        documents = list(yaml.safe_load_all(f))
    scenarios = []
    for doc in documents:
        zone = {name.lower().rstrip("."): records(name, entries)
                for name, entries in (doc.get("zonedata") or {}).items()}
        tests = []
        for test_id, t in doc["tests"].items():
            results = t["result"] if isinstance(t["result"], list) else [t["result"]]
            tests.append({"id": test_id, "host": t["host"], "helo": t.get("helo", ""),
                          "mailfrom": t.get("mailfrom", ""), "results": results})
        scenarios.append({"description": doc.get("description", ""), "zone": zone, "tests": tests})
    json.dump(scenarios, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
