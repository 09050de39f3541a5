"""Warm kernels (预热内核): the host side of autograder/zygote.py, a kernel factory that lives in one sandbox.

A fresh kernel pays for a new interpreter and its imports (torch alone: seconds of CPU) for every submission; a
zygote pays once per worker and forks each kernel in milliseconds. Isolation between submissions stays: one
kernel at a time per zygote, and before the next one the zygote kills every other process of its sandbox and
empties its writable folders (see zygote.py). Used only when the grader runs as root with bubblewrap (each zygote
has its own uid, and is non-dumpable, so its kernels cannot trace it); otherwise every kernel starts fresh.

:class:`Zygote` is a Launcher (autograder.kernel) whose processes are :class:`ForkedKernel` (a KernelProcess).
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder.sandbox import SOCKETS, signal_pidfd

ZYGOTE = Path(__file__).with_name("zygote.py")


def _host_pid(parent, inner):
    """The host pid of the child of host process ``parent`` whose pid in its namespace is ``inner``."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as file:
                fields = dict(line.split(":", 1) for line in file if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0")) == parent and fields.get("NSpid", "").split()[-1:] == [str(inner)]:
            return int(name)
    return None


class ForkedKernel:
    """A kernel forked by a zygote (the KernelProcess protocol of autograder.kernel)."""

    def __init__(self, zygote, inner, pid):
        self.zygote, self.inner, self.pid, self.returncode = zygote, inner, pid, None
        self._pidfd = os.pidfd_open(pid)

    def poll(self):
        if self.returncode is None and self._pidfd is not None and select.select([self._pidfd], [], [], 0)[0]:
            code = self.zygote.exit_status(self.inner)
            self.returncode = code if code is not None else -signal.SIGKILL
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            time.sleep(0.01)
        return self.returncode

    def interrupt_kernel(self):
        signal_pidfd(self._pidfd, signal.SIGINT)

    def kill_all(self):
        signal_pidfd(self._pidfd, signal.SIGKILL)

    def release(self):
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self.zygote.reset()


class ZygoteError(RuntimeError):
    pass


class Zygote:
    """One zygote: its sandbox (a process of its own uid), its staging folder (the read-only input of its
    kernels), and the line protocol of zygote.py."""

    def __init__(self, sandbox, *, limits, warm_modules, env, stderr_path):
        self.staging = Path(tempfile.mkdtemp(prefix="ag-zyg-"))
        self._lock = threading.Lock()
        self._count = 0
        options = []
        for flag, value in (("--as", limits.address_space), ("--cpu", limits.cpu_seconds),
                            ("--fsize", limits.file_size)):
            if value is not None:
                options += [flag, str(int(value))]
        options += ["--warm", ",".join(warm_modules)]
        self._stderr = open(stderr_path, "wb")
        self.process = sandbox.spawn([sys.executable, "-u", "{launcher}", *options], cwd=self.staging,
                                     env={"MPLBACKEND": "module://matplotlib_inline.backend_inline", **env},
                                     stderr=self._stderr, program=ZYGOTE)
        if self._read(120).get("ready") is not True:
            self.close()
            raise ZygoteError("the zygote did not start")

    # -- protocol -------------------------------------------------------------------------------------------------

    def _read(self, timeout=30):
        stdout = self.process.stdout
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline() if ready else b""
        if not line:
            raise ZygoteError("the zygote stopped answering")
        return json.loads(line)

    def _ask(self, request, timeout=30):
        with self._lock:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            return self._read(timeout)

    @property
    def alive(self):
        return self.process.poll() is None

    def exit_status(self, inner):
        try:
            return self._ask({"status": inner}).get("exit")
        except (ZygoteError, OSError, ValueError):
            return None

    def reset(self):
        """Kill everything in the sandbox but the zygote and empty its writable folders (between kernels)."""
        try:
            self._ask({"reset": True}, timeout=60)
        except (ZygoteError, OSError, ValueError):
            self.process.kill_all()  # a zygote that cannot reset is not used again

    def empty_staging(self):
        for path in self.staging.iterdir():
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()

    # -- the Launcher protocol ------------------------------------------------------------------------------------

    def launch(self, command, *, cwd, kernel_dir, info, env, stderr, launcher, host_connection_file):
        """Fork a kernel with connection ``info`` (``command`` is what a fresh kernel would run; the zygote
        already holds it). Returns (ForkedKernel, connection info for the grader's client)."""
        self._count += 1
        n = self._count
        inside = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in dict(info, ip=f"{SOCKETS}/s{n}").items()}
        inner = int(self._ask({"fork": inside, "n": n})["pid"])
        pid = None
        for _ in range(200):
            pid = _host_pid(self.process.kernel_pid, inner)
            if pid is not None:
                break
            time.sleep(0.005)
        if pid is None:
            raise ZygoteError("the forked kernel could not be found")
        return ForkedKernel(self, inner, pid), dict(info, ip=f"/proc/{self.process.kernel_pid}/root{SOCKETS}/s{n}")

    def close(self):
        try:
            self.process.kill_all()
            self.process.wait(timeout=10)
        except Exception:
            pass
        self.process.release()
        self._stderr.close()
        shutil.rmtree(self.staging, ignore_errors=True)
