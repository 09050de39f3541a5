"""A warm kernel factory inside one sandbox: ``zygote.py [--as N] [--cpu S] [--fsize N] [--warm a,b,c]``.

Run as a script (not imported) as pid 1 of a bubblewrap sandbox (autograder/warm.py starts it). It imports what
kernels of its kind need (ipykernel, numpy, torch...) once, then, asked on stdin, forks one kernel at a time; a
fork costs milliseconds where a fresh interpreter costs seconds. Between two kernels it kills every other process
of the sandbox (as pid 1, ``kill(-1)`` reaches them all) and empties the sandbox's writable folders, so nothing of
one submission meets the next. It makes itself non-dumpable, so its kernels (same uid, no capabilities) cannot
trace it or read its memory.

Protocol, one JSON object per line: ``{"fork": {connection info}, "n": k}`` -> ``{"pid": pid}`` (the kernel's pid in
the sandbox); ``{"status": pid}`` -> ``{"exit": code or null}``; ``{"reset": true}`` -> ``{"reset": true}``.
"""

import ctypes
import importlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys

HOME, SOCKETS, TMP = "/home/learner", "/run/kernel", "/tmp"
KEEP_IN_TMP = ("matplotlib",)  # holds the grader's font cache, mounted read-only
# what every kernel imports while it starts (the debugger alone takes most of a second)
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                  "ipykernel.comm", "ipykernel.eventloops", "IPython.core.completer", "jedi")
_LIMITS = {"--as": resource.RLIMIT_AS, "--cpu": resource.RLIMIT_CPU, "--fsize": resource.RLIMIT_FSIZE}


def _options(argv):
    limits, warm = {}, []
    for flag, value in zip(argv[::2], argv[1::2]):
        if flag == "--warm":
            warm = [name for name in value.split(",") if name]
        elif flag in _LIMITS:
            limits[_LIMITS[flag]] = int(value)
    return limits, warm


def _set_limits(limits):
    for which, value in limits.items():
        hard = value + 5 if which == resource.RLIMIT_CPU else value
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass


def _empty(folder, keep=()):
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if name in keep:
            continue
        path = os.path.join(folder, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _kernel(info, n, limits):
    """In the forked child: become kernel ``n`` with connection ``info`` (never returns)."""
    try:
        null = os.open(os.devnull, os.O_RDWR)  # the zygote's protocol pipes are not the kernel's to write on
        os.dup2(null, 0)
        os.dup2(null, 1)
        path = os.path.join(SOCKETS, f"k{n}.json")
        with open(path, "w") as file:
            json.dump(info, file)
        os.environ["IPYTHONDIR"] = os.path.join(TMP, f"ipython-{n}")
        os.chdir(HOME)
        _set_limits(limits)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", path, "--HistoryManager.enabled=False"])
        app.start()
    finally:
        os._exit(0)


def main(argv):
    limits, warm = _options(argv)
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: kernels of the same uid cannot trace us
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernels
    for name in [*KERNEL_MODULES, *warm]:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    exits = {}
    reply = lambda data: (sys.stdout.write(json.dumps(data) + "\n"), sys.stdout.flush())  # noqa: E731
    reply({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        if "fork" in request:
            pid = os.fork()
            if pid == 0:
                _kernel(request["fork"], int(request["n"]), limits)
            reply({"pid": pid})
        elif "status" in request:
            pid = int(request["status"])
            if pid not in exits:
                try:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        exits[pid] = os.waitstatus_to_exitcode(status)
                except ChildProcessError:
                    exits[pid] = None
            reply({"exit": exits.get(pid), "done": pid in exits})
        elif request.get("reset"):
            try:
                os.kill(-1, signal.SIGKILL)  # from pid 1: every other process of the sandbox
            except ProcessLookupError:
                pass
            while True:
                try:
                    os.waitpid(-1, 0)
                except ChildProcessError:
                    break
            exits.clear()
            for folder, keep in ((HOME, ()), (TMP, KEEP_IN_TMP), (SOCKETS, ()), ("/dev/shm", ())):
                _empty(folder, keep)
            subprocess.run(["ipcrm", "--all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            reply({"reset": True})


if __name__ == "__main__":
    main(sys.argv[1:])
