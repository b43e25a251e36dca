#!/usr/bin/env python3
"""Record what the manuals handler's JWT payload decoding does in CPython 3.11: the padding it
adds (`"=" * (4 - len(s) % 4)`) and `base64.b64decode` without validation, which drops every
character outside the standard alphabet — so base64url's `-` and `_` vanish and the rest is
read out of step. Writes b64_corpus.json next to this file: [{"input": s, "ok": hex} | {"input":
s, "error": str(e)}], for shared/tests/b64_corpus.rs (`py::b64decode`).

Usage: python3 shared/tests/data/gen_b64_corpus.py
"""
import base64
import json
import os
import random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "b64_corpus.json")
URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ODD = "+/= .!~\t"


def decode(s):
    padded = s + "=" * (4 - len(s) % 4)
    try:
        return {"input": s, "ok": base64.b64decode(padded).hex()}
    except Exception as e:  # binascii.Error, ValueError
        return {"input": s, "error": f"{type(e).__name__}: {e}"}


def main():
    rng = random.Random(20261201)
    inputs = ["", "e30", "eyJzdWIiOiJ1MSJ9", "eyJzdWIiOiJ1LTEifQ", "a", "ab", "abc", "abcd",
              "ab=c", "a=bc", "ab==", "abc=", "====", "a-b_c", "--__", "ab-", "abc-_",
              base64.urlsafe_b64encode(json.dumps({"sub": "13de3894-7f2b-4036-b438-656951553c15",
                                                   "token_use": "id", "x": "?>?>"}).encode()).decode().rstrip("=")]
    for _ in range(1500):
        n = rng.randint(0, 60)
        alphabet = URL + (ODD if rng.random() < 0.3 else "")
        inputs.append("".join(rng.choice(alphabet) for _ in range(n)))
    for _ in range(200):
        obj = {"sub": "".join(rng.choice(URL) for _ in range(rng.randint(1, 40))), "n": rng.random()}
        inputs.append(base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("="))
    seen, cases = set(), []
    for s in inputs:
        if s not in seen:
            seen.add(s)
            cases.append(decode(s))
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"cases": cases}, f, indent=0)
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
