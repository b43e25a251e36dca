#!/usr/bin/env python3
"""Record what CPython's urllib.parse.unquote and unquote_plus return for many inputs, for
manuel_shared::url to be checked against (tests/unquote_corpus.rs).

Writes unquote_corpus.json next to this file: {"python": version, "seed": SEED, "cases":
[{"input": s, "unquote": ..., "unquote_plus": ...}]}. Inputs are hand-picked classes (escapes
before, inside and after non-ASCII characters, truncated and invalid UTF-8 sequences, encoded
surrogates, overlong forms, `+`, a lone `%` at the end) plus seeded random strings over an
alphabet rich in `%`, hex digits and multi-byte characters. No input holds a raw surrogate (a
Rust &str cannot).

Usage: python3 gen_unquote_corpus.py   (from any directory)
"""
import json
import os
import random
import sys
from urllib.parse import unquote, unquote_plus

SEED = 20261201
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unquote_corpus.json")

FIXED = [
    "", "plain", "%", "%%", "%%41", "%4", "%41", "%4g", "%zz", "a%2", "a%2Fb", "%2f%2F",
    "%ü", "%aü", "%Cü", "%C3ü", "ü%BC", "%C3%BC", "%C3%BC%FF", "%FF%FE", "%C0%AF", "%E0%80%AF",
    "%ED%A0%80", "%ED%BF%BF", "%F4%90%80%80", "%F0%9F%98", "%F0%9F%98%80", "%F0%9F%98ü",
    "%E2%82", "%E2%82¬", "%E2%82%AC", "x%\U0001F600%41", "\U0001F600%F0", "%80", "%BF%80",
    "a+b", "a+b%2B", "%2B+", "+%20+", "My+Manual%28v2%29.pdf", "manuals%2Fuser-1%2Fx.pdf",
    "manuals/user-1/K%C3%BCche.pdf", "%00", "a%00b", "%0A%0d", "\x00%41", "%7F%80",
    "%e2%82%ac", "%E2%82%Ac", "%%C3%BC", "%C3%%BC", "%C3%", "%C3%B", "\u00e9%", "%\u00e9%",
]

ALPHABET = (["%"] * 6 + list("0123456789abcdefABCDEF") + list("gGzZ+ /.-_")
            + ["ü", "é", "€", "\U0001F600", "ß", "\u0800", "\uffff", "\x00", "\x7f"])


def random_case(rng):
    n = rng.randint(0, 24)
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def random_bytes_case(rng):
    """Escapes of random bytes, some mixed with literal characters: the invalid-UTF-8 space."""
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.7:
            parts.append("%%%02X" % rng.randrange(256))
        elif r < 0.85:
            parts.append(rng.choice(["ü", "a", "€", "\U0001F600"]))
        else:
            parts.append("%")
    return "".join(parts)


def main():
    rng = random.Random(SEED)
    inputs = list(FIXED)
    inputs += [random_case(rng) for _ in range(400)]
    inputs += [random_bytes_case(rng) for _ in range(400)]
    seen, cases = set(), []
    for s in inputs:
        if s in seen:
            continue
        seen.add(s)
        cases.append({"input": s, "unquote": unquote(s), "unquote_plus": unquote_plus(s)})
    doc = {"python": sys.version.split()[0], "seed": SEED, "cases": cases}
    tmp = OUT + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, indent=0)
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
