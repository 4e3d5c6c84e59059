"""A function's cold start with the garbage collector paused.

Importing a handler's libraries and building its models allocates some 150,000 objects that live
as long as the container; the collections they set off on the way (a full one among them) scan
them all and free nothing: 10-20 % of a handler's import time (bench: cold_start). Every handler
imports this module first (ruff's isort keeps the `startup` section above the standard library)
and calls `loaded()` once its own module is built: what exists then is frozen out of every later
collection, and the collector runs again for what the invocations allocate.

The pause is taken once per process, by the first handler imported: on Lambda, the only one.
"""

import gc

gc.disable()


def loaded() -> None:
    """The handler's module is built: keep its objects out of every collection, collect again."""
    gc.freeze()
    gc.enable()
