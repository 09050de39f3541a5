"""A real JupyterLab server for the browser tests, started on a temporary copy of the course.

Why a copy: running notebooks in the browser autosaves outputs and makes the formgrader write its gradebook, and
neither may touch the repository. The copy keeps the course layout (autograder/nbgrader_config.py, solutions/,
course/, benchmarks/), so the course's own nbgrader configuration is used unchanged: it derives the course root
from its own location.

How nbgrader finds the configuration: the server runs with its working directory in ``<root>/autograder`` and
``--ServerApp.root_dir=<root>``. The formgrader and the Validate button load ``nbgrader_config.py`` from the
server's working directory; the formgrader also requires the course root to lie inside the server's root_dir.
nbgrader's exchange (autograder/exchange by default) must exist before the server starts, or the formgrader
offers no Release button. The instructor's commands are the same without the test isolation:
``cd autograder && mkdir -p exchange && jupyter lab --ServerApp.root_dir=..``.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# benchmarks/: data files that notebooks may plot; -zh: the Chinese edition (i18n/)
COURSE_PARTS = ("solutions", "course", "solutions-zh", "course-zh", "benchmarks")
SKIPPED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "out", "screenshots")

# JupyterLab settings for a test browser: every cell stays in the page (no windowing, so that all outputs can be
# inspected) and no news or update pop-ups cover the page.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def copy_course(dest, repo=REPO):
    """Copy what a JupyterLab session of the course needs from ``repo`` into ``dest``; returns ``dest``."""
    dest = Path(dest)
    (dest / "autograder").mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(repo) / "autograder" / "nbgrader_config.py", dest / "autograder" / "nbgrader_config.py")
    for part in COURSE_PARTS:
        if (Path(repo) / part).is_dir():
            shutil.copytree(Path(repo) / part, dest / part, ignore=SKIPPED, dirs_exist_ok=True)
    return dest


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """``jupyter lab`` on 127.0.0.1 with a random port and token, serving ``root`` (a course copy).

    The server's home, runtime files, settings and workspaces go under ``workdir``; nbgrader writes its gradebook
    and exchange into the course copy, as configured. The lab extensions installed in this interpreter's
    environment are still found through its sys.prefix. Use as a context manager, or call start() and stop().
    """

    def __init__(self, root, workdir, startup_timeout=120, create_exchange=True):
        self.root = Path(root).resolve()
        self.create_exchange = create_exchange
        self.workdir = Path(workdir).resolve()
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(16)
        self.port = None
        self.process = None
        self.log_path = self.workdir / "jupyterlab.log"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, workspace):
        """The address of a fresh JupyterLab workspace (nothing restored from an earlier page)."""
        return f"{self.url}/lab/workspaces/{workspace}?reset&token={self.token}"

    def _environment(self):
        home = self.workdir / "home"
        settings = self.workdir / "lab-settings"
        for relative, values in LAB_SETTINGS.items():
            (settings / relative).parent.mkdir(parents=True, exist_ok=True)
            (settings / relative).write_text(json.dumps(values))
        bin_dir = str(Path(sys.executable).parent)  # the formgrader runs `alembic` from this environment
        environment = dict(
            os.environ,
            PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
            HOME=str(home),
            JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
            JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.workdir / "workspaces"),
            IPYTHONDIR=str(home / ".ipython"),
            MPLCONFIGDIR=str(home / ".matplotlib"),
        )
        # nbgrader's exchange: the configuration's default, not whatever the calling shell points to.
        environment.pop("NBGRADER_EXCHANGE", None)
        if self.create_exchange:
            (self.root / "autograder" / "exchange").mkdir(exist_ok=True)
        return environment

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_dir = self.root / "autograder"
        if not (config_dir / "nbgrader_config.py").is_file():
            raise FileNotFoundError(f"{config_dir / 'nbgrader_config.py'} not found: is {self.root} a course root?")
        self.port = free_port()
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            # window.jupyterapp lets the tests read the notebook model the page shows (outputs, execution counts)
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI runs as root
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, cwd=config_dir, env=self._environment(), stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)  # own process group: stop() ends the kernels too
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"JupyterLab did not start within {self.startup_timeout} s; its log "
                                   f"({self.log_path}) ends with:\n{self.log_tail()}")
            time.sleep(0.5)
        return self

    def _answers(self):
        request = urllib.request.Request(f"{self.url}/api/status",
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def log_tail(self, chars=4000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
