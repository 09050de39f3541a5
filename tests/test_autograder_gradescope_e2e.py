"""Gradescope as students see it, and its grading image.

- the student view: per-test visibility (hidden-case details after_published by default), the overall output;
- the lean image: autograder/requirements-grading.txt pins what requirements.txt pins, leaves out JupyterLab, the
  browser and the test tools, and covers everything grading imports (in the grader and in every notebook's kernel);
- end to end (slow): the generated setup.sh builds its virtualenv from this machine's base Python against a
  simulated /autograder root in a temporary folder, then run_autograder grades a submission with that virtualenv.

What the end-to-end test cannot run here, and why: pip installs from a local wheelhouse repacked from this
environment's installed distributions (no download from PyPI or PyTorch's index in a test), without torch (the
graded assignment does not import it, and repacking it would take minutes); apt-get (not root here; bubblewrap is
already installed); the uv branch for images older than Python 3.11 (this machine's Python is 3.11); Gradescope's
own harness (it uploads the submission and reads results.json the way this test does).
"""

import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import autograder_synthetic as syn
import coursekit.items
from autograder.assignment import load_assignment
from autograder.outcomes import ItemResult, ManualResult, SubmissionResult, error_result
from autograder.gradescope_view import HIDDEN_NOTE, split_message, student_view
from autograder.reports import results_json
from coursekit.checking import call_learner, cases_for, judge

REPO = Path(__file__).resolve().parent.parent
LEAN = REPO / "autograder" / "requirements-grading.txt"
NOT_IN_THE_IMAGE = {"jupyterlab", "jupyterlab-server", "jupyter-lsp", "notebook-shim", "playwright", "pytest",
                    "pytest-xdist", "nbval", "coverage", "terminado", "jupyter-server-terminals", "alembic"}


def _pins(path):
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return pins


# -- the student view ----------------------------------------------------------------------------------------------

@pytest.fixture
def assignment(tmp_path, monkeypatch):
    monkeypatch.setitem(coursekit.items.ASSIGNMENTS, syn.ASSIGNMENT, syn.REGISTRY)
    return load_assignment(syn.make_course(tmp_path / "course"), syn.ASSIGNMENT)


def _message(fn, seed=11):
    cases = cases_for(syn.DOUBLE, seed, True)
    return judge(syn.DOUBLE, cases, call_learner(syn.DOUBLE, fn, cases)).message


def wrong_on_hidden_cases(x):
    """Right on the public kinds of case (n=6, 2x3), wrong on the hidden ones (n=1, a large vector)."""
    return 2 * x if x.size in (6,) else x


def test_a_failing_public_case_is_shown_a_hidden_one_waits(assignment):
    public_failure = _message(lambda x: x)
    assert split_message(public_failure, {"n=6", "2x3"}) == (public_failure, None)
    hidden_failure = _message(wrong_on_hidden_cases)
    visible, detail = split_message(hidden_failure, {"n=6", "2x3"})
    assert detail == hidden_failure and ("[n=1]" in detail or "[large]" in detail) and "expected" in detail
    assert visible == hidden_failure.split("\n")[0] + "\n" + HIDDEN_NOTE and "expected" not in visible
    assert "2 of 4 cases fail" in visible
    assert split_message("negate raised ValueError: bad shape\nTraceback of your code: ...", {"n=6"})[1] is None


def _result(assignment, tests, flags=()):
    return SubmissionResult("ann", syn.ASSIGNMENT, "graded", sum(t.score for t in tests), 6.0, list(flags), tests,
                            [ManualResult("why_square", 1.0, True)], 2.0)


def test_student_view_of_results(assignment):
    tests = [ItemResult("test_double", "double", 2, 0, False, _message(wrong_on_hidden_cases)),
             ItemResult("test_square", "square", 3, 3, True, "square: all 4 cases pass."),
             ItemResult("test_negate", "negate", 1, 0, False,
                        "0 points: negate uses torch.\nThe check itself said: negate: all 4 cases pass.")]
    result = _result(assignment, tests, flags=["policy:reference:test_negate"])
    view = student_view(results_json(result), result, assignment)
    by_name = {t["name"]: t for t in view["tests"]}
    assert [t["visibility"] for t in view["tests"]] == ["visible", "after_published", "visible", "visible"]
    double = by_name["test_double (double)"]
    assert (double["score"], double["max_score"], double["status"]) == (0, 2, "failed")
    assert "expected" not in double["output"] and "A hidden case fails" in double["output"]
    details = by_name["test_double (double): details"]
    assert (details["score"], details["max_score"]) == (0, 0) and "[" in details["output"]
    assert by_name["test_negate (negate)"]["output"].startswith("0 points: negate uses torch.")  # no case: whole
    assert view["score"] == 3 and view["stdout_visibility"] == "hidden"
    output = view["output"]
    assert output.startswith("Autograded score: 3 / 6 (1 of 3 exercises pass).")
    assert "Not passing yet: double, negate." in output and "python -m autograder check synthetic.ipynb" in output
    assert "why_square (1 point)" in output and "does not allow" in output
    visible = student_view(results_json(result), result, assignment, "visible")
    assert {t["visibility"] for t in visible["tests"]} == {"visible"}


def test_student_view_of_an_error_and_of_a_full_score(assignment):
    broken = error_result("ann", assignment, "not-json", "synthetic.ipynb is truncated")
    output = student_view(results_json(broken), broken, assignment)["output"]
    assert output.startswith("Your submission could not be graded: synthetic.ipynb is truncated")
    assert "upload the notebook file synthetic.ipynb itself" in output
    full = _result(assignment, [ItemResult("test_double", "double", 2, 2, True, "double: all 4 cases pass.")])
    assert "nothing to do" in student_view(results_json(full), full, assignment)["output"]


# -- the lean image ------------------------------------------------------------------------------------------------

def test_grading_requirements_are_pinned_like_requirements_txt_and_lean():
    lean, full = _pins(LEAN), _pins(REPO / "requirements.txt")
    assert lean["torch"] == full["torch"] == "==2.13.0"
    assert {name: pin for name, pin in lean.items() if name != "setuptools"} == \
        {name: full[name] for name in lean if name != "setuptools"}
    assert lean["setuptools"] == f"=={metadata.version('setuptools')}"  # nbgrader.utils imports it
    assert not NOT_IN_THE_IMAGE & set(lean), NOT_IN_THE_IMAGE & set(lean)


IMPORTS = """\
import importlib, json, pkgutil, sys
from importlib import metadata
from pathlib import Path
import nbformat
import coursekit
from autograder.assignment import notebook_imports
modules = ["autograder.cli", "autograder.gradescope", "autograder.gradescope_view", "autograder.grader",
           "autograder.runner", "ipykernel.kernelapp", "ipykernel.ipkernel", "matplotlib_inline.backend_inline"]
modules += [m.name for m in pkgutil.walk_packages(coursekit.__path__, "coursekit.")]
for path in sorted(Path(sys.argv[1]).glob("solutions/*/*.ipynb")):
    modules += notebook_imports(nbformat.read(path, as_version=4))
for name in modules:
    importlib.import_module(name)
top = {name.split(".")[0] for name in sys.modules}
found = metadata.packages_distributions()
print(json.dumps(sorted({d for t in top for d in found.get(t, [])})))
"""


@pytest.mark.slow
def test_the_image_has_every_distribution_that_grading_imports():
    """The grader's modules and, in the kernels, every module the course's notebooks import (torch included)."""
    done = subprocess.run([sys.executable, "-c", IMPORTS, str(REPO)], capture_output=True, text=True, timeout=300,
                          check=True)
    imported = {canonicalize_name(d) for d in json.loads(done.stdout)}
    # this project itself goes in by a .pth file; setuptools' vendored helpers come with setuptools
    vendored = {"gru-course", "jaraco-context", "jaraco-functools", "jaraco-text", "more-itertools", "autocommand",
                "backports-tarfile"}
    assert imported - vendored <= set(_pins(LEAN)), sorted(imported - vendored - set(_pins(LEAN)))


# -- end to end: setup.sh and run_autograder against a simulated /autograder ----------------------------------------

def _repack(distribution, folder):
    """A wheel of an installed distribution (its files under site-packages), so that pip can install it offline."""
    site = Path(distribution.locate_file(""))
    files = [f for f in distribution.files or [] if not str(f).startswith("..") and "__pycache__" not in str(f)]
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    wheel = Path(folder) / f"{info[:-len('.dist-info')]}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as zf:
        names = []
        for f in files:
            path = site / f
            if path.is_file() and f.name != "RECORD":
                zf.write(path, str(f))
                names.append(str(f))
        zf.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in names + [f"{info}/RECORD"]))
    return wheel


@pytest.mark.slow
def test_setup_sh_and_run_autograder_against_a_simulated_autograder_root(tmp_path):
    from autograder.cli import main
    from test_autograder_grading import CONCEPT, _concept_course
    notebook = _concept_course(tmp_path / "course")
    archive = tmp_path / "autograder.zip"
    assert main(["gradescope", CONCEPT, "--out", str(archive), "--root", str(tmp_path / "course"),
                 "--timeout", "30"]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile does not restore modes; Gradescope runs them with bash
        (root / "source" / name).chmod(0o755)
    # Offline: a wheelhouse repacked from this environment, and no torch (01-gru-concept does not import it).
    requirements = root / "source" / "autograder" / "requirements-grading.txt"
    lines = [line for line in requirements.read_text().splitlines() if not line.startswith("torch==")]
    requirements.write_text("\n".join(lines) + "\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in _pins(requirements):
        _repack(metadata.distribution(name), wheels)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_BASE_PYTHON=sys._base_executable, PIP_NO_INDEX="1",
               PIP_FIND_LINKS=str(wheels), PATH=os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                                                if not p.startswith(sys.prefix)))
    done = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    venv_python = root / "venv" / "bin" / "python"
    installed = subprocess.run([str(venv_python), "-m", "pip", "list", "--format", "json"], env=env,
                               capture_output=True, text=True, check=True).stdout
    names = {canonicalize_name(p["name"]) for p in json.loads(installed)}
    assert "nbgrader" in names and not names & NOT_IN_THE_IMAGE

    for cell in notebook.cells:  # the student's answer: gru_update right, memory_half_life upside down
        if cell.get("id") == "memory_half_life":
            cell.source = "def memory_half_life(z):\n    return np.log(z) / np.log(0.5)"
    syn.write(notebook, root / "submission" / "gru_concept.ipynb")
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "ann@example.org"}]}))
    (root / "results").mkdir()
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)  # the virtualenv's python: AUTOGRADER_PYTHON is not set
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 2 and data["extra_data"]["student_id"] == "ann@example.org"
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert [(t["name"].split()[0], t["status"], t["score"]) for t in visible] == \
        [("test_gru_update", "passed", 2), ("test_memory_half_life", "failed", 0)]
    assert data["output"].startswith("Autograded score: 2 / 4") and "memory_half_life" in data["output"]
    failed = "\n".join(t["output"] for t in data["tests"] if t["status"] == "failed")
    assert "upside down" in failed  # in the visible test or in its after_published details
    assert np.isfinite(data["execution_time"])
