#!/usr/bin/env python3
"""Record input/output pairs of Manuel's Python cost calculators for `tests/cost_pairs.rs`.

Run with the Lambda-like interpreter (it has boto3):

    AWS_DEFAULT_REGION=eu-west-1 /work/main/.venv-lambda/bin/python \
        shared/tests/data/gen_cost_pairs.py [/tmp/manuel/backend/src/functions]

The two calculator files (query's EUR one, usage's USD one) are loaded under distinct module
names. Nothing talks to AWS: the CloudWatch client and the DynamoDB resource are swapped for
recorders, and the clock is pinned so timestamps and TTLs are reproducible.

Encoding of numbers, so that int vs float and every bit survive the JSON round trip:
``{"int": "<decimal>"}`` or ``{"float": "<repr>"}`` (repr also covers nan/inf). Strings given as
keyword arguments are ``{"str": "..."}``.
"""

import datetime as dt_module
import importlib.util
import io
import json
import math
import os
import random
import sys
import time
from contextlib import redirect_stdout
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ["USAGE_TABLE_NAME"] = "usage-table-for-recording"
# Lambda runs with TZ=UTC; a naive datetime's .timestamp() (used for the TTL) depends on it.
os.environ["TZ"] = "UTC"
time.tzset()

FUNCTIONS = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/manuel/backend/src/functions")
OUT = Path(__file__).with_name("cost_pairs.json")
REAL_DATETIME = dt_module.datetime


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULES = {
    "EUR": load("manuel_cost_query_eur", FUNCTIONS / "query" / "cost_calculator.py"),
    "USD": load("manuel_cost_usage_usd", FUNCTIONS / "usage" / "cost_calculator.py"),
}


# ---------------------------------------------------------------- clock and AWS stand-ins


def pinned_clock(instant):
    """A datetime subclass whose utcnow() is `instant` (a naive UTC datetime)."""

    class Pinned(REAL_DATETIME):
        @classmethod
        def utcnow(cls):
            return cls(
                instant.year,
                instant.month,
                instant.day,
                instant.hour,
                instant.minute,
                instant.second,
                instant.microsecond,
            )

    return Pinned


class Recorder:
    def __init__(self):
        self.calls = []

    def put_metric_data(self, **kwargs):
        self.calls.append(kwargs)

    def put_item(self, **kwargs):
        self.calls.append(kwargs)

    def Table(self, name):  # noqa: N802 (boto3's spelling)
        assert name == os.environ["USAGE_TABLE_NAME"]
        return self


class FakeBoto3:
    def __init__(self):
        self.dynamodb = Recorder()

    def resource(self, name):
        assert name == "dynamodb"
        return self.dynamodb


def calculator(currency):
    calc = MODULES[currency].get_cost_calculator()
    calc.cloudwatch = Recorder()
    return calc


# ---------------------------------------------------------------- encoding


def enc(value):
    if isinstance(value, bool):
        raise TypeError("bools are not recorded")
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, str):
        return {"str": value}
    raise TypeError(type(value))


def all_finite(*values):
    return all(not isinstance(v, float) or math.isfinite(v) for v in values)


def fits_i64(*values):
    return all(not isinstance(v, int) or -(2**63) <= v < 2**63 for v in values)


def service_cost_record(cost):
    rec = {
        "service": cost.service,
        "operation": cost.operation,
        "quantity": enc(cost.quantity),
        "unit": cost.unit,
        "unit_cost": enc(cost.unit_cost),
        "total_cost": enc(cost.total_cost),
        "currency": cost.currency,
    }
    if all_finite(cost.quantity, cost.unit_cost, cost.total_cost) and fits_i64(cost.quantity):
        rec["asdict_json"] = json.dumps(asdict(cost))
    return rec


# ---------------------------------------------------------------- case builders

cases = []


def pricing_case(currency):
    table = calculator(currency).pricing
    entries = {}
    for service, prices in table.items():
        for key, value in prices.items():
            if isinstance(value, dict):
                for sub, price in value.items():
                    entries[f"{service}/{key}/{sub}"] = repr(price)
            else:
                entries[f"{service}/{key}"] = repr(value)
    cases.append({"kind": "pricing", "currency": currency, "entries": entries})


def method_case(currency, method, *args, note=""):
    calc = calculator(currency)
    cost = getattr(calc, f"calculate_{method}_cost")(*args)
    case = {
        "kind": "service_cost",
        "currency": currency,
        "method": method,
        "args": [enc(a) for a in args],
        "result": service_cost_record(cost),
    }
    if note:
        case["note"] = note
    if not fits_i64(*args, cost.quantity):
        case["rust_expects_error"] = "integer outside the 64-bit range"
    cases.append(case)


def request_case(currency, request_id, user_id, operation, kwargs, instant, note=""):
    module = MODULES[currency]
    calc = calculator(currency)
    pinned = pinned_clock(instant)
    fake_boto3 = FakeBoto3()
    saved_module_datetime, saved_boto3 = module.datetime, module.boto3
    module.datetime, module.boto3 = pinned, fake_boto3
    # store_cost_data imports datetime inside the function, from the datetime module itself.
    dt_module.datetime = pinned
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            rc = calc.calculate_request_cost(request_id, user_id, operation, **kwargs)
            calc.emit_cost_metrics(rc)
            calc.store_cost_data(rc)
    finally:
        module.datetime, module.boto3 = saved_module_datetime, saved_boto3
        dt_module.datetime = REAL_DATETIME
    assert out.getvalue() == "", out.getvalue()

    (item_call,) = fake_boto3.dynamodb.calls
    item = item_call["Item"]
    store_item = []
    for name, value in item.items():
        if isinstance(value, str):
            store_item.append([name, "S", value])
        elif isinstance(value, int):
            store_item.append([name, "N", str(value)])
        else:
            raise TypeError(f"{name}: {type(value)}")

    metrics = []
    for call in calc.cloudwatch.calls:
        (datum,) = call["MetricData"]
        metrics.append(
            {
                "namespace": call["Namespace"],
                "metric_name": datum["MetricName"],
                "value": enc(datum["Value"]),
                "unit": datum["Unit"],
                "dimensions": [[d["Name"], d["Value"]] for d in datum.get("Dimensions", [])],
                "timestamp": datum["Timestamp"].isoformat(),
            }
        )

    case = {
        "kind": "request_cost",
        "currency": currency,
        "request_id": request_id,
        "user_id": user_id,
        "operation": operation,
        "kwargs": {k: enc(v) for k, v in kwargs.items()},
        "now": instant.isoformat(),
        "now_micros": instant.microsecond,
        "timestamp": rc.timestamp,
        "total_cost": enc(rc.total_cost),
        "service_costs": [service_cost_record(c) for c in rc.service_costs],
        "to_dict_json": json.dumps(rc.to_dict()),
        "store_item": store_item,
        "metrics": metrics,
    }
    if note:
        case["note"] = note
    cases.append(case)


def tokens_case(text, note=""):
    results = {cur: calculator(cur).estimate_tokens_from_text(text) for cur in MODULES}
    assert results["EUR"] == results["USD"]
    cases.append(
        {
            "kind": "estimate_tokens",
            "text": text,
            "code_points": len(text),
            "utf8_bytes": len(text.encode("utf-8")),
            "tokens": results["EUR"],
            "note": note,
        }
    )


def audio_case(size):
    results = {cur: calculator(cur).estimate_audio_duration(size) for cur in MODULES}
    assert repr(results["EUR"]) == repr(results["USD"])
    cases.append({"kind": "estimate_audio", "size": enc(size), "seconds": enc(results["EUR"])})


def round_case(x, ndigits, note=""):
    case = {"kind": "round", "x": enc(x), "ndigits": ndigits}
    try:
        case["result"] = enc(round(x, ndigits))
    except OverflowError as e:
        case["error"] = f"OverflowError: {e}"
    if note:
        case["note"] = note
    cases.append(case)


def isoformat_case(instant):
    cases.append(
        {
            "kind": "isoformat",
            "fields": [
                instant.year,
                instant.month,
                instant.day,
                instant.hour,
                instant.minute,
                instant.second,
                instant.microsecond,
            ],
            "isoformat": instant.isoformat(),
        }
    )


# ---------------------------------------------------------------- the cases

NOW = REAL_DATETIME(2026, 11, 27, 5, 54, 50, 137848)
NOW_WHOLE = REAL_DATETIME(2026, 11, 27, 5, 54, 50)
NOW_SMALL_US = REAL_DATETIME(2025, 3, 30, 0, 59, 59, 7)
SONNET35 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
SONNET4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"

for cur in MODULES:
    pricing_case(cur)

    # bedrock: known models, fallback, ids with and without dots, edges
    method_case(cur, "bedrock", SONNET35, 1200, 350)
    method_case(cur, "bedrock", SONNET4, 52, 1999)
    method_case(cur, "bedrock", TITAN, 4096, 0, note="titan has no output price: int 0")
    method_case(cur, "bedrock", TITAN, 4096, 10, note="output tokens times int 0")
    method_case(cur, "bedrock", TITAN, 4096, 10.0, note="float output tokens times int 0")
    method_case(cur, "bedrock", "meta.llama3-70b-instruct-v1:0", 1000, 1000, note="fallback")
    method_case(cur, "bedrock", "no-dots-in-this-id", 7, 3, note="fallback, no dot")
    method_case(cur, "bedrock", "trailing.dot.", 7, 3, note="empty last segment")
    method_case(cur, "bedrock", SONNET35, 0, 0, note="no tokens: unit_cost int 0")
    method_case(cur, "bedrock", SONNET35, 10**15, 3 * 10**14, note="huge")
    method_case(cur, "bedrock", SONNET35, 2**53 + 1, 0, note="int rounds on conversion")
    method_case(cur, "bedrock", SONNET35, 1500.5, 20, note="float tokens")
    method_case(cur, "bedrock", SONNET35, -100, 40, note="negative sum")
    method_case(cur, "bedrock", SONNET35, float("inf"), 1, note="inf tokens")
    method_case(cur, "bedrock", SONNET35, 2**62, 2**62, note="sum beyond i64")

    # transcribe
    for d in (0, 30, 30.0, 0.1, 12.345678, 3600, -5, 1e-300, float("nan")):
        method_case(cur, "transcribe", d)

    # lambda
    for ms, mb in (
        (0.1, 128),
        (100, 256),
        (1234, 1769),
        (900000, 10240),
        (0, 512),
        (0.0, 512),
        (-20, 128),
        (2500.75, 1024.5),
        (2**60 + 1, 128),
        (1, 3),
    ):
        method_case(cur, "lambda", ms, mb)

    # dynamodb
    for r, w in ((0, 0), (1, 1), (0, 1), (25, 0), (3.5, 2), (10**12, 10**12), (-1, 0), (-1, 3)):
        method_case(cur, "dynamodb", r, w)

    # s3 (storage_gb, put, get)
    for args in (
        (0, 0, 0),
        (0, 1, 1),
        (0.5, 10, 100),
        (1e-9, 0, 1),
        (12.75, 3, 0),
        (0, 2**60 + 1, 0),
        (0, 9007199254740993, 999),
        (-2, 5, 5),
        (3, 0.5, 0),
    ):
        method_case(cur, "s3", *args)

    # api gateway
    for n in (1, 0, 1000000, 3, 2.5, -1, 10**18):
        method_case(cur, "api_gateway", n)

# int / int true division that a naive float(a) / 1000.0 gets wrong: find one and record it.
naive_breaker = next(
    a for a in range(2**62 + 1, 2**62 + 100000) if a / 1000 != float(a) / 1000.0
)
method_case("EUR", "s3", 0, naive_breaker, 0, note="correctly rounded int/int division")
method_case("EUR", "lambda", naive_breaker, 128, note="correctly rounded int/int division")

# calculate_request_cost
QUERY_HANDLER_KWARGS = dict(
    model_id=SONNET4,
    input_tokens=1834,
    output_tokens=412,
    audio_duration_seconds=0,
    context_chunks=5,
    response_time_ms=2731,
)
for cur in MODULES:
    request_case(cur, "req-1", "user-1", "query", QUERY_HANDLER_KWARGS, NOW,
                 note="exactly what the query handler passes: only API Gateway")
    request_case(cur, "req-2", "user-1", "transcribe", dict(QUERY_HANDLER_KWARGS,
                 audio_duration_seconds=30), NOW_WHOLE, note="query handler, audio path")
    request_case(cur, "req-3", "user-2", "query", {}, NOW_SMALL_US, note="no params")
    request_case(
        cur,
        "req-4",
        "user-3",
        "query",
        dict(
            lambda_duration_ms=1543,
            lambda_memory_mb=1024,
            dynamodb_reads=2,
            dynamodb_writes=1,
            embedding_tokens=230,
            text_input_tokens=1800,
            text_output_tokens=420,
        ),
        NOW,
    )
    request_case(
        cur,
        "req-5",
        "user-3",
        "query",
        dict(
            embedding_tokens=100,
            embedding_model=SONNET4,
            text_input_tokens=10,
            text_output_tokens=20,
            text_model="mistral.mistral-large-2402-v1:0",
        ),
        NOW,
        note="explicit models, unknown text model falls back",
    )
    request_case(cur, "req-6", "u", "query", dict(text_input_tokens=5), NOW,
                 note="text needs both token counts")
    request_case(cur, "req-7", "u", "query", dict(lambda_duration_ms=100), NOW,
                 note="lambda needs both keys")
    request_case(cur, "req-8", "u", "query", dict(dynamodb_reads=4), NOW,
                 note="writes default to 1")
    request_case(cur, "req-9", "u", "query", dict(dynamodb_writes=0), NOW,
                 note="reads default to 0, zero units")
    request_case(
        cur,
        "req-10",
        "u",
        "transcribe",
        dict(
            transcribe_duration_seconds=61.44,
            s3_put_requests=1,
            lambda_duration_ms=30123,
            lambda_memory_mb=512,
            dynamodb_reads=1,
            dynamodb_writes=1,
        ),
        NOW,
        note="transcribe handler shape; get requests default to 1",
    )
    request_case(cur, "req-11", "u", "transcribe",
                 dict(s3_put_requests=2, s3_get_requests=0, transcribe_duration_seconds=30),
                 NOW, note="int transcribe duration stays an int quantity")
    request_case(cur, "req-12", "u", "transcribe", dict(embedding_tokens=50), NOW,
                 note="query-only params ignored on transcribe")
    request_case(cur, "req-13", "u", "admin",
                 dict(lambda_duration_ms=5, lambda_memory_mb=128, transcribe_duration_seconds=3,
                      embedding_tokens=9), NOW, note="other operations: generic costs only")
    request_case(cur, "req-14", "u", "query", dict(text_input_tokens=0, text_output_tokens=0),
                 NOW, note="zero tokens")
    request_case(cur, "req-15", "ü-ser ✓", "query",
                 dict(text_input_tokens=3, text_output_tokens=4.5, lambda_duration_ms=0.1,
                      lambda_memory_mb=128), NOW, note="non-ASCII user, float tokens")

# A seeded sweep over the parameter space.
rng = random.Random(20261127)


def rand_num(kind_bias=0.5, lo=0, hi=5000):
    if rng.random() < kind_bias:
        return rng.randint(lo, hi)
    return round(rng.uniform(lo, hi), rng.randint(0, 6)) if rng.random() < 0.5 else rng.uniform(lo, hi)


OPTIONAL_KEYS = [
    "lambda_duration_ms",
    "lambda_memory_mb",
    "dynamodb_reads",
    "dynamodb_writes",
    "transcribe_duration_seconds",
    "s3_put_requests",
    "s3_get_requests",
    "embedding_tokens",
    "text_input_tokens",
    "text_output_tokens",
]
MODELS = [SONNET35, SONNET4, TITAN, "cohere.embed-english-v3", "plain"]
for i in range(120):
    cur = rng.choice(list(MODULES))
    kwargs = {}
    for key in OPTIONAL_KEYS:
        if rng.random() < 0.55:
            if key == "lambda_memory_mb":
                kwargs[key] = rng.choice([128, 256, 512, 1024, 1769, 3008, 10240, 1536.0])
            else:
                kwargs[key] = rand_num(hi=rng.choice([10, 5000, 10**7]))
    if rng.random() < 0.3:
        kwargs["embedding_model"] = rng.choice(MODELS)
    if rng.random() < 0.3:
        kwargs["text_model"] = rng.choice(MODELS)
    instant = REAL_DATETIME(2026, 1, 1) + dt_module.timedelta(
        seconds=rng.randint(0, 365 * 86400), microseconds=rng.choice([0, rng.randint(0, 999999)])
    )
    request_case(cur, f"sweep-{i}", f"user-{i % 7}", rng.choice(["query", "transcribe", "other"]),
                 kwargs, instant)

# Random single-method calls.
for i in range(80):
    cur = rng.choice(list(MODULES))
    method = rng.choice(["bedrock", "transcribe", "lambda", "dynamodb", "s3", "api_gateway"])
    if method == "bedrock":
        args = (rng.choice(MODELS), rand_num(hi=10**6), rand_num(hi=10**5))
    elif method == "transcribe":
        args = (rand_num(hi=7200),)
    elif method == "lambda":
        args = (rand_num(hi=900000), rng.choice([128, 256, 1769, 10240, rand_num(lo=128, hi=10240)]))
    elif method == "dynamodb":
        args = (rand_num(hi=100), rand_num(hi=100))
    elif method == "s3":
        args = (rand_num(hi=50), rand_num(hi=2000), rand_num(hi=2000))
    else:
        args = (rand_num(hi=10**6),)
    method_case(cur, method, *args)

# estimate_tokens_from_text
tokens_case("", "empty")
tokens_case("abc", "below one token")
tokens_case("abcd", "one token")
tokens_case("héllo wörld", "latin-1 accents: 11 code points, 13 bytes")
tokens_case("😀😀😀😀", "4 emoji: 4 code points, 16 bytes")
tokens_case("👩‍👩‍👧‍👦 family", "ZWJ sequence counts every code point")
tokens_case("日本語のマニュアルを検索する", "CJK")
tokens_case("e\u0301e\u0301", "combining accents")
tokens_case("x" * 1000, "1000 ASCII")
tokens_case("ß" * 999 + "€", "1000 code points, multi-byte")
tokens_case("What is the torque for the M8 bolt?" + " ".join(["context piece"] * 5), "handler-like")

# estimate_audio_duration
for size in (0, 1, 1048576, 3 * 1048576 + 17, 25 * 1024 * 1024, 2**53 + 1, 2**62 + 3, 1048576.5, -4096):
    audio_case(size)

# round(x, n)
for x, n, note in (
    (2.675, 2, "2.67499999... below the tie"),
    (0.125, 2, "exact tie, even"),
    (0.375, 2, "exact tie, odd -> up"),
    (1e-7, 6, "rounds to zero"),
    (-1e-7, 6, "negative rounds to -0.0"),
    (5e-7, 6, "just below the half"),
    (5.000000000000001e-07, 6, "just above the half"),
    (1.5e-6, 6, ""),
    (1.0000005, 6, "not exactly representable"),
    (0.0078125, 6, "exact tie 7812.5e-6 -> even"),
    (0.0234375, 6, "exact tie 23437.5e-6 -> even (up)"),
    (-0.0078125, 6, "negative tie"),
    (123456789.123456789, 6, "large"),
    (1e20, 6, "integral"),
    (1.7976931348623157e308, 6, "max"),
    (5e-324, 6, "min subnormal"),
    (0.0, 6, "zero"),
    (-0.0, 6, "negative zero"),
    (2.5, 0, "half-even to 2"),
    (3.5, 0, "half-even to 4"),
    (-0.5, 0, "-0.0"),
    (0.5, 0, ""),
    (1234.5, -1, "negative ndigits"),
    (1250.0, -2, "tie at hundreds -> 1200"),
    (1350.0, -2, "tie at hundreds -> 1400"),
    (49.99, -2, "rounds to zero"),
    (-51.0, -2, "-100"),
    (1.7976931348623157e308, -308, "overflow"),
    (1.7976931348623157e308, -309, "below NDIGITS_MIN"),
    (-3.0, -400, "signed zero below NDIGITS_MIN"),
    (5e-324, 323, "subnormal at the edge"),
    (5e-324, 324, "beyond NDIGITS_MAX"),
    (0.1, 400, "beyond NDIGITS_MAX"),
    (0.1, 17, ""),
    (0.1, 16, ""),
    (float("nan"), 6, "nan"),
    (float("inf"), 6, "inf"),
    (float("-inf"), -2, "-inf"),
):
    round_case(x, n, note)
for n in range(0, 22):
    round_case(rng.randrange(1, 2 * 10**6, 2) / 2 ** (n + 1), n, "constructed exact tie")
for _ in range(300):
    x = rng.choice(
        [
            rng.uniform(-1, 1),
            rng.uniform(0, 1e-3),
            rng.uniform(0, 1e6),
            rng.random() * 10 ** rng.randint(-30, 30),
            rng.randint(0, 10**9) / 10**6,
            rng.randint(0, 10**7) / 2**rng.randint(0, 30),
        ]
    )
    round_case(x, rng.choice([6, 6, 6, rng.randint(-8, 20)]))

# isoformat
for instant in (
    NOW,
    NOW_WHOLE,
    NOW_SMALL_US,
    REAL_DATETIME(1, 1, 1),
    REAL_DATETIME(999, 12, 31, 23, 59, 59, 999999),
    REAL_DATETIME(2024, 2, 29, 12, 0, 0, 100000),
):
    isoformat_case(instant)

kinds = {}
for case in cases:
    kinds[case["kind"]] = kinds.get(case["kind"], 0) + 1

header = {
    "generated_by": "shared/tests/data/gen_cost_pairs.py",
    "python": sys.version.split()[0],
    "sources": {cur: "/".join(Path(m.__file__).parts[-2:]) for cur, m in MODULES.items()},
    "counts": kinds,
}
# One case per line: diffs of a regenerated file stay readable.
lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)
head = json.dumps(header, ensure_ascii=False)[:-1]
OUT.write_text(f'{head}, "cases": [\n{lines}\n]}}\n', encoding="utf-8")
print(f"wrote {len(cases)} cases to {OUT}: {kinds}")
