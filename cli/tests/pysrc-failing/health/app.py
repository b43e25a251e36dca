"""A stand-in for a broken deployment: every invocation raises."""


def lambda_handler(event, context):
    raise RuntimeError("database on fire")
