"""No accidents, and nbgrader from the repository root: git ignores students' work, ``release`` refuses to destroy a
learner's changes in course/, and the root nbgrader_config.py gives formgrader, Release and Validate the course."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import autograder_synthetic as syn
import coursekit.items
from autograder.assignment import load_assignment
from autograder.cli import main
from autograder.release import ReleaseRefused, at_risk, release

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())


# -- .gitignore ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "submissions/alice/gru_numpy.ipynb", "submissions-2026/doejohn_late_23456_78901_gru_numpy-1.ipynb",
    "submitted/alice/02-gru-numpy/gru_numpy.ipynb", "submissions.zip", "Downloads/submissions (3).zip",
    "exports/John Doe_12345_assignsubmission_file/gru_numpy.ipynb", "roster.csv", "grading-out/grades.csv",
    "out/canvas_grades.csv", "similarity.html", "autograder/gradebook.db", "autograder/exchange/x"])
def test_students_work_is_ignored_by_git(path):
    done = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "-q", path])
    assert done.returncode == 0, f"{path} is not git-ignored"


@pytest.mark.parametrize("path", ["course/02-gru-numpy/gru_numpy.ipynb", "solutions/02-gru-numpy/gru_numpy.ipynb",
                                  "coursekit/data/adding_sweep.csv", "autograder/requirements-grading.txt"])
def test_the_course_itself_is_not_ignored(path):
    assert subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "-q", path]).returncode == 1


# -- release refuses to overwrite a learner's work -----------------------------------------------------------------

@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course root (not a git checkout) with the synthetic assignment's student notebook in course/."""
    monkeypatch.setitem(coursekit.items.ASSIGNMENTS, syn.ASSIGNMENT, syn.REGISTRY)
    root = syn.make_course(tmp_path / "course")
    released = root / "course" / syn.ASSIGNMENT
    released.mkdir(parents=True)
    nbformat.write(syn.student_version(load_assignment(root, syn.ASSIGNMENT)), released / f"{syn.NOTEBOOK}.ipynb")
    return root


def _answer(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.get("id") == "double-solution":
            cell.source = "def double(x):\n    return x + x"
    nbformat.write(notebook, path)


def test_a_fresh_release_is_not_at_risk_an_answered_one_is(course):
    notebook = course / "course" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    assert at_risk(course, syn.ASSIGNMENT) == []
    _answer(notebook)
    (notebook.parent / "my_notes.txt").write_text("remember the 1 - z")
    assert at_risk(course, syn.ASSIGNMENT) == [notebook.parent / "my_notes.txt", notebook]
    before = notebook.read_bytes()
    with pytest.raises(ReleaseRefused) as info:
        release(course, [syn.ASSIGNMENT])
    assert notebook.read_bytes() == before  # nothing was written
    assert "course/00-synthetic/synthetic.ipynb" in str(info.value) and "--force" in str(info.value)


def test_a_notebook_with_outputs_is_at_risk(course):
    path = course / "course" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    data = json.loads(path.read_text())
    data["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    path.write_text(json.dumps(data))
    assert at_risk(course, syn.ASSIGNMENT) == [path]


def test_in_git_only_changes_since_the_last_commit_count(course):
    def git(*args):
        subprocess.run(["git", "-C", str(course), *args], check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@t"})
    notebook = course / "course" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    git("init", "-q")
    _answer(notebook)  # an answered notebook that is committed (e.g. a worked example): the release's to replace
    git("add", ".")
    git("commit", "-q", "-m", "course")
    assert at_risk(course, syn.ASSIGNMENT) == []
    data = json.loads(notebook.read_text())
    data["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    notebook.write_text(json.dumps(data))
    assert at_risk(course, syn.ASSIGNMENT) == [notebook]


@pytest.mark.slow
def test_release_command_refuses_then_force_overwrites(course, capsys):
    notebook = course / "course" / syn.ASSIGNMENT / f"{syn.NOTEBOOK}.ipynb"
    _answer(notebook)
    assert main(["release", syn.ASSIGNMENT, "--root", str(course)]) == 2
    assert "synthetic.ipynb" in capsys.readouterr().err and "return x + x" in notebook.read_text()
    assert main(["release", syn.ASSIGNMENT, "--root", str(course), "--force"]) == 0
    assert "return x + x" not in notebook.read_text() and "raise NotImplementedError" in notebook.read_text()


# -- nbgrader from the repository root ------------------------------------------------------------------------------

FORMGRADER_VIEW = """\
import json, sys
from nbgrader.apps.api import NbGraderAPI
from nbgrader.apps.baseapp import NbGrader
from nbgrader.coursedir import CourseDirectory
app = NbGrader()
app.load_config_file()  # what the formgrader and the lab extension do, in the server's folder
coursedir = CourseDirectory(config=app.config)
api = NbGraderAPI(coursedir=coursedir, config=app.config)
print(json.dumps({"root": coursedir.root, "source": coursedir.source_directory,
                  "release": coursedir.release_directory, "exchange": app.config.Exchange.root,
                  "assignments": sorted(api.get_source_assignments())}))
"""


def _formgrader_view(cwd, **env):
    done = subprocess.run([sys.executable, "-c", FORMGRADER_VIEW], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_formgrader_started_at_the_root_sees_every_assignment(tmp_path):
    view = _formgrader_view(REPO, NBGRADER_EXCHANGE=str(tmp_path / "hub-exchange"))
    assert (view["root"], view["source"], view["release"]) == (str(REPO), "solutions", "course")
    assert view["assignments"] == ASSIGNMENTS and len(ASSIGNMENTS) >= 7
    assert view["exchange"] == str(tmp_path / "hub-exchange") and (tmp_path / "hub-exchange").is_dir()
    assert _formgrader_view(REPO / "autograder", NBGRADER_EXCHANGE=str(tmp_path / "x")) == \
        {**view, "exchange": str(tmp_path / "x")}  # the same course as from autograder/


@pytest.mark.slow
def test_release_and_validate_from_the_root(tmp_path):
    env = {**os.environ, "NBGRADER_EXCHANGE": str(tmp_path / "exchange")}
    db = ["--CourseDirectory.db_url=sqlite:///" + str(tmp_path / "gradebook.db")]
    nbgrader = [sys.executable, "-m", "nbgrader"]
    done = subprocess.run([*nbgrader, "release_assignment", "01-gru-concept", *db], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "exchange" / "gru-course" / "outbound" / "01-gru-concept" / "gru_concept.ipynb").is_file()
    done = subprocess.run([*nbgrader, "validate", "solutions/01-gru-concept/gru_concept.ipynb"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Success! Your notebook passes all the tests." in done.stdout, \
        done.stdout[-2000:] + done.stderr[-2000:]
