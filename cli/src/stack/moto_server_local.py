"""moto server as the local stack runs it: moto 5.2.5's server, with the corrections that make
its answers the ones AWS gives where a strict client (the Rust SDK) tells them apart. The CLI
embeds this file and writes it into the stack's run folder; it runs on the tools venv's Python
with moto_server's arguments:

    .venv/bin/python3 RUN_DIR/moto_server_local.py -H 127.0.0.1 -p PORT

Corrections (each measured; README, "Local AWS"):
- GetBucketVersioning: moto serialises the answer under a <GetBucketVersioningResponse> root;
  S3 answers <VersioningConfiguration> (with <Status> only once versioning was ever set).
  botocore ignores the root element, the Rust SDK rejects any other root as an unhandled error.

- Date: an answer carries the caller's clock (the X-Amz-Date it signed with) as its Date. The
  function processes run under a case's pinned clock; a Date weeks away makes the Rust SDK read
  each error answer as clock skew and retry it with backoff, which the deployed function never
  does (AWS's clock and Lambda's agree).

Speed (same answers, less work per request; measured in the README, "Stateful replay"):
- moto's dispatcher asks `list_of_moto_modules()` for every request, which lists and stats
  moto's package folder (some 75 stat calls each time); the folder does not change while the
  server runs, so the list is read once.
- `method_names_from_class` walks a response class's members with `inspect` on every request;
  a class's methods do not change either, so it is remembered per class.

Additions (not AWS APIs; only the CLI calls them):
- POST /__local/checkpoint keeps a deep copy of every backend's state and of moto's seeded
  random generator; POST /__local/restore puts that state back (a backend created after the
  checkpoint is reset instead). The stack checkpoints once it is provisioned and restores before
  each stateful case: the state a full reset, seed and provisioning would give, in about a
  millisecond instead of a few hundred (table, buckets, Cognito pool and users, queues and
  topics are not created again). Answers 200 with a JSON body, or 409 when nothing was
  checkpointed, or 500 with the Python error (the CLI then falls back to a full reset).
  A restore copies back only the services requests touched since the last one (a DynamoDB
  read and write touch DynamoDB; an S3 write, an SNS publish or any service not known to stay
  within itself touch everything); its answer says how many it restored.
  MANUEL_MOTO_FULL_RESTORE=1 in moto's environment restores everything every time.
  The restore may carry a case's setup as its JSON body ({"dynamodb": [{"table", "item"}],
  "s3": [{"bucket", "key", "body_base64", "content_type", "metadata"}]}, region=R in the
  query): moto's own put_item/put_object store it right after the restore, as PutItem and
  PutObject would (metadata as their headers give it), in one request instead of one per
  entry. A setup moto refuses answers 422 with the error. With state=1 in the query the answer
  also carries, under "state", what POST /__local/state would read right after the restore and
  the seed: a stateful case's "before" snapshot comes with its restore, one request less.
- POST /__local/state?region=R reads, in one request and under moto's lock, what a state
  snapshot holds: every DynamoDB item (wire JSON) with its table's key names, every S3 object
  (latest version; type, caching, user metadata, and the body's size and SHA-256, or the body
  itself when it is a PNG), every visible SQS message (body and message attributes) and every
  Transcribe job (status, language). The CLI's snapshot reads it instead of some fifteen SDK
  calls (the SDK reading stays as the fallback, and a test holds the two to the same result).
  Nothing is changed: no backend is created, no message's visibility moves, no job advances.
- GET /__local/alarms?prefix=P names the CloudWatch alarms (every account and region) whose
  name starts with P. The stack's alarm service asks it every tick: an AWS request would draw
  a request id from moto's seeded generator, and the ids a case draws would then depend on
  when the last tick was; this one draws nothing, touches nothing and creates no backend.
"""
import base64
import copy
import datetime
import email.utils
import hashlib
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import moto.backends
import moto.core.responses
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict, backend_lock
from moto.core.model_instances import reset_model_data
from moto.moto_api._internal import mock_random
from moto.s3.models import FakeDeleteMarker
from moto.s3.responses import S3Response
from moto.server import DomainDispatcherApplication, main

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{escape(status)}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="{S3_NS}">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_versioning = get_bucket_versioning

_MOTO_MODULES = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _MOTO_MODULES

_method_names = {}
_method_names_of = moto.core.responses.method_names_from_class


def _cached_method_names(clazz):
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names[clazz] = _method_names_of(clazz)
    return names


moto.core.responses.method_names_from_class = _cached_method_names

# Locks are state-free: a copy of one is a new, released lock.
copy._deepcopy_dispatch[type(threading.Lock())] = lambda lock, memo: threading.Lock()
copy._deepcopy_dispatch[type(threading.RLock())] = lambda lock, memo: threading.RLock()
# A Condition keeps its lock's bound methods, which deepcopy treats as atomic (they would still
# point at the original lock): a new Condition on the copied lock instead.
copy._deepcopy_dispatch[threading.Condition] = lambda cond, memo: threading.Condition(
    copy.deepcopy(cond._lock, memo)
)

_checkpoint = None


def _state_of(d):
    # A backend dict's accounts (each a dict of regions), and its own attributes: S3 keeps its
    # bucket → account registry there (`bucket_accounts`).
    return {a: dict(b) for a, b in d.items()}, dict(vars(d))


def _checkpoint_state(region):
    global _checkpoint
    with backend_lock:
        # CloudWatch's backend exists from its first request on; in the checkpoint from the
        # start (empty), a request to it restores CloudWatch alone instead of everything.
        _cloudwatch_backends()[DEFAULT_ACCOUNT_ID][region]
        dicts = list(BackendDict._instances)
        # One deepcopy for all, so that objects shared between backends stay shared.
        saved = copy.deepcopy([_state_of(d) for d in dicts])
        _checkpoint = (dicts, saved, mock_random.getstate())
        with _touched_lock:
            _touched.clear()
    return {"backends": len(dicts)}


# What requests touched since the last restore: moto's module names of the services
# ("cognitoidp", the name its dispatcher gives a request), or ALL. A restore copies back
# only those services' state (the deep copy is most of a restore's time, Cognito's alone about
# a millisecond). A request reaches only its own service's state, except where moto delivers to
# another service: S3 notifications, SNS deliveries, Lambda, EventBridge... — for those, and for
# any service not known here to stay within itself, everything counts as touched.
ALL = "*"
_SELF_CONTAINED = {"dynamodb", "sqs", "cognitoidp", "transcribe", "sts", "iam", "cloudwatch"}
_touched = {ALL}
_touched_lock = threading.Lock()
# MANUEL_MOTO_FULL_RESTORE=1: every restore copies every service back (to rule the tracking out).
_FULL_RESTORE = os.environ.get("MANUEL_MOTO_FULL_RESTORE") == "1"


def _touch(service, within_itself):
    with _touched_lock:
        _touched.add(service if within_itself else ALL)


def _request_touches(service, method):
    """Whether a request stays within its own service's state (reads of S3 do)."""
    return service in _SELF_CONTAINED or (service == "s3" and method in ("GET", "HEAD"))


def _module_of(backend_dict):
    """moto's module of a backend dict's service: `moto.cognitoidp.models` → cognitoidp."""
    parts = getattr(getattr(backend_dict, "backend", None), "__module__", "").split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "moto" else None


def _restore_state():
    if _checkpoint is None:
        return None
    dicts, saved, random_state = _checkpoint
    with backend_lock:
        with _touched_lock:
            touched = set(_touched)
            _touched.clear()
        names = {_module_of(d) for d in dicts}
        # A service without state in the checkpoint (its backends are reset below) or whose
        # name the checkpoint does not know: everything, to be safe.
        everything = _FULL_RESTORE or ALL in touched or not touched <= names
        # The services' indexes in the checkpoint; one deep copy for those restored (objects
        # shared between them stay shared).
        chosen = [
            i
            for i, d in enumerate(dicts)
            if everything or _module_of(d) in touched
        ]
        fresh = dict(zip(chosen, copy.deepcopy([saved[i] for i in chosen])))
        known = {id(d) for d in dicts}
        for i, (accounts, attributes) in fresh.items():
            d = dicts[i]
            vars(d).update(attributes)
            for account in list(d.keys()):
                if account not in accounts:
                    d[account].reset()
            for account, regions in accounts.items():
                backend = d[account]
                backend.clear()
                backend.update(regions)
        for d in list(BackendDict._instances):
            if id(d) not in known:
                for backend in d.values():
                    backend.reset()
        mock_random.setstate(random_state)
        # The instances moto tracks for /moto-api/data.json would only grow.
        reset_model_data()
    return {"backends": len(dicts), "restored": len(chosen), "touched": sorted(touched)}


def _backends(service, region):
    """The existing backends of one service in one region (or partition), every account."""
    for d in BackendDict._instances:
        if getattr(d, "service_name", None) != service:
            continue
        for regions in d.values():
            backend = dict.get(regions, region)
            if backend is not None:
                yield backend


PNG = b"\x89PNG\r\n\x1a\n"


def _as_header(text):
    """A header value as WSGI hands it to moto: the bytes sent, read as Latin-1."""
    return text.encode("utf-8").decode("latin-1")


def _of_header(value):
    """A stored header value as a client reads it back: the bytes on the wire, as UTF-8."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value
META = "x-amz-meta-"


def _state(region):
    out = {"dynamodb": [], "s3": [], "sqs": [], "transcribe": []}
    with backend_lock:
        for backend in _backends("dynamodb", region):
            for name, table in backend.tables.items():
                keys = [k for k in (table.hash_key_attr, table.range_key_attr) if k]
                items = [item.to_json()["Attributes"] for item in table.all_items()]
                out["dynamodb"].append({"table": name, "keys": keys, "items": items})
        for backend in _backends("s3", "aws"):
            for name, bucket in backend.buckets.items():
                for key_name in sorted(bucket.keys.keys()):
                    key = bucket.keys[key_name]
                    if isinstance(key, FakeDeleteMarker):
                        continue
                    meta = key.metadata
                    body = key.value
                    entry = {
                        "bucket": name,
                        "key": key_name,
                        "content_type": _of_header(meta.get("Content-Type")),
                        "cache_control": _of_header(meta.get("Cache-Control")),
                        "metadata": {
                            k[len(META):].lower(): _of_header(v)
                            for k, v in meta.items()
                            if k.lower().startswith(META)
                        },
                        "size": len(body),
                    }
                    if body.startswith(PNG):
                        entry["png_base64"] = base64.b64encode(body).decode()
                    else:
                        entry["sha256"] = hashlib.sha256(body).hexdigest()
                    out["s3"].append(entry)
        for backend in _backends("sqs", region):
            for name, queue in backend.queues.items():
                messages = [
                    {
                        "body": m.body,
                        "attributes": {
                            k: {"type": a.get("DataType"), "value": a.get("StringValue")}
                            for k, a in m.message_attributes.items()
                        },
                    }
                    for m in queue.messages
                ]
                out["sqs"].append({"queue": name, "messages": messages})
        for backend in _backends("transcribe", region):
            for name, job in backend.transcriptions.items():
                out["transcribe"].append(
                    {"name": name, "status": job.status, "language_code": job.language_code}
                )
    return out


class SeedError(Exception):
    pass


def _seed(region, seed):
    for i, d in enumerate(seed.get("dynamodb", [])):
        backend = next((b for b in _backends("dynamodb", region) if d["table"] in b.tables), None)
        if backend is None:
            raise SeedError(f"$.setup.dynamodb[{i}]: ResourceNotFoundException: no table {d['table']}")
        try:
            backend.put_item(d["table"], d["item"])
        except Exception as e:  # noqa: BLE001 - reported as the seed's error
            raise SeedError(f"$.setup.dynamodb[{i}]: {type(e).__name__}: {e}") from e
    for i, o in enumerate(seed.get("s3", [])):
        backend = next((b for b in _backends("s3", "aws") if o["bucket"] in b.buckets), None)
        if backend is None:
            raise SeedError(f"$.setup.s3[{i}]: NoSuchBucket: {o['bucket']}")
        try:
            key = backend.put_object(o["bucket"], o["key"], base64.b64decode(o["body_base64"]))
            meta = {}
            if o.get("content_type") is not None:
                meta["Content-Type"] = o["content_type"]
            for k, v in (o.get("metadata") or {}).items():
                # As a PutObject header reaches moto: its UTF-8 bytes read as Latin-1 (WSGI).
                meta[f"{META}{k}".lower()] = _as_header(v)
            key.set_metadata(meta)
            key.set_acl(backend.buckets[o["bucket"]].acl)
        except Exception as e:  # noqa: BLE001 - reported as the seed's error
            raise SeedError(f"$.setup.s3[{i}]: {type(e).__name__}: {e}") from e


def _touch_seeded_bucket(name):
    """A seeded object touches S3, and whatever the bucket notifies."""
    bucket = next((b.buckets[name] for b in _backends("s3", "aws") if name in b.buckets), None)
    quiet = bucket is not None and not getattr(bucket, "notification_configuration", None)
    _touch("s3", quiet)


def _wire(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    return json.loads(raw) if raw.strip() else None


def _cloudwatch_backends():
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends


def _query(environ):
    return parse_qs(environ.get("QUERY_STRING", ""))


def _region(environ):
    """The region=R of a local endpoint's query."""
    return _query(environ).get("region", ["us-east-1"])[0]


_dispatch = DomainDispatcherApplication.__call__
_get_application = DomainDispatcherApplication.get_application


def _get_application_touching(self, environ):
    app = _get_application(self, environ)
    service = next((name for name, a in self.app_instances.items() if a is app), None)
    _touch(service, _request_touches(service, environ.get("REQUEST_METHOD")))
    return app


DomainDispatcherApplication.get_application = _get_application_touching


def _call(self, environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path in ("/__local/checkpoint", "/__local/restore") and environ.get("REQUEST_METHOD") == "POST":
        started = time.perf_counter()
        try:
            out = _checkpoint_state(_region(environ)) if path.endswith("checkpoint") else _restore_state()
            status = "200 OK" if out is not None else "409 Conflict"
            out = out or {"error": "no checkpoint"}
            restored = bool(out.get("backends")) and path.endswith("restore")
            seed = _body(environ) if restored else None
            if seed:
                with backend_lock:
                    _seed(_region(environ), seed)
                if seed.get("dynamodb"):
                    _touch("dynamodb", True)
                for o in seed.get("s3", []):
                    _touch_seeded_bucket(o["bucket"])
                out["seeded"] = True
            if restored and _query(environ).get("state") == ["1"]:
                out["state"] = _state(_region(environ))
        except SeedError as e:
            status, out = "422 Unprocessable Entity", {"error": str(e)}
        except Exception as e:  # noqa: BLE001 - the CLI falls back to a full reset
            status, out = "500 Internal Server Error", {"error": f"{type(e).__name__}: {e}"}
        out["ms"] = round((time.perf_counter() - started) * 1000, 3)
        body = json.dumps(out, default=_wire).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/__local/alarms" and environ.get("REQUEST_METHOD") == "GET":
        prefix = _query(environ).get("prefix", [""])[0]
        with backend_lock:
            names = sorted(
                name
                for account in _cloudwatch_backends().values()
                for backend in account.values()
                for name in backend.alarms
                if name.startswith(prefix)
            )
        body = json.dumps({"names": names}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/__local/state" and environ.get("REQUEST_METHOD") == "POST":
        try:
            status, out = "200 OK", _state(_region(environ))
            # Bytes (a binary attribute inside a map or list) as base64, as the wire has them.
            body = json.dumps(out, default=_wire).encode()
        except Exception as e:  # noqa: BLE001 - the CLI falls back to reading through the SDK
            status = "500 Internal Server Error"
            body = json.dumps({"error": f"{type(e).__name__}: {e}"}).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    signed = environ.get("HTTP_X_AMZ_DATE")
    if signed:
        try:
            t = datetime.datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            t = None
        if t is not None:
            date = email.utils.format_datetime(t, usegmt=True)

            def with_date(status, headers, exc_info=None):
                headers = [(k, v) for k, v in headers if k.lower() != "date"] + [("Date", date)]
                return start_response(status, headers, exc_info)

            return _dispatch(self, environ, with_date)
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _call

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
