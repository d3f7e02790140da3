"""Another process's view of an exclusive file lock.

`python flock_holder.py <path>` takes the lock, prints `held` and keeps it until its stdin closes;
`python flock_holder.py --try <path>` exits 0 if it could take the lock at once, 1 if another process holds it."""

import fcntl
import sys

if sys.argv[1] == "--try":
    with open(sys.argv[2], "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.exit(1)
    sys.exit(0)

with open(sys.argv[1], "a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.read()
