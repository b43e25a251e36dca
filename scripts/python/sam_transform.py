"""Run the SAM transform on a template as CloudFormation would (aws-sam-translator, pinned in
scripts/python/tools.txt) and print what the tests check: per API route, its authorizer.

cfn-lint checks the template's shape but not what SAM makes of it; a property SAM refuses
(for example an intrinsic function around `Globals.Api.Auth`) is found only at deploy time.

    .venv/bin/python scripts/python/sam_transform.py TEMPLATE
    -> {"routes": {"GET /api/manuals": "CognitoAuth", "GET /health": "NONE", ...}}
Exit 1 with the translator's message when SAM refuses the template.
"""

import json
import os
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """SAM asks IAM for managed policy ARNs only for policy names; the templates use none."""

    def load(self):
        return {}


def packaged(node):
    """Local CodeUri/ContentUri folders become S3 URIs, as `sam package` makes them."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in ("CodeUri", "ContentUri") and isinstance(v, str) and not v.startswith("s3://"):
                out[k] = "s3://manuel-migrate-check/" + v.strip("/")
            else:
                out[k] = packaged(v)
        return out
    if isinstance(node, list):
        return [packaged(v) for v in node]
    return node


def main(path):
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    template, matches = decode(path)
    if template is None:
        print(f"{path}: not a template: {matches}", file=sys.stderr)
        return 1
    params = {
        "Stage": "dev",
        "CognitoUserPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_check",
        "CognitoUserPoolId": "eu-west-1_check",
        "CognitoClientIds": "client",
    }
    try:
        out = transform(packaged(dict(template)), params, NoManagedPolicies())
    except Exception as e:  # the translator's InvalidDocumentException lists every problem
        causes = getattr(e, "causes", None) or [e]
        for c in causes:
            print(f"{path}: SAM refuses it: {c}", file=sys.stderr)
        return 1
    routes = {}
    for res in out["Resources"].values():
        if res["Type"] != "AWS::ApiGateway::RestApi":
            continue
        body = res["Properties"].get("Body", {})
        for p, methods in body.get("paths", {}).items():
            for m, spec in methods.items():
                if not isinstance(spec, dict) or m == "options":
                    continue
                security = spec.get("security") or [{"NONE": []}]
                names = sorted(k for s in security for k in s)
                routes[f"{m.upper()} {p}"] = ",".join(names)
    print(json.dumps({"routes": routes}, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
