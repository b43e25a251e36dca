"""Tiny handlers of our own that exercise the Runtime API emulator through awslambdaric."""

import json
import os
import time

print("module app imported")


def echo(event, context):
    print("echo called")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {
                "event": event,
                "has_time_left": context.get_remaining_time_in_millis() > 0,
                "memory": context.memory_limit_in_mb,
                "arn": context.invoked_function_arn,
                "request_id": context.aws_request_id,
                "pid": os.getpid(),
            }
        ),
    }


def boom(event, context):
    raise ValueError("boom: " + str(event.get("why", "no reason")))


def slow(event, context):
    time.sleep(float(event.get("sleep", 5)))
    return {"statusCode": 200, "body": "slept"}


def clock(event, context):
    return {"statusCode": 200, "body": json.dumps({"now_ns": time.time_ns(), "fixed": 1})}


def die(event, context):
    os._exit(3)


def big(event, context):
    return {"statusCode": 200, "body": "x" * (7 * 1024 * 1024)}


def hog(event, context):
    # Touch every page of the requested size, as a function that outgrows its memory does.
    block = bytearray(int(event.get("mb", 300)) * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return {"statusCode": 200, "body": str(len(block))}


def cgroups(event, context):
    with open("/proc/self/cgroup") as f:
        return {"statusCode": 200, "body": f.read()}
