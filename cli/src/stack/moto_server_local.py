"""moto server as the local stack runs it: moto 5.2.5's server, with the corrections that make
its answers the ones AWS gives where a strict client (the Rust SDK) tells them apart. The CLI
embeds this file and writes it into the stack's run folder; it runs on the tools venv's Python
with moto_server's arguments:

    .venv/bin/python3 RUN_DIR/moto_server_local.py -H 127.0.0.1 -p PORT

Corrections (each measured; README, "Local AWS"):
- GetBucketVersioning: moto serialises the answer under a <GetBucketVersioningResponse> root;
  S3 answers <VersioningConfiguration> (with <Status> only once versioning was ever set).
  botocore ignores the root element, the Rust SDK rejects any other root as an unhandled error.

Additions (not AWS APIs; only the CLI calls them):
- POST /__local/checkpoint keeps a deep copy of every backend's state and of moto's seeded
  random generator; POST /__local/restore puts that state back (a backend created after the
  checkpoint is reset instead). The stack checkpoints once it is provisioned and restores before
  each stateful case: the state a full reset, seed and provisioning would give, in about a
  millisecond instead of a few hundred (table, buckets, Cognito pool and users, queues and
  topics are not created again). Answers 200 with a JSON body, or 409 when nothing was
  checkpointed, or 500 with the Python error (the CLI then falls back to a full reset).
"""
import copy
import json
import sys
import threading
import time
from xml.sax.saxutils import escape

from moto.core.base_backend import BackendDict, backend_lock
from moto.core.model_instances import reset_model_data
from moto.moto_api._internal import mock_random
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


def _checkpoint_state():
    global _checkpoint
    with backend_lock:
        dicts = list(BackendDict._instances)
        # One deepcopy for all, so that objects shared between backends stay shared.
        saved = copy.deepcopy([_state_of(d) for d in dicts])
        _checkpoint = (dicts, saved, mock_random.getstate())
    return {"backends": len(dicts)}


def _restore_state():
    if _checkpoint is None:
        return None
    dicts, saved, random_state = _checkpoint
    with backend_lock:
        fresh = copy.deepcopy(saved)
        known = {id(d) for d in dicts}
        for d, (accounts, attributes) in zip(dicts, fresh):
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
    return {"backends": len(dicts)}


_dispatch = DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path in ("/__local/checkpoint", "/__local/restore") and environ.get("REQUEST_METHOD") == "POST":
        started = time.perf_counter()
        try:
            out = _checkpoint_state() if path.endswith("checkpoint") else _restore_state()
            status = "200 OK" if out is not None else "409 Conflict"
            out = out or {"error": "no checkpoint"}
        except Exception as e:  # noqa: BLE001 - the CLI falls back to a full reset
            status, out = "500 Internal Server Error", {"error": f"{type(e).__name__}: {e}"}
        out["ms"] = round((time.perf_counter() - started) * 1000, 3)
        body = json.dumps(out).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _call

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
