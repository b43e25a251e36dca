"""A module whose import fails, as a handler with a missing dependency does."""

import module_that_does_not_exist  # noqa: F401


def handler(event, context):
    return {}
