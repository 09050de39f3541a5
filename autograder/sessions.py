"""Kernels for grading (评分内核): a warm one ready for each submission, and a session that survives crashes.

- :class:`KernelSupply` hands out started kernels, each in a brand-new scratch folder, and starts the next one in
  advance (start-up, i.e. importing numpy/torch, dominates a submission's time). One supply per worker thread and
  per kind of kernel (the full notebook's, each clean room's).
- :class:`Session` runs code in order; after a crash or a kill a new kernel replays what had run, and grading
  goes on: only what could not run is lost.
- :func:`copy_files` / :func:`stage_files` put the learner's other files (helpers, data) next to the notebook.
"""

import shutil
import tempfile
import threading
import time
from pathlib import Path

from autograder.kernel import Kernel
from autograder.sandbox import STAGE_SNIPPET
from coursekit.i18n import Text


def setup_code(modules, extra=""):
    """Trusted code run in a full-notebook kernel first: import what the notebook needs (warm start-up), and
    draw figures inline as a fresh kernel does (a kernel forked from a zygote imported matplotlib before IPython
    ran, so the inline backend's hooks are set here)."""
    return (f"def __autograder_setup():\n"
            f"    import importlib, sys\n"
            f"    for name in {list(modules)!r}:\n"
            f"        try:\n"
            f"            importlib.import_module(name)\n"
            f"        except Exception:\n"
            f"            pass\n"
            f"    if 'matplotlib.pyplot' in sys.modules:\n"
            f"        get_ipython().enable_matplotlib('inline')\n"
            f"__autograder_setup()\n"
            f"del __autograder_setup\n" + (extra or ""))


class KernelSupply:
    """Hands out started kernels, each in a brand-new scratch folder, and starts the next one in advance.

    One supply per worker thread. ``take(ahead=True)`` returns the kernel started earlier (its imports are
    probably done) and immediately starts another for the next submission.
    """

    def __init__(self, config, setup, *, sandbox=None, env=None, warm_modules=()):
        self.config, self.setup = config, setup
        self.sandbox = sandbox if sandbox is not None else config.sandbox  # a clean room's variant, or the config's
        self.env = env or {}
        self.runtime_dir = tempfile.mkdtemp(prefix="agrt")
        self._spare = None
        self.stop = threading.Event()  # set when the whole run is interrupted: no new kernels, no more cells
        self._started = []  # every kernel handed out, so that stop_all() can end the running ones
        # Warm kernels (autograder/warm.py): forked by a zygote that imported ``warm_modules`` once. Only as root
        # with bubblewrap (a zygote per supply, its own uid); one kernel at a time, so no spare in advance.
        self.warm = bool(config.warm and self.sandbox is not None and self.sandbox.as_root
                         and not config.launch_prefix)
        self.warm_modules = tuple(warm_modules)
        self._zygote = None

    def _zygote_now(self):
        """The supply's zygote, started (again) when needed."""
        from autograder.warm import Zygote

        if self._zygote is None or not self._zygote.alive:
            if self._zygote is not None:
                self._zygote.close()
            self._zygote = Zygote(self.sandbox, limits=self.config.limits, warm_modules=self.warm_modules,
                                  env=self.env, stderr_path=Path(self.runtime_dir) / "zygote.log")
        return self._zygote

    def _new(self, scratch=None):
        launcher = None
        if self.warm:
            launcher = self._zygote_now()
            if scratch is None:
                launcher.empty_staging()
            scratch = launcher.staging
        scratch = Path(scratch or tempfile.mkdtemp(prefix="ag-", dir=self.config.scratch_dir))
        kernel = Kernel(scratch, setup_code=self.setup, limits=self.config.limits, env=self.env,
                        prefix=self.config.launch_prefix, runtime_dir=self.runtime_dir, sandbox=self.sandbox,
                        launcher=launcher)
        try:
            kernel.start()
        except BaseException:
            kernel.kill()
            self.discard(scratch)
            raise
        self._started = [k for k in self._started if k.alive] + [kernel]
        return kernel, scratch

    def prime(self):
        """Start the first kernel now."""
        if self._spare is None:
            self._spare = self._new()

    def check(self):
        """Wait for the waiting kernel to be ready: KernelStartError if the setup code cannot run at all."""
        self.prime()
        self._spare[0].wait_ready()

    def take(self, ahead=True):
        """The waiting (or a new) kernel and its scratch folder; with ``ahead``, start the next one now (not for
        warm kernels: a fork is quick, and a zygote holds one kernel at a time)."""
        kernel, scratch = self._spare or self._new()
        self._spare = self._new() if ahead and not self.warm else None
        return kernel, scratch

    def discard(self, scratch):
        """Done with a scratch folder (a warm supply's staging folder is emptied before its next kernel)."""
        if not self.warm:
            shutil.rmtree(scratch, ignore_errors=True)

    def restart(self, scratch):
        """A new kernel in the same scratch folder (after a crash)."""
        return self._new(scratch)[0]

    def stop_all(self):
        """Interrupt the run: kill this supply's kernels; the sessions using them give up."""
        self.stop.set()
        for kernel in list(self._started):
            kernel.kill_process()
        if self._zygote is not None:
            self._zygote.process.kill_all()

    def close(self):
        if self._spare:
            kernel, scratch = self._spare
            kernel.kill()
            self.discard(scratch)
            self._spare = None
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


class Session:
    """Runs cells in order; after a crash, a new kernel replays the cells that ran before, then goes on."""

    def __init__(self, kernel, restart, config, deadline, stop=None):
        self.kernel, self._restart_fn, self.config, self.deadline = kernel, restart, config, deadline
        self.stop = stop
        self.history = []  # code that ran to completion (ok or error): replayed after a restart
        self.restarts = 0
        self.gave_up = None  # reason, once the session stopped running code

    def run(self, code, *, replay=True):
        """A CellRun, or None when nothing runs any more (see ``gave_up``)."""
        if self.gave_up is None and self.stop is not None and self.stop.is_set():
            self.gave_up = Text("grading was interrupted")
        if self.gave_up is None and self.deadline is not None and time.monotonic() > self.deadline:
            self.gave_up = Text("the submission used up its time budget of {seconds:g} s",
                                seconds=self.config.notebook_timeout)
        if self.gave_up is None and not self.kernel.alive and not self._restart():
            return None
        if self.gave_up is not None:
            return None
        timeout = self.config.timeout
        if self.deadline is not None:
            timeout = max(1.0, min(timeout, self.deadline - time.monotonic()))
        run = self.kernel.run(code, timeout=timeout, max_output_bytes=self.config.max_output_bytes,
                              grace=self.config.grace, store_history=replay)
        if replay and run.status in ("ok", "error"):
            self.history.append(code)
        return run

    def _restart(self):
        if self.restarts >= self.config.max_restarts:
            self.gave_up = Text("the kernel stopped {times} times; the remaining cells were not run",
                                times=self.restarts + 1)
            return False
        self.restarts += 1
        self.kernel.kill()
        self.kernel = self._restart_fn()
        for code in self.history:  # rebuild the state the next cells expect
            timeout = self.config.timeout
            if self.deadline is not None:
                timeout = max(1.0, min(timeout, self.deadline - time.monotonic()))
            run = self.kernel.run(code, timeout=timeout, max_output_bytes=0, grace=self.config.grace)
            if not run.kernel_alive:
                self.gave_up = Text("the kernel stopped again while replaying earlier cells after a crash")
                return False
        return True

    def close(self):
        self.kernel.kill()


def copy_files(source_dirs, scratch, max_bytes):
    """Copy the non-notebook files of ``source_dirs`` (later ones win) into ``scratch``; False if too big."""
    for folder in source_dirs:
        if folder is None:
            continue
        files = [p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb"
                 and not any(part.startswith(".") for part in p.relative_to(folder).parts)]  # links could leak
        if sum(p.stat().st_size for p in files) > max_bytes:
            return False
        for path in files:
            target = Path(scratch) / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return True


def public_folder(assignment):
    """The folder whose other files (data) go next to the notebook: the released course/<assignment>/ when it
    exists, so that nothing that is only in solutions/ ever reaches a kernel."""
    released = assignment.folder.parent.parent / "course" / assignment.name
    return released if released.is_dir() else assignment.folder


def stage_files(session, config):
    """In a sandbox the kernel's working folder is private: copy the staged files into it (trusted code, kept in
    the history so that a restarted kernel gets them again)."""
    if config.sandbox is not None:
        session.run(STAGE_SNIPPET)
