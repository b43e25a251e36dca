#!/usr/bin/env python3
"""Record what CPython's json.loads does with many inputs, for the Rust port to be checked against.

Writes pyloads_corpus.json next to this file: {"python": version, "seed": SEED, "cases": [...]}.
Each case has "input" (the text passed to json.loads) and either the value Python produced,
described by what the handlers look at:
    ok            json.dumps(value) with default arguments
    type          type(value).__name__
    truthy        bool(value)
    len           len(value) for str / list / dict
    encode_error  str(e) when value is a str and value.encode() raises UnicodeEncodeError
    question      the same description of value["question"] when value is a dict holding it
or the exception:
    exc           JSONDecodeError / ValueError / RecursionError
    error         str(e)
    pos, lineno, colno   for JSONDecodeError

Inputs are built from fixed hand-picked cases plus seeded random generation, so re-running on the
same Python version gives the same file. Inputs never contain raw surrogate characters (a Rust
&str cannot); lone surrogates only appear as \\udXXX escapes inside the JSON text.

Usage: python3 gen_pyloads_corpus.py   (from any directory)
"""

import json
import os
import random
import sys

SEED = 20250611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyloads_corpus.json")


def describe(value):
    """The facts about a decoded value that a handler's control flow depends on."""
    d = {"ok": json.dumps(value), "type": type(value).__name__, "truthy": bool(value)}
    if isinstance(value, (str, list, dict)):
        d["len"] = len(value)
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError as e:
            d["encode_error"] = str(e)
    return d


def outcome(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return {
            "exc": "JSONDecodeError",
            "error": str(e),
            "pos": e.pos,
            "lineno": e.lineno,
            "colno": e.colno,
        }
    except (ValueError, RecursionError) as e:
        return {"exc": type(e).__name__, "error": str(e)}
    d = describe(value)
    if isinstance(value, dict) and "question" in value:
        d["question"] = describe(value["question"])
    return d


# --- hand-picked edge cases -------------------------------------------------------------------

HAND = [
    # empty, whitespace, BOM, extra data
    "", " ", "\n", "\t\r\n ", "\x0c1", "\x0b1", "\u00a01", "\u20281", "1\u2028", "\u3000[]",
    "\ufeff", "\ufeff{}", "\ufeff1", " \ufeff1", '"\ufeff"', "1\ufeff", "[\ufeff]",
    "1 2", "{} {}", "[] x", '"a" "b"', "null null", "true false", "1 x", "1\n\n x", "[1,\n2,\n x]",
    "\r\n x", "\r\r x", "  [  ]  ", "[]\n", "{}\t\r\n",
    # literals
    "null", "true", "false", "NaN", "Infinity", "-Infinity", "nul", "tru", "fals", "nan", "inf",
    "infinity", "-inf", "-Inf", "-NaN", "+Infinity", "None", "True", "False", "NULL", "NaNx",
    "Infinity1", "-Infinityx", "nullx", "[NaN, Infinity, -Infinity]", "[nul]", "[-]", "[-a]",
    # numbers
    "0", "-0", "00", "-00", "0.0", "-0.0", "0e0", "0E-0", "1e+0", "1e5", "1E5", "1E+5", "1e-5",
    "1.5e", "1.5e+", "1.5E-3", "2.", "-.5", ".5", "+1", "1_000", "0x10", "1.0e", "1.e5", "1e", "1e-",
    "1e+", "01", "-01", "0.", "0.e1", "1..2", "1.2.3", "1e2e3", "--1", "-", "- 1",
    "9" * 18, "9" * 19, "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "18446744073709551615", "18446744073709551616", "-18446744073709551616",
    "1e308", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
    "2.4703282292062328e-324", "2.4703282292062327e-324", "5e-324", "1e-400", "-1e-400", "1e400",
    "-1e400", "0.1", "0.30000000000000004", "123456789012345678901234567890.5",
    "1" + "0" * 400 + ".0", "1e16", "1e15", "12345678901234567890e-10", "100", "1.0", "-1.5E+10",
    "4.35", "2.675", "1e22", "1e23", "9007199254740993", "9007199254740993.0",
    "0.1e1", "123.456e-789", "[1e400, -0, -0.0, 0]", "[01]", "[1.]", "[1e]", "{\"a\":1.}",
    # integer digit limit (ValueError, not JSONDecodeError)
    "1" * 4300, "1" * 4301, "-" + "1" * 4300, "-" + "1" * 4301, "[" + "1" * 4301 + ", x]",
    "1" * 4301 + ".0", "1" * 4301 + "e0", "[1, 2 " + "3" * 5000 + "]",
    # strings and escapes
    '""', '"a"', '"abc', '"', '"\\', '"\\"', '"\\\\"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\a"', '"\\x41"',
    '"\\U0041"', '"\\u0041"', '"\\u00e9"', '"\\u00E9"', '"\\u00G0"', '"\\u 123"', '"\\u12"', '"\\u12',
    '"\\u1234', '"\\u1234"', '"\\u"', '"\\u0000"', '"\\u001f"', '"\\u007f"', '"\\u2028"', '"\\ufeff"',
    '"\x00"', '"\x01"', '"\x1f"', '"\x7f"', '"\x80"', '"\u2028"', '"\t"', '"a\nb"', '"\\é"', '"é\\u12"',
    '"é"', '"😀"', '"😀😀" x', '["é", 1 2]', '"a"b', '"abc\\', "'a'", '"\\u00"', '"\\"x',
    # surrogates
    '"\\ud800"', '"\\udfff"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"', '"\\uD83D\\uDE00"',
    '"\\ud83d\\ude00', '"\\ud800\\ud800\\udc00"', '"\\ud800\\ud800\\udc00', '"\\ud800\\u"',
    '"\\ud800\\u12é"', '"\\ud800\\udc0"x', '"\\ud800\\\\"', '"\\ud800x"', '"\\udbff\\udfff"',
    '"\\ud800\\udc00\\udc00"', '"x\\ud800\\udc00y\\ud800\\ud800z"', '"a\\ud800"', '"😀\\ud800"',
    '"\\udfff\\udfff\\udfff"', '"\\ud800é\\udc00"', '"\\ud800\\u0041"', '"\\ud800\\n"',
    '"\\ud800\\uzzzz"', '"\\ud800\\u00"', '{"\\ud800": 1}', '{"\\ud800": 1, "\\ud800": 2}',
    '["\\udc00", "\\ud800"]', '"\\ud834\\udd1e"', '"\\ud800\\ud800"',
    # arrays and objects
    "[", "]", "[1", "[1,", "[1,]", "[,1]", "[1 2]", "[1,,2]", "[[[]]]", "[[[]]", "[]]", "{", "}",
    '{"a"', '{"a":', '{"a":1', '{"a":1,', '{"a":1,}', '{"a" 1}', '{"a":1 "b":2}', "{1:2}", "{'a':1}",
    '{"a":1,"a":2}', '{"b":1,"a":2,"b":3}', '{"a":{"b":{"c":[]}}}', '[{}, [], "", 0, 0.0, null, false]',
    '{"":""}', '{"a":[1,{"b":null}]}', '{,}', '{"a":1}}', "[}", "{]", '{"a"::1}', '{"a":1:2}',
    # handler-shaped bodies
    '{"question": "What?"}', '{"question": 5}', '{"question": 5.0}', '{"question": []}',
    '{"question": null}', '{"question": "\\ud800"}', '{"question": ""}', '{"question": NaN}',
    '{"Question": "x"}', '{"question": "x", "question": 7}', '{"question": {"a": 1}}',
    '{"question": true}', '{"question": "caf\\u00e9 \\ud83d\\ude00"}', '{"question": -0.0}',
    '{"question": "' + "x" * 300 + '"}', '{"question": ["a", "b"]}', '{"question": 0}',
    '"question"', '["question"]', '{"question": "a\\ud800b\\udc00"}',
    # nesting well past any recursion limit (homogeneous, so the failing kind is unambiguous)
    "[" * 5000, "[" * 5000 + "]" * 5000, '{"a":' * 3000, '{"a":' * 3000 + "0" + "}" * 3000,
    "[" * 20 + "]" * 20, "[" * 20 + "]" * 19, '{"a":' * 20 + "1" + "}" * 20,
]


# --- seeded random generation -----------------------------------------------------------------

rng = random.Random(SEED)

ASCII = [chr(c) for c in range(0x20, 0x7F)]
CONTROL = [chr(c) for c in range(0x00, 0x20)]
NON_ASCII = ["é", "ß", "☃", "中", "\u2028", "\u00a0", "\ufeff", "\u0301", "😀", "𝄞", "\U0010ffff",
             "\x80", "\x9f", "\uffff"]
SHORT_ESC = ['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]
BAD_ESC = ["\\a", "\\x", "\\'", "\\0", "\\U", "\\u12", "\\uGGGG", "\\", "\\é"]
SURR_ESC = ["\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\ud83d\\ude00", "\\ude00\\ud83d",
            "\\ud800\\ud800", "\\uD834\\uDD1E", "\\ud800\\u0041"]


def rand_string_body(valid):
    parts = []
    for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 13])):
        r = rng.random()
        if r < 0.45:
            parts.append(rng.choice(ASCII).replace('"', 'q').replace("\\", "/"))
        elif r < 0.6:
            parts.append(rng.choice(NON_ASCII))
        elif r < 0.72:
            parts.append(rng.choice(SHORT_ESC))
        elif r < 0.82:
            parts.append("\\u%04x" % rng.choice([0x41, 0xe9, 0x1f, 0x7f, 0x2028, 0xfeff, rng.randrange(0x10000)]))
        elif r < 0.92:
            parts.append(rng.choice(SURR_ESC))
        elif not valid:
            parts.append(rng.choice(BAD_ESC + CONTROL))
    return "".join(parts)


def rand_number(valid):
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(-1000, 1000))
    if r < 0.4:
        return str(rng.randint(-(10 ** 30), 10 ** 30))
    if r < 0.65:
        return repr(rng.uniform(-1e6, 1e6))
    if r < 0.75:
        mant = rng.choice(["1", "-1", "0", "2.5", "-0.0", "123.456", "9"])
        return "%s%s%s%d" % (mant, rng.choice("eE"), rng.choice(["", "+", "-"]), rng.randint(0, 400))
    if r < 0.85:
        return repr(rng.choice([0.1, 1e-7, 1e16, 5e-324, 1.7976931348623157e308, -2.5, 1e22]))
    if valid:
        return rng.choice(["0", "-0", "3.14", "1e3"])
    return rng.choice(["01", "1.", ".5", "+1", "1e", "1e+", "-", "0x1F", "1.2.3", "--1", "1_0"])


def ws(valid):
    r = rng.random()
    if r < 0.6:
        return ""
    if r < 0.95 or valid:
        return "".join(rng.choice(" \t\n\r") for _ in range(rng.randint(1, 3)))
    return rng.choice(["\x0c", "\x0b", "\u00a0", "\ufeff", "\u2028"])


def rand_doc(depth, valid, keys=None):
    """A JSON text; when not `valid`, some parts are allowed to be malformed."""
    r = rng.random()
    if depth <= 0 or r < 0.35:
        kind = rng.random()
        if kind < 0.35:
            return '"' + rand_string_body(valid) + '"'
        if kind < 0.7:
            return rand_number(valid)
        return rng.choice(["null", "true", "false", "NaN", "Infinity", "-Infinity"])
    if r < 0.65:
        items = [ws(valid) + rand_doc(depth - 1, valid) + ws(valid) for _ in range(rng.randint(0, 4))]
        return "[" + ",".join(items) + ("" if items else ws(valid)) + "]"
    members = []
    for _ in range(rng.randint(0, 4)):
        if rng.random() < 0.3:
            key = rng.choice(["question", "a", "b", "", "é"])
        else:
            key = rand_string_body(valid)
        members.append(ws(valid) + '"' + key + '"' + ws(valid) + ":" + ws(valid)
                       + rand_doc(depth - 1, valid) + ws(valid))
    return "{" + ",".join(members) + ("" if members else ws(valid)) + "}"


INSERTS = ['"', "\\", ",", ":", "[", "]", "{", "}", "0", "-", ".", "e", " ", "\n", "é", "😀", "\x01",
           "u", "\\u", "\\ud800", "N", "I", "\x7f", "\t", "'"]


def mutate(text):
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        i = rng.randint(0, len(text))
        if op < 0.3 and text:
            i = min(i, len(text) - 1)
            text = text[:i] + text[i + 1:]
        elif op < 0.6:
            text = text[:i] + rng.choice(INSERTS) + text[i:]
        elif op < 0.75:
            text = text[:i]
        elif op < 0.9 and text:
            j = rng.randint(i, min(len(text), i + 8))
            text = text[:j] + text[i:j] + text[j:]
        elif text:
            i = min(i, len(text) - 1)
            text = text[:i] + rng.choice(INSERTS) + text[i + 1:]
    return text


TOKENS = ["[", "]", "{", "}", ",", ":", '"', '"a"', '"question"', "1", "-", "0", ".", "e", "5",
          "null", "true", "NaN", "Infinity", " ", "\n", "\\u", "\\", "é", "😀", "\x00", "\\ud800"]


def token_soup():
    return "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 12)))


def main():
    inputs = list(HAND)
    for _ in range(450):
        inputs.append(rand_doc(rng.randint(0, 4), valid=True))
    for _ in range(250):
        inputs.append(rand_doc(rng.randint(0, 3), valid=False))
    for _ in range(500):
        inputs.append(mutate(rand_doc(rng.randint(1, 3), valid=True)))
    for _ in range(250):
        inputs.append(token_soup())

    seen = set()
    cases = []
    for text in inputs:
        if text in seen:
            continue
        seen.add(text)
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text), "raw surrogate in input"
        case = {"input": text}
        case.update(outcome(text))
        cases.append(case)

    with open(OUT, "w", encoding="ascii") as f:
        f.write('{"python": %s, "seed": %d, "cases": [\n' % (json.dumps(sys.version.split()[0]), SEED))
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")
    kinds = {}
    for c in cases:
        k = c.get("exc", "ok")
        kinds[k] = kinds.get(k, 0) + 1
    print("%d cases -> %s %s" % (len(cases), OUT, kinds))


if __name__ == "__main__":
    main()
