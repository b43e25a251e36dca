#!/usr/bin/env python3
"""Writes sort_corpus.json: what CPython's list.sort(key=..., reverse=...) does with lists of
DynamoDB values (Decimal, str, None, bool) — the permutation, or the message of the first
comparison that raised. Run with the Lambda interpreter (Python 3.11):

    .venv-lambda/bin/python shared/tests/data/gen_sort_corpus.py
"""
import json
import os
import random
import sys
from decimal import Decimal

assert sys.version_info[:2] == (3, 11), sys.version
rng = random.Random(20261201)


def value(kind):
    if kind == "N":
        return {"N": str(rng.choice([rng.randint(0, 50), rng.randint(1_700_000_000, 1_800_000_000)]))}
    if kind == "S":
        return {"S": f"2026-11-{rng.randint(1, 30):02d}T{rng.randint(0, 23):02d}:00:00"}
    if kind == "NULL":
        return {"NULL": True}
    return {"BOOL": rng.random() < 0.5}


def py(v):
    if "N" in v:
        return Decimal(v["N"])
    if "S" in v:
        return v["S"]
    if "NULL" in v:
        return None
    return v["BOOL"]


cases = []
for i in range(1500):
    n = rng.choice([0, 1, 2, 3, 5, 10, 31, 63, 64, 65, 100, 130, 257])
    shape = rng.random()
    if shape < 0.3:
        kinds = [rng.choice("NS")] * n  # homogeneous
    elif shape < 0.8:
        base = rng.choice("NS")
        kinds = [base] * n
        for _ in range(rng.randint(1, 3)):  # a few intruders
            if n:
                kinds[rng.randrange(n)] = rng.choice(["N", "S", "NULL", "BOOL"])
    else:
        kinds = [rng.choice(["N", "S", "NULL", "BOOL"]) for _ in range(n)]
    keys = [value(k) for k in kinds]
    reverse = rng.random() < 0.8
    order = list(range(n))
    try:
        order.sort(key=lambda j: py(keys[j]), reverse=reverse)
        out = {"order": order}
    except Exception as e:  # noqa: BLE001 - the message is the datum
        out = {"error": f"{type(e).__name__}: {e}"}
    cases.append({"keys": keys, "reverse": reverse, **out})

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sort_corpus.json")
with open(path + ".tmp", "w") as f:
    json.dump({"python": sys.version.split()[0], "cases": cases}, f, separators=(",", ":"))
os.replace(path + ".tmp", path)
print(path, len(cases), sum("error" in c for c in cases), "errors")
