"""One grading kernel: started through a single command prefix, runs code under a timeout and an output cap.

Every kernel the grader uses is launched by :func:`kernel_command`, so a sandbox (bubblewrap, another user...)
wraps all of them by adding a prefix there. Resource limits are applied by ``launcher.py`` before the kernel
starts. The kernel talks to the grader over ipc sockets in a private folder (no TCP port races between parallel
workers, and a sandbox only has to share one folder).

A cell that exceeds its timeout is interrupted (SIGINT); if it is still busy after a grace period (code that
catches KeyboardInterrupt, or a long C loop) the kernel's whole process group is killed and the caller starts a
new kernel. Output is kept up to a byte budget per cell, counted in UTF-8 bytes, so one giant line is cut too.
"""

import dataclasses
import typing
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zmq
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from autograder.checkdata import RESULT_MIME
from coursekit.i18n import N_, Text

LAUNCHER = Path(__file__).with_name("launcher.py")

# Environment variables a kernel inherits from the grader; everything else (tokens, credentials) is dropped.
_ENV_KEEP = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX", "MPLCONFIGDIR",
             "IPYTHONDIR", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "XDG_CACHE_HOME",
             "TORCH_HOME")
# Parallel workers each run a kernel: one BLAS/OpenMP thread per kernel avoids oversubscribing the cores.
_ENV_SET = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1"}

MAX_ERROR_TEXT = 8 * 1024  # an error's message and traceback are kept (cut to this size) even past the output cap


class KernelStartError(RuntimeError):
    """The kernel did not come up, or the trusted setup code failed in it (a grader problem, not the student's)."""


@dataclasses.dataclass(frozen=True)
class KernelLimits:
    """Resource limits of a grading kernel (None: not limited). See launcher.py."""

    address_space: int | None = 4 * 2**30
    cpu_seconds: int | None = 3600
    file_size: int | None = 256 * 2**20
    extra_processes: int | None = 256


def kernel_command(connection_file, limits=KernelLimits(), prefix=()):
    """The command line of every grading kernel: ``prefix + launcher (rlimits) + ipykernel``."""
    options = []
    for flag, value in (("--as", limits.address_space), ("--cpu", limits.cpu_seconds),
                        ("--fsize", limits.file_size), ("--nproc", limits.extra_processes)):
        if value is not None:
            options += [flag, str(int(value))]
    # No IPython history: kernels must not share (or read) a history database.
    return [*prefix, sys.executable, "-I", str(LAUNCHER), *options, "--",
            sys.executable, "-m", "ipykernel_launcher", "-f", str(connection_file), "--HistoryManager.enabled=False"]


def kernel_env(cwd, extra=None):
    env = {key: value for key, value in os.environ.items() if key in _ENV_KEEP or key.startswith("LC_")}
    env.update(_ENV_SET)
    env["TMPDIR"] = str(cwd)  # the student's temporary files stay in its scratch folder
    env.update(extra or {})
    return env


# ----------------------------------------------------------------------------------------------------------------
# Output of one cell, capped in bytes
# ----------------------------------------------------------------------------------------------------------------

def _size(value):
    """Bytes that ``value`` adds to a notebook file (text as UTF-8, anything else as JSON)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    try:
        return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "replace"))
    except (TypeError, ValueError):
        return len(repr(value))


def _cut(text, limit):
    """``text`` cut to at most ``limit`` UTF-8 bytes (never in the middle of a character)."""
    data = text.encode("utf-8", "replace")
    return text if len(data) <= limit else data[:max(limit, 0)].decode("utf-8", "ignore")


class Outputs:
    """The outputs of one cell as nbformat dicts, keeping at most ``limit`` bytes of streams and rich data."""

    def __init__(self, limit):
        self.limit, self.used, self.dropped = limit, 0, 0
        self.items = []
        self.error = None  # (ename, evalue) of the cell's exception, if any
        self.results = []  # data published under RESULT_MIME (a check's packed result), never shown

    def stream(self, name, text):
        room = self.limit - self.used
        size = _size(text)
        if size > room:
            self.dropped += size - max(room, 0)
            text = _cut(text, room)
        self.used += _size(text)
        if not text:
            return
        last = self.items[-1] if self.items else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def rich(self, output_type, content):
        data = content.get("data", {})
        if RESULT_MIME in data:  # a check's result (autograder/checkdata.py): kept apart, two at most
            self.results = self.results[:1] + [data[RESULT_MIME]]
            return
        output = {"output_type": output_type, "data": data, "metadata": content.get("metadata", {})}
        size = _size(output)  # everything it adds to the notebook: data, metadata, keys
        if size > self.limit - self.used:
            self.dropped += size
            return
        self.used += size
        if output_type == "execute_result":
            output["execution_count"] = content.get("execution_count")
        self.items.append(output)

    def clear(self):
        self.items = [item for item in self.items if item["output_type"] == "error"]

    def add_error(self, ename, evalue, traceback):
        ename, evalue = _cut(str(ename), 200), _cut(str(evalue), MAX_ERROR_TEXT)
        lines, kept, room = list(traceback)[::-1], [], MAX_ERROR_TEXT
        for line in lines:  # keep the end of the traceback: that is where the error is
            room -= _size(line)
            if room < 0:
                kept.append("[... earlier traceback lines cut by the grader]")
                break
            kept.append(line)
        self.error = (ename, evalue)
        self.items.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": kept[::-1]})

    def note(self, text):
        """A message from the grader about this cell (timeouts, crashes), shown as stderr."""
        self.items.append({"output_type": "stream", "name": "stderr", "text": f"\n[grader] {text}\n"})

    def finish(self):
        if self.dropped:
            self.note(f"{self.dropped} bytes of output were dropped (at most {self.limit} bytes are kept per cell)")
        return self.items


@dataclasses.dataclass
class CellRun:
    """What happened when a piece of code ran.

    status: "ok", "error" (it raised), "timeout" (stopped after ``timeout`` seconds) or "died" (the kernel
    process ended: os._exit, segfault, killed by the OOM killer...). ``kernel_alive`` says whether the kernel can
    run more code.
    """

    status: str
    outputs: list
    error: tuple | None
    seconds: float
    kernel_alive: bool
    detail: str = ""
    results: list = dataclasses.field(default_factory=list)  # payloads published under RESULT_MIME


# ----------------------------------------------------------------------------------------------------------------
# The kernel
# ----------------------------------------------------------------------------------------------------------------

_DIED_FROM = {"SIGKILL": N_("the kernel died from {signal} (out of memory, or killed from outside)"),
              "SIGSEGV": N_("the kernel died from {signal} (segmentation fault)"),
              "SIGXCPU": N_("the kernel died from {signal} (CPU time limit)"),
              "SIGXFSZ": N_("the kernel died from {signal} (file size limit)")}


def _describe_exit(returncode):
    if returncode is None:
        return Text("the kernel was killed")
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return Text(_DIED_FROM.get(name, N_("the kernel died from {signal}")), signal=name)
    return Text("the kernel exited with code {code}", code=returncode)


class KernelProcess(typing.Protocol):
    """What a kernel's process offers the grader, however it was launched (a Popen, or bubblewrap's)."""

    pid: int
    returncode: int | None

    def poll(self): ...
    def wait(self, timeout=None): ...
    def interrupt_kernel(self): ...  # SIGINT to the kernel itself
    def kill_all(self): ...          # SIGKILL to the kernel and everything it started
    def release(self): ...           # free what the launch held (pidfds, uids)


class Launcher(typing.Protocol):
    """Starts a kernel's command: on the host (:class:`HostLauncher`) or in bubblewrap (autograder.sandbox.Sandbox,
    also for clean rooms). Returns the process and the connection info the grader's client uses."""

    def launch(self, command, *, cwd, kernel_dir, info, env, stderr, launcher, host_connection_file): ...


class HostProcess(subprocess.Popen):
    """A kernel on the host, in its own process group (so killpg reaches its children)."""

    def interrupt_kernel(self):
        try:
            os.killpg(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def kill_all(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def release(self):
        pass


class HostLauncher:
    """Launches kernels as the grader's user, with rlimits and a scrubbed environment only."""

    def launch(self, command, *, cwd, kernel_dir, info, env, stderr, launcher, host_connection_file):
        process = HostProcess(command, cwd=cwd, env=kernel_env(cwd, env), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        return process, info


class Kernel:
    """A fresh IPython kernel in ``cwd``. ``start()`` returns at once (the setup code is queued), ``wait_ready()``
    blocks until it has run; so a worker can start its next kernel while it grades with the current one."""

    def __init__(self, cwd, *, setup_code="", limits=KernelLimits(), prefix=(), env=None, runtime_dir=None,
                 sandbox=None, launcher=None):
        self.cwd = Path(cwd)
        self.sandbox = sandbox  # an autograder.sandbox.Sandbox, or None: run on the host (rlimits only)
        # a Launcher: given (a warm zygote, autograder/warm.py), the sandbox, or the host
        self.launcher = launcher or (sandbox if sandbox is not None else HostLauncher())
        self.setup_code = setup_code
        self.limits, self.prefix = limits, tuple(prefix)
        self.extra_env = env or {}
        self.runtime_dir = runtime_dir
        self.process = None
        self.client = None
        self._dir = None
        self._setup_id = None
        self._ready = False
        self._killed = False

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self):
        # Short private path: unix socket paths are limited to about 100 characters.
        self._dir = tempfile.mkdtemp(prefix="agk", dir=self.runtime_dir)
        connection_file, info = write_connection_file(
            os.path.join(self._dir, "kernel.json"), ip=os.path.join(self._dir, "s"), transport="ipc",
            key=secrets.token_hex(32).encode())
        self._stderr = open(os.path.join(self._dir, "stderr.log"), "wb")
        # A private IPython folder: no startup scripts or profile of the grader's user run in a grading kernel.
        env = {"IPYTHONDIR": os.path.join(self._dir, "ipython"), **self.extra_env}
        command = kernel_command(connection_file, self.limits, self.prefix)
        self.process, info = self.launcher.launch(
            command, cwd=self.cwd, kernel_dir=self._dir, info=info, env=env, stderr=self._stderr, launcher=LAUNCHER,
            host_connection_file=connection_file)
        self.client = BlockingKernelClient(context=zmq.Context.instance())
        self.client.load_connection_info(info)
        self.client.start_channels(stdin=False, hb=False, control=False)
        self._setup_id = self.client.execute(self.setup_code or "pass", store_history=False, allow_stdin=False,
                                             stop_on_error=False)
        return self

    def wait_ready(self, timeout=120):
        """Block until the setup code has run and output reaches us; KernelStartError otherwise."""
        if self._ready:
            return self
        deadline = time.monotonic() + timeout
        reply = self._wait_shell_reply(self._setup_id, deadline)
        if reply["content"].get("status") != "ok":
            content = reply["content"]
            raise KernelStartError("the grader's setup code failed in the kernel: "
                                   f"{content.get('ename')}: {content.get('evalue')}")
        self._wait_iopub_live(deadline)
        self._ready = True
        return self

    def _wait_shell_reply(self, msg_id, deadline):
        while time.monotonic() < deadline:
            if not self.alive:
                raise KernelStartError(f"{_describe_exit(self.process.returncode)} while starting: "
                                       f"{self._stderr_tail()}")
            try:
                msg = self.client.shell_channel.get_msg(timeout=0.1)
            except Exception:  # queue.Empty
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        self.kill()
        raise KernelStartError(f"the kernel did not start in time: {self._stderr_tail()}")

    def _wait_iopub_live(self, deadline):
        """The iopub subscription may connect after the setup's messages were sent; ask until one arrives."""
        request_at, pause = time.monotonic() + 0.05, 0.05  # ask early: a forked kernel is ready in milliseconds
        while time.monotonic() < deadline:
            try:
                self.client.iopub_channel.get_msg(timeout=0.02)
                self._drain_iopub()
                return
            except Exception:
                pass
            if time.monotonic() > request_at:
                self.client.kernel_info()
                self._wait_shell_reply_any()
                pause = min(2 * pause, 0.5)
                request_at = time.monotonic() + pause
        raise KernelStartError("no output channel from the kernel")

    def _wait_shell_reply_any(self):
        try:
            self.client.shell_channel.get_msg(timeout=2)
        except Exception:
            pass

    def _drain_iopub(self):
        while self.client.iopub_channel.msg_ready():
            self.client.iopub_channel.get_msg(timeout=0)

    def _stderr_tail(self, size=2000):
        try:
            data = Path(self._dir, "stderr.log").read_bytes()[-size:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def interrupt(self):
        if self.alive:
            self.process.interrupt_kernel()

    def _killpg(self):
        self.process.kill_all()

    def kill_process(self):
        """SIGKILL the kernel's process group if the kernel still runs (safe from another thread: a running child
        keeps its pid, so no other process can be hit); the owner still calls kill() to clean up."""
        if self.process is not None and self.process.poll() is None:
            self._killpg()

    def kill(self):
        """Kill the kernel and everything in its process group; release sockets and files. Safe to call twice."""
        if self.process is not None:
            if not self._killed:  # also when the kernel itself already died: its children are in the group
                self._killpg()
                self._killed = True
            try:
                self.process.wait(timeout=10)
                self.process.release()
            except subprocess.TimeoutExpired:
                pass
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if self._dir:
            self._stderr.close()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # -- running code ---------------------------------------------------------------------------------------------

    def run(self, code, *, timeout=60.0, max_output_bytes=64 * 1024, grace=5.0, store_history=True):
        """Run ``code``; stop it after ``timeout`` seconds (interrupt, then kill after ``grace`` seconds)."""
        self.wait_ready()
        outputs = Outputs(max_output_bytes)
        start = time.monotonic()
        msg_id = self.client.execute(code, store_history=store_history, allow_stdin=False, stop_on_error=False)
        poller = zmq.Poller()
        iopub, shell = self.client.iopub_channel, self.client.shell_channel
        poller.register(iopub.socket, zmq.POLLIN)
        poller.register(shell.socket, zmq.POLLIN)
        deadline, interrupted = start + timeout, False
        idle = replied = False
        while not (idle and replied):
            now = time.monotonic()
            if now > deadline:
                if not interrupted:
                    self.interrupt()
                    interrupted, deadline = True, now + grace
                else:
                    self.kill()
                    outputs.note(f"stopped after {timeout:g} s: the code ignored the interrupt, so the kernel "
                                 "was killed")
                    return CellRun("timeout", outputs.finish(), outputs.error, time.monotonic() - start, False,
                                   Text("timed out after {seconds:g} s (killed)", seconds=timeout))
            if not self.alive:
                self._collect(iopub, msg_id, outputs, wait=0.05)
                detail = _describe_exit(self.process.returncode)
                outputs.note(detail)
                self.kill()
                return CellRun("died", outputs.finish(), outputs.error, time.monotonic() - start, False, detail)
            events = dict(poller.poll(100))
            if iopub.socket in events:
                idle = self._collect(iopub, msg_id, outputs) or idle
            if shell.socket in events:
                while shell.msg_ready():
                    msg = shell.get_msg(timeout=0)
                    replied = replied or msg["parent_header"].get("msg_id") == msg_id
        seconds = time.monotonic() - start
        if interrupted:
            outputs.note(f"stopped after {timeout:g} s (interrupted)")
            return CellRun("timeout", outputs.finish(), outputs.error, seconds, True,
                           Text("timed out after {seconds:g} s", seconds=timeout))
        status = "error" if outputs.error else "ok"
        return CellRun(status, outputs.finish(), outputs.error, seconds, True, results=outputs.results)

    def _collect(self, iopub, msg_id, outputs, wait=0.0):
        """Read the waiting iopub messages of ``msg_id`` into ``outputs``; True once the kernel went idle."""
        idle = False
        while iopub.msg_ready() or (wait and iopub.socket.poll(int(wait * 1000))):
            wait = 0.0
            msg = iopub.get_msg(timeout=0)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                outputs.stream(content.get("name", "stdout"), content.get("text", ""))
            elif kind in ("display_data", "execute_result"):
                outputs.rich(kind, content)
            elif kind == "error":
                outputs.add_error(content.get("ename", ""), content.get("evalue", ""), content.get("traceback", []))
            elif kind == "clear_output":
                outputs.clear()
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
        return idle
