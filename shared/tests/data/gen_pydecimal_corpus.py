#!/usr/bin/env python3
"""Record what CPython's decimal module and boto3 do with DynamoDB numbers, for the Rust
`manuel_shared::pydecimal` module to be checked against.

Writes pydecimal_corpus.json next to this file:
    {"python": version, "boto3": version, "seed": SEED, "cases": [...]}

Each case is [op, a, b, result] (b null for unary ops). Operands are tagged:
    {"n": text}   the Decimal boto3's TypeDeserializer makes of DynamoDB number text
    {"i": int}    a Python int (always within 64 bits)
    {"f": repr}   a Python float (repr(), so that it round-trips)
Results are tagged the same way, plus
    {"d": str(decimal)}  a Decimal
    {"i": str(int)}      an int of any size (as text)
    {"b": bool}
    {"zero": true}       max(0, x) returned its int 0
    {"pick": 0 | 1}      max(a, b) returned its first / second argument
    {"s": text}          the N text boto3's TypeSerializer writes
    {"e": [type(e).__name__, str(e)]}   the exception raised
Ops (the default context throughout, as a Lambda handler computes: prec 28, ROUND_HALF_EVEN,
traps InvalidOperation, DivisionByZero, Overflow):
    parse        TypeDeserializer().deserialize({"N": text})         -> d | e
    serialize    TypeSerializer().serialize(parse(a))["N"]             -> s | e
    incr         serialize(parse(a) + 1)   (UsageTracker's put_item)   -> s | e
    add sub mul div                 a OP b                               -> d | e
    ge gt                           a >= b, a > b                        -> b | e
    round0 round1 round2            round(a, n)                          -> d | e
    float                           float(a)                             -> f | e
    int                             int(a)                               -> i | e
    max0                            max(0, a)                            -> zero | d | e
    max                             max(a, b)  (a, b: Decimal, float, int) -> pick | e
    int_add                         int(a) + int(b)                      -> i | e
    int_sub int_truediv             a - b, a / b   on ints               -> i | f | e
    quota        the quota endpoint's arithmetic on one counter a and quota b:
                 {"remaining": ..., "percent": ..., "status": ...} or e (the first exception)
    usage        the usage endpoint's: {"queries": float(a), "remaining": float(b - a)} or e

Inputs are hand-picked (DynamoDB's extremes, values around the quotas 50 and 1000 and the status
thresholds, rounding ties) plus seeded random numbers over DynamoDB's whole range, so re-running
on the same Python gives the same file.

Usage: .venv-lambda/bin/python shared/tests/data/gen_pydecimal_corpus.py   (the Lambda venv:
CPython 3.11 with the pinned boto3 of scripts/python/lambda-runtime.txt)
"""

import decimal
import json
import os
import random
import sys

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

SEED = 20261201
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pydecimal_corpus.json")
DESER = TypeDeserializer()
SER = TypeSerializer()


def fresh():
    """A handler's context: Python's default one, flags cleared."""
    decimal.setcontext(decimal.Context())


def parse(text):
    return DESER.deserialize({"N": text})


def tag(v):
    if isinstance(v, bool):
        return {"b": v}
    if isinstance(v, decimal.Decimal):
        return {"d": str(v)}
    if isinstance(v, int):
        return {"i": str(v)}
    if isinstance(v, float):
        return {"f": repr(v)}
    raise TypeError(type(v))


def exc(e):
    return {"e": [type(e).__name__, str(e)]}


def run(fn):
    fresh()
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - every exception is data here
        return exc(e)


def operand(o):
    if "n" in o:
        return parse(o["n"])
    if "i" in o:
        return o["i"]
    return float(o["f"])


CASES = []


def case(op, r, a, b=None):
    CASES.append([op, a, b, r])


# --- inputs ----------------------------------------------------------------------------------

MAX = "9.9999999999999999999999999999999999999E+125"
EDGE = [
    "0", "-0", "0.000", "-0.0", "0E+10", "0E-130", "1", "-1", "3", "2.5", "7.25", "1.9", "0.5",
    "0.05", "-2.5", "1E-130", "-1E-130", "1E-129", "1E-128", "1.5E-129", "1E-40", "-1E-40",
    "0.00000000000000000000000000000000000001", MAX, "-" + MAX, "1E+126", "-1E+126", "1E+125",
    "12345678901234567890123456789012345678", "99999999999999999999999999999999999999",
    # only trailing zeros below Etiny: boto3 raises Rounded, not Underflow
    "10000000000000000000000000000000000000E-166", "1.0000000000000000000000000000000000000E-130",
    "-12345678901234567890123456789012345678", "1.2345678901234567890123456789012345678",
    "0.12345678901234567890123456789012345678", "123456789012345678901234567890.12345678",
    "1234567890123456789012345678", "12345678901234567890123456789",
    "9999999999999999999999999999", "99999999999999999999999999999",
    # around the daily quota (50) and its status thresholds (45, 37.5, 25 of 50)
    "49.99999999999999999999999999999", "49.9999999999999999999999999999999999",
    "49.999999999999999999999999999", "49.99999999999999999999999999", "50", "50.0", "5E+1",
    "50.00000000000000000000000000000000001", "49.95", "49.949999999999999999999999", "50.05",
    "44.99999999999999999999999999999", "45", "37.5", "37.49999999999999999999999999999",
    "25", "24.99999999999999999999999999999", "24.999999999999999999999999999999999999",
    # around the monthly quota (1000) and its thresholds
    "999.9999999999999999999999999999", "999.99999999999999999999999999999999", "1000",
    "1E+3", "1000.0000000000000000000000000000000001", "899.99999999999999999999999999999",
    "900", "750", "749.9999999999999999999999999999999", "500", "499.99999999999999999999999999",
    # percentages that round at a tie of the first decimal (half-even) or just beside it
    "0.025", "0.075", "0.0249999999999999999999999999999", "0.02500000000000000000000000000001",
    "0.125", "0.375", "0.00005", "0.00015", "0.0005", "0.0015", "0.049999999999999999999999999999",
    "0.05000000000000000000000000001", "0.95", "0.94999999999999999999999999999999",
    "0.00049999999999999999999999999999", "33.33333333333333333333333333333333333",
    "0.1", "0.3", "1.05", "1.15", "1.25",
    # written in other ways DynamoDB (moto) keeps as given
    "+5", ".5", "5.", "1e+2", "001", "1E+0", "4.5E+1", "0.5E2", "\u0661\u0662", "\u0665\u0660",
]
# Texts that parse to something odd (NaN, an exception) or that moto keeps although DynamoDB
# would normalise or refuse them; parse/serialize/float/int only, plus the specials as operands.
ODD = [
    "1_0", "_1", "1__0", " 3", "3 ", "\u00a03", "1\u00a02", "abc", "", "-", ".", "e5", "1e", "1e+",
    "0E-200", "0E-165", "0E-166", "0E+200", "1E-165", "1E-166", "1E-131", "1e127", "1E+127",
    "1.00000000000000000000000000000000000000000", "123456789012345678901234567890123456789",
    "1.2345678901234567890123456789012345678E-130", "1.234E-128",
    "1E-99999999999999999999", "0E+99999999999999999999", "0E-99999999999999999999",
    "1E+99999999999999999999", "1E+0000000000000000000126", "1E-0000000000000000000130",
    "1E+2147483648", "1E-2147483649", "1E+4294967296",
    "NaN", "-NaN", "sNaN", "-sNaN", "NaN123", "Infinity", "-Infinity", "inf", "-inf", "nan",
    "INF", "Inf", "iNfInItY", "NaN" + "9" * 38, "NaN" + "9" * 39, "sNaN1",
    "\u0661.\u0665", "\u0661e\u0662", "1\x00", "\uff11", "\U0001d7d9",
]
SPECIALS = ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "1_0"]
INTS = [0, 1, -1, 2, 3, 7, 50, 100, 1000, 2000, 9223372036854775807, -9223372036854775808]
FLOATS = [0.0, -0.0, 2.0, 100.0, 90.0, 33.33333333333333, 0.1, 1e-130, 5e-324, 1e126, 1e308,
          float("inf"), float("-inf"), float("nan"), 49.99999999999999, 50.00000000000001]


def random_number(rng):
    """A number DynamoDB accepts: 1 to 38 significant digits, magnitude in [1E-130, 1E+126)."""
    ndigits = rng.choice([1, 1, 2, 3, 5, 10, 17, 27, 28, 29, 30, 37, 38, 38, rng.randint(1, 38)])
    coeff = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(ndigits - 1))
    adjusted = rng.choice([rng.randint(-130, 125), rng.randint(-5, 5), rng.randint(-30, 30),
                           rng.choice([-130, -129, 125])])
    exp = adjusted - (ndigits - 1)
    sign = rng.choice(["", "", "-"])
    style = rng.randint(0, 2)
    if style == 0:
        return f"{sign}{coeff}E{exp:+d}"
    d = decimal.Decimal(f"{sign}{coeff}E{exp}")
    # plain notation only where it keeps the 38 digits (trailing zeros of an integer count)
    plain = style == 1 and (exp < 0 or ndigits + exp <= 38) and adjusted > -60
    return format(d, "f") if plain else str(d)


def near(rng, base):
    """base ± 10^-k: a counter a hair under or over a quota or threshold."""
    k = rng.randint(1, 36)
    step = decimal.Decimal(f"{rng.choice([-1, 1])}E-{k}")
    return str(decimal.Context(prec=38).add(decimal.Decimal(base), step))


def main():
    rng = random.Random(SEED)
    rand = [random_number(rng) for _ in range(160)]
    rand += [near(rng, b) for b in ["50", "1000", "45", "37.5", "25", "900", "750", "500", "0"]
             for _ in range(4)]
    values = EDGE + rand

    # --- unary ---------------------------------------------------------------------------------
    for t in values + ODD:
        a = {"n": t}
        case("parse", run(lambda: tag(parse(t))), a)
        case("serialize", run(lambda: {"s": SER.serialize(parse(t))["N"]}), a)
        case("incr", run(lambda: {"s": SER.serialize(parse(t) + 1)["N"]}), a)
        case("float", run(lambda: tag(float(parse(t)))), a)
        case("int", run(lambda: tag(int(parse(t)))), a)
        for n in (0, 1, 2):
            case(f"round{n}", run(lambda: tag(round(parse(t), n))), a)
        case("max0", run(lambda: (lambda r: {"zero": True} if type(r) is int else tag(r))(
            max(0, parse(t)))), a)

    # --- binary, Decimal with int / Decimal / float ------------------------------------------------
    def parses(t):
        try:
            parse(t)
            return True
        except decimal.DecimalException:
            return False

    ok_values = [t for t in values if parses(t)]
    ok_rand = [t for t in rand if parses(t)]
    ops = {
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y,
        "ge": lambda x, y: x >= y,
        "gt": lambda x, y: x > y,
    }
    # Decimal OP int and (what the handlers write: limit - used, 0 > used) int OP Decimal
    for t in [t for t in EDGE if parses(t)] + ok_rand[:40] + SPECIALS:
        for i in INTS:
            for name, fn in ops.items():
                case(name, run(lambda: tag(fn(parse(t), i))), {"n": t}, {"i": i})
                if name in ("sub", "div", "ge", "gt"):
                    case(name, run(lambda: tag(fn(i, parse(t)))), {"i": i}, {"n": t})
    pair_values = ok_values[:24] + ok_values[60:66] + ok_rand[:8] + SPECIALS
    for t in pair_values:
        for u in pair_values:
            for name, fn in ops.items():
                case(name, run(lambda: tag(fn(parse(t), parse(u)))), {"n": t}, {"n": u})
    for t in ok_values[:30] + ok_values[60:80] + SPECIALS:
        for f in FLOATS:
            for name in ("ge", "gt"):
                fn = ops[name]
                case(name, run(lambda: tag(fn(parse(t), f))), {"n": t}, {"f": repr(f)})
                case(name, run(lambda: tag(fn(f, parse(t)))), {"f": repr(f)}, {"n": t})

    # --- max() of percentages: Decimal, float or the int 0 in either place ------------------------
    pct = [{"n": t} for t in ["0", "-0", "50", "99.9", "100", "100.0", "1E-130", "NaN", "2E+127"]]
    pct += [{"f": repr(f)} for f in [0.0, -0.0, 50.0, 100.0, 99.99999999999999, float("nan")]]
    pct += [{"i": 0}, {"i": 100}]
    for a in pct:
        for b in pct:
            def pick():
                x, y = operand(a), operand(b)
                return {"pick": 0 if max(x, y) is x else 1}
            case("max", run(pick), a, b)

    # --- ints: int(d) sums (the operation breakdown), int arithmetic of the quotas ----------------
    int_values = ["0", "-0", "1.9", "-1.9", MAX, "-" + MAX, "1E+126", "12345678901234567890123456789012345678",
                  "1E-130", "NaN", "Infinity"] + rand[:20]
    for t in int_values:
        for u in int_values:
            case("int_add", run(lambda: tag(int(parse(t)) + int(parse(u)))), {"n": t}, {"n": u})
    for i in INTS:
        for j in INTS:
            case("int_sub", run(lambda: tag(i - j)), {"i": i}, {"i": j})
            case("int_truediv", run(lambda: tag(i / j)), {"i": i}, {"i": j})
    for i in [1, 3, 2**53 + 1, 2**53 + 3, 2**62 + 1, 9223372036854775807, -(2**63)]:
        for j in [3, 7, 2**53 + 1, 2**60 + 3, 9223372036854775807, 10**18 + 9]:
            case("int_truediv", run(lambda: tag(i / j)), {"i": i}, {"i": j})

    # --- the handlers' arithmetic, end to end ----------------------------------------------------
    def status(daily, monthly):
        m = max(daily, monthly)
        if m >= 100:
            return "EXCEEDED"
        if m >= 90:
            return "CRITICAL"
        if m >= 75:
            return "WARNING"
        if m >= 50:
            return "MODERATE"
        return "OK"

    def conv(v):
        return float(v) if isinstance(v, decimal.Decimal) else v

    for t in values + SPECIALS:
        for limit in [50, 1000, 3, 7, 2000, 1, 0, -5]:
            def quota():
                used = parse(t)
                remaining = max(0, limit - used)
                percent = (used / limit) * 100 if limit > 0 else 0
                rounded = round(percent, 1)
                # the other counter absent: 0 / limit * 100, a float (or the int 0)
                other = (0 / limit) * 100 if limit > 0 else 0
                return {"remaining": tag(conv(remaining)), "percent": tag(conv(rounded)),
                        "status": status(percent, other)}
            case("quota", run(quota), {"n": t}, {"i": limit})

            def usage():
                used = parse(t)
                return {"queries": tag(conv(used)), "remaining": tag(conv(limit - used))}
            case("usage", run(usage), {"n": t}, {"i": limit})

    doc = {"python": sys.version.split()[0], "boto3": boto3.__version__, "seed": SEED,
           "cases": CASES}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{len(CASES)} cases -> {OUT}")


if __name__ == "__main__":
    main()
