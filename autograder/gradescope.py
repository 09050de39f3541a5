"""Build a Gradescope autograder zip that grades with the same Grader as ``python -m autograder grade``.

The zip holds setup.sh (a virtualenv of the image's Python with only what grading needs,
``autograder/requirements-grading.txt``, and this project), run_autograder (grades /autograder/submission/*.ipynb
and writes /autograder/results/results.json, as students see it), the two packages, pyproject.toml and the
instructor notebook of the assignment (solutions/ — the zip is private to the course staff on Gradescope). ``AUTOGRADER_ROOT`` replaces /autograder and
``AUTOGRADER_PYTHON`` the interpreter of run_autograder, ``AUTOGRADER_BASE_PYTHON`` the image's python3 for
setup.sh, so that the generated scripts can be run against a fake layout
(tests/test_autograder_gradescope_e2e.py).
"""

import json
import os
import stat
import time
import zipfile
from pathlib import Path

import coursekit

PACKAGE = Path(__file__).resolve().parent
PROJECT = PACKAGE.parent

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. It installs what grading needs
# (autograder/requirements-grading.txt) and nothing else: no JupyterLab, no browser, no test tools, and no other
# Python than the image's own.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"
PYTHON="${AUTOGRADER_BASE_PYTHON:-python3}"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

apt_install() {  # best effort, as root only (Gradescope builds as root)
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        (apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@") || true
    fi
}

# The kernel sandbox (bubblewrap); where the container forbids namespaces the grader runs without it and says so.
command -v bwrap >/dev/null 2>&1 || apt_install bubblewrap

# Python: a virtualenv of the image's python3 when it is 3.11 or newer (Ubuntu 24.04: 3.12). Older ones (Ubuntu
# 22.04: 3.10; numpy 2.4 needs 3.11) get a standalone CPython 3.11 from uv, installed with the image's pip.
if "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    if ! "$PYTHON" -m venv "$VENV"; then  # Debian and Ubuntu ship venv's pip separately
        apt_install python3-venv "python3.$("$PYTHON" -c 'import sys; print(sys.version_info[1])')-venv"
        rm -rf "$VENV" && "$PYTHON" -m venv "$VENV"
    fi
else
    "$PYTHON" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    PIP_BREAK_SYSTEM_PACKAGES=1 "$PYTHON" -m pip install --quiet uv==0.13.9
    "$PYTHON" -m uv venv --quiet --seed --python 3.11 "$VENV"
fi
# Exact pins, no dependency resolution (nbgrader would pull JupyterLab); torch's CPU build from PyTorch's index.
"$VENV/bin/python" -m pip install --quiet --no-deps --extra-index-url https://download.pytorch.org/whl/cpu \\
    -r "$SOURCE/autograder/requirements-grading.txt"
# This project (autograder, coursekit) from the source folder, as `pip install -e .` would, without build tools.
"$VENV/bin/python" -c \\
    'import site, sys; open(site.getsitepackages()[0] + "/gru-course.pth", "w").write(sys.argv[1])' "$SOURCE"
"$VENV/bin/python" -m autograder gradescope-run --help >/dev/null  # a broken image fails here, not on a student
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
cd "$ROOT/source"
exec "$PYTHON" -m autograder gradescope-run {assignment} --root "$ROOT/source" --submission "$ROOT/submission" \\
    --results "$ROOT/results/results.json" --timeout {timeout:g} --hidden-visibility {visibility}
"""


def _package_files(package_dir):
    for path in sorted(Path(package_dir).rglob("*")):
        relative = path.relative_to(package_dir)
        if path.is_file() and "__pycache__" not in relative.parts and path.suffix not in (".pyc", ".db") \
                and not any(part in ("submitted", "autograded", "feedback", "exchange") for part in relative.parts):
            yield path, relative


def _add(zf, arcname, data, executable=False):
    info = zipfile.ZipInfo(arcname, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_zip(root, assignment, out, timeout=60.0, visibility="after_published"):
    """Write the Gradescope autograder zip of ``assignment`` (from ``<root>/solutions``) to ``out``; ``visibility``
    is when students see the details of hidden cases (autograder/gradescope_view.py)."""
    root, out = Path(root), Path(out)
    source = root / "solutions" / assignment
    if not source.is_dir():
        raise FileNotFoundError(f"no assignment {assignment!r} in {root / 'solutions'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH, executable=True)
        _add(zf, "run_autograder", RUN_AUTOGRADER.format(assignment=assignment, timeout=timeout,
                                                         visibility=visibility), executable=True)
        _add(zf, "pyproject.toml", (PROJECT / "pyproject.toml").read_bytes())
        for package_dir in (PACKAGE, Path(coursekit.__file__).resolve().parent):
            for path, relative in _package_files(package_dir):
                _add(zf, f"{package_dir.name}/{relative.as_posix()}", path.read_bytes())
        for path in sorted(source.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                _add(zf, f"solutions/{assignment}/{path.relative_to(source).as_posix()}", path.read_bytes())
    return out


def write_results(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False))


def run(root, assignment_name, submission_dir, results_path, config, hidden_visibility="after_published"):
    """Grade the notebook in ``submission_dir``; always write ``results_path`` (even when the grader fails), as
    students see it (autograder/gradescope_view.py)."""
    from autograder.assignment import load_assignment
    from autograder.discover import _pick_notebook
    from autograder.config import draw_secret
    from autograder.grader import Grader
    from autograder.outcomes import error_result
    from autograder.gradescope_view import student_view
    from autograder.reports import results_json
    from autograder.submission import SubmissionError

    start = time.monotonic()
    try:
        assignment = load_assignment(root, assignment_name)
        student = _student_id(Path(submission_dir).parent)
        try:
            notebook, flags = _pick_notebook(Path(submission_dir), assignment.notebook_name, assignment.name)
        except SubmissionError as exc:
            result = error_result(student, assignment, exc.flag, str(exc))
        else:
            grader = Grader(assignment, config, secret=draw_secret())
            kernels = grader.kernels()
            try:
                result = grader.grade(student, notebook, kernels, extra_files_dir=Path(submission_dir), ahead=False)
            finally:
                kernels.close()
                grader.close()
            result.flags = flags + result.flags
        write_results(results_path, student_view(results_json(result), result, assignment, hidden_visibility))
        return result
    except Exception:
        write_results(results_path, {"score": 0, "execution_time": round(time.monotonic() - start, 2),
                                     "output": "The autograder itself failed (not your fault). Please contact "
                                               "the course staff.",
                                     "tests": []})
        raise  # the traceback goes to the log, which only the staff see


def _student_id(autograder_root):
    """The submitter's email/name from Gradescope's submission_metadata.json, else "submission"."""
    try:
        metadata = json.loads((Path(autograder_root) / "submission_metadata.json").read_text())
        user = metadata["users"][0]
        return str(user.get("email") or user.get("name") or "submission")
    except Exception:
        return os.environ.get("GRADESCOPE_STUDENT", "submission")
