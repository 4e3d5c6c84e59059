"""`python -m bench`: see bench/run.py."""

from bench.run import main

# The local runtime's function processes are spawned: they import this module again (as
# `__mp_main__`) and must not start a run of their own.
if __name__ == "__main__":
    raise SystemExit(main())
