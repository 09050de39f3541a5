"""The sandbox (沙箱) every grading kernel runs in: bubblewrap namespaces, its own user, private size-limited folders.

On Linux with bubblewrap (Debian: ``apt-get install bubblewrap``) a kernel gets

- its own **user**: run by root, the grader starts each kernel as a fresh numeric uid (no capabilities,
  ``no_new_privs``) through ``setpriv``; run by anyone else, bubblewrap's user namespace makes the kernel
  ``nobody`` inside, which is still the grader's uid outside (reported as such);
- **no network**: its own network namespace holds only a loopback interface;
- its own **processes**: the kernel is pid 1 of a new pid namespace, so every process it starts dies with it and
  it sees no other process on the machine;
- a **private filesystem**: a read-only view of the system folders, the Python installation (venv and base
  interpreter) and the grader's ``coursekit`` package, and nothing else of the machine: not the course folder
  (solutions/, tests/, the gradebook, the grader's code), not other students' files. The only writable places are
  its working folder ``/home/learner``, ``/tmp`` and its socket folder, all memory file systems with a size
  limit (a disk-filling loop gets "No space left on device", the machine's disk never fills);
- a **scrubbed environment**: a minimal PATH and HOME, no variable of the grader (no NBGRADER_EXECUTION, no
  tokens); plus the rlimits of ``launcher.py`` (address space, CPU time, file size, processes).

The kernel and the grader talk over ipc sockets that the kernel creates in its private socket folder; the grader
reaches them through ``/proc/<kernel pid>/root/...`` (the kernel's own view of the filesystem), so no folder of
the machine is writable by the kernel, and loopback TCP (which a network namespace cuts) is not needed.

The student's own files (copied by the grader to a host folder) are mounted read-only at ``/opt/autograder/input``;
the grader copies them into the working folder with a trusted snippet before the notebook runs.

Without bubblewrap (or where it cannot create namespaces, e.g. an unprivileged container) the grader still runs,
with rlimits and the scrubbed environment only, and says so in its summary and in every results file.
"""

import copy
import dataclasses
import itertools
import json
import os
import pwd
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HOME = "/home/learner"       # the kernel's working folder (private tmpfs)
SOCKETS = "/run/kernel"      # the kernel's ipc sockets (private tmpfs, reached through /proc/<pid>/root)
OPT = "/opt/autograder"      # read-only: launcher, connection file, the student's files, the grader's coursekit
INPUT = f"{OPT}/input"
LIB = f"{OPT}/lib"
CONNECTION = f"{OPT}/kernel.json"
LAUNCHER = f"{OPT}/launcher.py"
MPLCONFIG = "/tmp/matplotlib"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts")
UIDS = range(64000, 65000)   # kernels of a root grader run as these numeric uids (those unknown to the system)


def signal_pidfd(pidfd, signum):
    """Send ``signum`` to the process behind ``pidfd`` (a pid file descriptor cannot reach a recycled pid); nothing
    when there is none or it has ended."""
    if pidfd is None:
        return
    try:
        signal.pidfd_send_signal(pidfd, signum)
    except (ProcessLookupError, OSError):
        pass


class SandboxUnavailable(RuntimeError):
    """A sandbox was required but cannot be used here; the message says why and what to install."""


@dataclasses.dataclass(frozen=True)
class SandboxLimits:
    """Sizes of the kernel's writable memory file systems, in bytes."""

    home_bytes: int = 512 * 2**20
    tmp_bytes: int = 256 * 2**20
    sockets_bytes: int = 64 * 2**10


class _UidPool:
    """Numeric uids for root's kernels: one per running kernel, handed out round-robin from a random start (so
    two grading runs on one machine rarely meet, and a uid is reused only long after its kernel ended)."""

    def __init__(self, uids=UIDS):
        start = random.randrange(len(uids))
        self._cycle = itertools.cycle(list(uids[start:]) + list(uids[:start]))
        self._size, self._used, self._lock = len(uids), set(), threading.Lock()
        self.issued = set()  # every uid this process handed out (to find what its kernels left behind)

    def take(self):
        with self._lock:
            for _ in range(self._size):
                uid = next(self._cycle)
                if uid in self._used or _known_uid(uid):
                    continue
                self._used.add(uid)
                self.issued.add(uid)
                return uid
        raise RuntimeError(f"no free uid in {UIDS.start}..{UIDS.stop - 1} for another grading kernel")

    def give_back(self, uid):
        with self._lock:
            self._used.discard(uid)


def _known_uid(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


_POOL = _UidPool()


class SandboxProcess(subprocess.Popen):
    """The bubblewrap process of one kernel. The kernel itself is pid 1 of the sandbox (host pid ``kernel_pid``):
    interrupts go to it alone, and killing it ends every process of the sandbox."""

    kernel_pid = None
    _pidfd = None
    _uid = None
    _raw_returncode = None

    @property
    def returncode(self):
        code = self._raw_returncode
        if code is not None and 128 < code <= 128 + 64:
            return -(code - 128)  # bubblewrap reports a kernel killed by signal N as exit status 128 + N
        return code

    @returncode.setter
    def returncode(self, value):
        self._raw_returncode = value
        if value is not None and self._uid is not None:
            _POOL.give_back(self._uid)
            self._uid = None

    def interrupt_kernel(self):
        signal_pidfd(self._pidfd, signal.SIGINT)

    def kill_all(self):
        """SIGKILL the kernel (pid 1 of the sandbox: the kernel of Linux then kills every process in it) and
        bubblewrap's own process group."""
        signal_pidfd(self._pidfd, signal.SIGKILL)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def release(self):
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def _read_info(fd, process, timeout=60.0):
    """bubblewrap's --info-fd JSON ({"child-pid": ...}), or None if it exited first."""
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        chunk = os.read(fd, 4096)
        data += chunk
        try:
            return json.loads(data.decode())
        except ValueError:
            if not chunk:
                return None


def _python_dirs():
    """Real folders of this interpreter's installation (venv and base), without nested duplicates."""
    paths = {Path(os.path.realpath(p)) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(p for p in paths if not any(q != p and q in p.parents for q in paths))


def _matplotlib_fontlist():
    """The grader's matplotlib font cache file (built once here), so that kernels need not rebuild it."""
    try:
        import matplotlib
        import matplotlib.font_manager  # noqa: F401  (loads or builds the cache)
        found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-v*.json"))
        return found[-1] if found else None
    except Exception:
        return None


class Sandbox:
    """Builds the bubblewrap command of each kernel; see the module docstring. Create it with :func:`detect`."""

    def __init__(self, bwrap, setpriv=None, limits=SandboxLimits(), hidden=(), version=""):
        self.bwrap, self.setpriv, self.limits, self.version = bwrap, setpriv, limits, version
        self.as_root = setpriv is not None
        self.python_dirs = _python_dirs()
        import coursekit
        self.coursekit = Path(coursekit.__file__).resolve().parent
        for secret in hidden:  # e.g. the course root: never expose it through a folder that contains it
            secret = Path(secret).resolve()
            for path in self.python_dirs:
                if path == secret or path in secret.parents:
                    raise SandboxUnavailable(f"the Python installation {path} contains {secret}; the sandbox cannot "
                                             "expose one without the other (use a virtualenv outside the course)")
        self.fontlist = _matplotlib_fontlist()
        self.library = None  # a folder holding a filtered coursekit (a clean room), instead of the grader's own
        self.covered = ()  # files and folders of the Python installation replaced by empty ones (a clean room)

    def for_room(self, library, covered):
        """The same sandbox for a clean room (autograder/cleanroom.py): coursekit is ``library``/coursekit, and
        each (path, cover) in ``covered`` mounts ``cover`` read-only over ``path`` (e.g. over torch's folder a
        package whose import fails with "No module named 'torch'")."""
        room = copy.copy(self)
        room.library, room.covered = Path(library), tuple((Path(p), Path(c)) for p, c in covered)
        return room

    # -- description ----------------------------------------------------------------------------------------------

    def protections(self):
        return {"separate-user": self.as_root, "no-network": True, "private-filesystem": True,
                "private-processes": True, "disk-quota": True, "clean-environment": True, "rlimits": True}

    def describe(self):
        user = (f"separate user (a fresh uid in {UIDS.start}..{UIDS.stop - 1} per kernel, no capabilities)"
                if self.as_root else "user namespace (nobody inside, the grader's own uid outside)")
        mb = lambda n: f"{n / 2**20:g} MB"  # noqa: E731
        return (f"sandbox: bubblewrap {self.version}; {user}; no network; own pid namespace; private filesystem "
                f"(read-only Python and coursekit, writable {HOME} {mb(self.limits.home_bytes)} and /tmp "
                f"{mb(self.limits.tmp_bytes)} in memory); scrubbed environment; rlimits")

    # -- the command ----------------------------------------------------------------------------------------------

    def environment(self, extra=None):
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": HOME,
               "LANG": "C.UTF-8", "TMPDIR": "/tmp", "PYTHONPATH": LIB, "MPLCONFIGDIR": MPLCONFIG,
               "IPYTHONDIR": "/tmp/ipython", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        env.update({k: v for k, v in (extra or {}).items() if k not in ("IPYTHONDIR",)})
        return env

    def mounts(self, input_dir, connection_file, launcher):
        limits = self.limits
        args = ["--size", str(4 * 2**20), "--perms", "0755", "--tmpfs", "/"]
        for top in SYSTEM_DIRS:
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for name in ETC_FILES:
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        args += ["--dev", "/dev", "--proc", "/proc",
                 "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
                 "--perms", "0777", "--size", str(limits.home_bytes), "--tmpfs", HOME,
                 "--perms", "0777", "--size", str(limits.sockets_bytes), "--tmpfs", SOCKETS,
                 "--perms", "0777", "--dir", MPLCONFIG]
        binds = [(path, path) for path in self.python_dirs]
        coursekit = self.library / "coursekit" if self.library is not None else self.coursekit
        binds += [(coursekit, f"{LIB}/coursekit"), (launcher, LAUNCHER), (connection_file, CONNECTION),
                  (input_dir, INPUT)]
        if self.fontlist is not None:
            binds.append((self.fontlist, f"{MPLCONFIG}/{self.fontlist.name}"))
        made = {"/", "/tmp", HOME, SOCKETS, MPLCONFIG, *SYSTEM_DIRS, "/etc", "/dev", "/proc"}
        for source, destination in binds:
            # bubblewrap would create missing parents without read/search rights for other users: make them
            parents = [str(p) for p in reversed(Path(destination).parents) if str(p) not in made]
            for parent in parents:
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
            args += ["--ro-bind", str(source), str(destination)]
        for path, cover in self.covered:  # over the read-only Python installation: the module is not there
            args += ["--ro-bind", str(cover), str(path)]
        return args + ["--remount-ro", "/", "--remount-ro", "/dev"]

    def command(self, command, *, input_dir, connection_file, launcher, info_fd, uid=None):
        """``command`` (the kernel's launcher command line, paths already inside) wrapped in bubblewrap."""
        common = ["--die-with-parent", "--as-pid-1", "--hostname", "grader", "--info-fd", str(info_fd),
                  "--chdir", HOME]
        if self.as_root:  # privileged bubblewrap (no user namespace), then a fresh uid without capabilities
            namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                          "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            switch = [self.setpriv, "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--inh-caps=-all",
                      "--bounding-set=-all", "--no-new-privs", "--"]
        else:
            namespaces = ["--unshare-all", "--unshare-user", "--disable-userns", "--uid", "65534", "--gid", "65534"]
            switch = []
        return [self.bwrap, *namespaces, *common, *self.mounts(input_dir, connection_file, launcher), "--",
                *switch, *command]

    # -- starting a kernel ----------------------------------------------------------------------------------------

    def launch(self, command, *, cwd, kernel_dir, info, env, stderr, launcher, host_connection_file):
        """Start ``command`` (a kernel_command) sandboxed. Returns (process, connection info for the grader's
        client, whose sockets are reached through the kernel's /proc/<pid>/root)."""
        inside = dict(info, ip=f"{SOCKETS}/s")
        inside_file = Path(kernel_dir) / "sandbox-kernel.json"
        inside_file.write_text(json.dumps({k: (v.decode() if isinstance(v, bytes) else v) for k, v in inside.items()}))
        command = [CONNECTION if part == str(host_connection_file) else LAUNCHER if part == str(launcher) else part
                   for part in command]
        process = self._start(command, cwd=cwd, connection_file=inside_file, launcher=launcher, env=env,
                              stderr=stderr, pipes=False)
        client_info = dict(info, ip=f"/proc/{process.kernel_pid or 0}/root{SOCKETS}/s")
        return process, client_info

    def spawn(self, command, *, cwd, env, stderr, program):
        """Start a long-lived ``command`` sandboxed with pipes on stdin and stdout (autograder/warm.py's zygote):
        ``program`` is mounted where the launcher goes, and "{launcher}" in ``command`` names it."""
        empty = Path(cwd).parent / f"{Path(cwd).name}.json"
        empty.write_text("{}")
        os.chmod(empty, 0o644)
        command = [LAUNCHER if part == "{launcher}" else part for part in command]
        return self._start(command, cwd=cwd, connection_file=empty, launcher=program, env=env, stderr=stderr,
                           pipes=True)

    def _start(self, command, *, cwd, connection_file, launcher, env, stderr, pipes):
        uid = _POOL.take() if self.as_root else None
        read_fd, write_fd = os.pipe()
        try:
            if uid is not None:  # the kernel's user must read its files; nobody else on the machine needs to
                os.chmod(connection_file, 0o644)
                os.chown(cwd, uid, uid)
                os.chmod(cwd, 0o700)
            argv = self.command(command, input_dir=cwd, connection_file=connection_file, launcher=launcher,
                                info_fd=write_fd, uid=uid)
            streams = (dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE) if pipes
                       else dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
            process = SandboxProcess(argv, cwd="/", env=self.environment(env), stderr=stderr, pass_fds=(write_fd,),
                                     start_new_session=True, **streams)
        except BaseException:
            if uid is not None:
                _POOL.give_back(uid)
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        process._uid = uid
        try:
            started = _read_info(read_fd, process)
        finally:
            os.close(read_fd)
        if started and "child-pid" in started:
            process.kernel_pid = int(started["child-pid"])
            try:
                process._pidfd = os.pidfd_open(process.kernel_pid)
            except OSError:
                pass
        return process


def _bwrap_version(bwrap):
    try:
        return subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout.split()[-1]
    except Exception:
        return "?"


def _probe(sandbox):
    """Run a trivial Python in the sandbox: None if it works, else bubblewrap's complaint."""
    from autograder.kernel import LAUNCHER as host_launcher
    with tempfile.TemporaryDirectory(prefix="agsb") as folder:
        connection = Path(folder) / "kernel.json"
        connection.write_text("{}")
        data = Path(folder) / "input"
        data.mkdir()
        uid = _POOL.take() if sandbox.as_root else None
        try:
            if uid is not None:
                os.chmod(connection, 0o644)
                os.chown(data, uid, uid)
            read_fd, write_fd = os.pipe()
            argv = sandbox.command([sys.executable, "-I", "-c", "import sys, os; print(os.getcwd())"],
                                   input_dir=data, connection_file=connection, launcher=host_launcher,
                                   info_fd=write_fd, uid=uid)
            try:
                done = subprocess.run(argv, env=sandbox.environment(), capture_output=True, text=True, timeout=60,
                                      pass_fds=(write_fd,), cwd="/")
            finally:
                os.close(write_fd)
                os.close(read_fd)
        finally:
            if uid is not None:
                _POOL.give_back(uid)
    if done.returncode != 0 or done.stdout.strip() != HOME:
        return (done.stderr or done.stdout).strip()[-500:] or f"exit status {done.returncode}"
    return None


NO_SANDBOX = ("sandbox: none; kernels run as the grader's user with rlimits and a scrubbed environment only: "
              "a submission can read and write whatever that user can, and use the network")


def detect(mode="auto", *, hidden=(), limits=SandboxLimits()):
    """(Sandbox or None, one-line description). ``mode``: "auto" (bubblewrap when it works here), "bwrap"
    (required: SandboxUnavailable otherwise) or "none"."""
    if mode == "none":
        return None, NO_SANDBOX + " (--sandbox none)"
    if mode not in ("auto", "bwrap"):
        raise ValueError(f"unknown sandbox mode {mode!r}; use auto, bwrap or none")
    problem = None
    bwrap = shutil.which("bwrap")
    setpriv = shutil.which("setpriv") if os.geteuid() == 0 else None
    if not sys.platform.startswith("linux"):
        problem = f"no bubblewrap on {sys.platform}"
    elif bwrap is None:
        problem = "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    elif os.geteuid() == 0 and setpriv is None:
        problem = "setpriv (util-linux) is missing, so root cannot start kernels as another user"
    if problem is None:
        try:
            sandbox = Sandbox(bwrap, setpriv, limits, hidden, _bwrap_version(bwrap))
            problem = _probe(sandbox)
        except SandboxUnavailable as exc:
            problem = str(exc)
    if problem is None:
        return sandbox, sandbox.describe()
    if mode == "bwrap":
        raise SandboxUnavailable(f"cannot sandbox the kernels: {problem}")
    return None, f"{NO_SANDBOX} ({problem})"


STAGE_SNIPPET = f"""\
def __autograder_stage():
    import os, shutil
    for folder, _, files in os.walk({INPUT!r}):
        target = os.path.relpath(folder, {INPUT!r})
        os.makedirs(target, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))
__autograder_stage()
del __autograder_stage
"""
