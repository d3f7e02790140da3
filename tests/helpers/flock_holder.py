"""Hold an exclusive file lock from another process: `python flock_holder.py <path>` prints `held` once it has the
lock and keeps it until its stdin closes."""

import fcntl
import sys

with open(sys.argv[1], "a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.read()
