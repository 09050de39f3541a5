"""Start a grading kernel under resource limits: ``launcher.py [--as N] [--cpu S] [--fsize N] [--nproc N] -- CMD``.

This file is run as a script (not imported) between the grader and the kernel, so it only uses the standard
library. It sets the limits on itself and then replaces itself with CMD, which inherits them:

- ``--as``: address space in bytes (a runaway allocation raises MemoryError instead of exhausting the machine);
- ``--cpu``: CPU seconds of the kernel process (a backstop; the grader's per-cell timeout normally acts first);
- ``--fsize``: largest file the kernel may write, in bytes;
- ``--nproc``: how many processes/threads the user may start on top of those it already runs (Linux counts every
  process of the user, not only the kernel's, so the limit is set relative to the current count).

Limits are lowered only (never raised above the current hard limit), and one that cannot be set is skipped with a
warning on stderr rather than preventing the kernel from starting.
"""

import os
import resource
import sys

_LIMITS = {"--as": resource.RLIMIT_AS, "--cpu": resource.RLIMIT_CPU, "--fsize": resource.RLIMIT_FSIZE,
           "--nproc": resource.RLIMIT_NPROC}


def _user_task_count():
    """Processes and threads of this user right now (what RLIMIT_NPROC counts on Linux)."""
    uid, count = os.getuid(), 0
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue  # the process ended while we looked
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


def _lower(which, value):
    """Set soft and hard limit to ``value`` (so the kernel cannot raise it again), never above the current hard
    limit. The CPU limit keeps a few seconds between soft (SIGXCPU) and hard (SIGKILL)."""
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    new_hard = value + 5 if which == resource.RLIMIT_CPU else value
    if hard != resource.RLIM_INFINITY:
        new_hard = min(new_hard, hard)
    try:
        resource.setrlimit(which, (value, new_hard))
    except (ValueError, OSError) as exc:
        print(f"autograder launcher: could not set limit {which}: {exc}", file=sys.stderr)


def main(argv):
    if "--" not in argv:
        sys.exit("usage: launcher.py [--as N] [--cpu S] [--fsize N] [--nproc N] -- CMD...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    if len(options) % 2 or not command:
        sys.exit("launcher.py: options take one value each, and a command must follow --")
    for flag, value in zip(options[::2], options[1::2]):
        if flag not in _LIMITS:
            sys.exit(f"launcher.py: unknown option {flag}; known: {sorted(_LIMITS)}")
        value = int(value)
        if flag == "--nproc":
            value += _user_task_count()
        _lower(_LIMITS[flag], value)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
