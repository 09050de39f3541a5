"""Every course notebook, generically: each ``solutions/<id>/<name>.ipynb`` is checked, so new notebooks are covered
as soon as they exist.

(a) the solution notebook runs top to bottom;                                              [slow]
(b) the committed student version in course/ is what nbgrader generates from solutions/;
(c) nbgrader autograde gives the solution full marks and the untouched student version zero; [slow]
(d) structural rules: no outputs, cell ids, graded cells match coursekit.items, nothing hidden leaks;
(e) JupyterLab serves every student notebook.                                              [slow]

nbgrader and JupyterLab run as subprocesses of this interpreter's environment, in temporary directories, so that
nothing is written into the repository.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from coursekit import items

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "autograder" / "nbgrader_config.py"
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
ASSIGNMENTS = [path.parent.name for path in SOLUTIONS]
BIN = str(Path(sys.executable).parent)  # nbgrader needs `alembic` from this environment on PATH


def env(**extra):
    environment = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    environment.update(extra)
    return environment


def student_path(solution):
    return ROOT / "course" / solution.parent.name / solution.name


def read(path):
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_autograded_test(cell):
    meta = nbgrader_meta(cell)
    return cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution")


_RUNNER = """
import json, sys, traceback
import nbgrader.apps as apps
for index, (name, argv) in enumerate(json.loads(sys.argv[1])):
    sys.stderr.write(f"@@@ step {index} start\\n")
    sys.stderr.flush()
    code = 0
    try:
        app = getattr(apps, name)()
        app.initialize(argv)
        app.start()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except Exception:
        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    sys.stderr.write(f"@@@ step {index} exit {code}\\n")
    sys.stderr.flush()
"""


def run_nbgrader_apps(cwd, steps, timeout=3600):
    """Run nbgrader apps one after the other in one Python process (nbgrader is imported once).

    steps: [(app class name, argv), ...]. Returns one (exit code, log) per step, so that one broken notebook does not
    hide the results of the others.
    """
    result = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(steps)], cwd=cwd, env=env(),
                            capture_output=True, text=True, timeout=timeout)
    outcomes = []
    for index in range(len(steps)):
        _, _, rest = result.stderr.partition(f"@@@ step {index} start\n")
        log, marker, after = rest.partition(f"@@@ step {index} exit ")
        code = int(after.split("\n", 1)[0]) if marker else None  # None: the process died during this step
        outcomes.append((code, log if marker else result.stderr[-4000:] + result.stdout[-2000:]))
    return outcomes


def assert_nbgrader_ok(outcome, what):
    code, log = outcome
    assert code == 0, f"nbgrader {what} failed (exit code {code}):\n{log[-4000:]}"
    errors = [line for line in log.splitlines() if "| ERROR]" in line or "| CRITICAL]" in line]
    assert not errors, f"nbgrader {what} logged errors:\n" + "\n".join(errors)


def visible(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))  # not .ipynb_checkpoints


def test_there_are_notebooks_and_each_folder_holds_one():
    assert SOLUTIONS, "no solutions/*/*.ipynb found"
    for solution in SOLUTIONS:
        assert visible(solution.parent) == [solution.name], f"{solution.parent} holds more files"
        course = ROOT / "course" / solution.parent.name
        assert course.is_dir() and visible(course) == [solution.name], (
            f"{course} should hold exactly {solution.name}; regenerate it with nbgrader generate_assignment")


# ----------------------------------------------------------------------------------------------------------------
# (d) structural rules
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("solution", SOLUTIONS, ids=ASSIGNMENTS)
def test_no_outputs_and_unique_cell_ids(solution):
    for path in (solution, student_path(solution)):
        nb = read(path)
        assert (nb.nbformat, nb.nbformat_minor) >= (4, 5), f"{path.name}: nbformat 4.5 or later is needed for ids"
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path}: kernel must be python3"
        nbformat.validate(nb)
        ids = [cell.get("id") for cell in nb.cells]
        assert all(ids), f"{path}: every cell needs an id"
        assert len(set(ids)) == len(ids), f"{path}: duplicate cell ids"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path}: cell {cell.id} has outputs"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=ASSIGNMENTS)
def test_graded_cells_are_the_items_of_coursekit(solution):
    assignment = solution.parent.name
    assert assignment in items.ASSIGNMENTS, f"{assignment} has no items module in coursekit.items"
    known = items.ASSIGNMENTS[assignment]
    nb = read(solution)
    tests = [cell for cell in nb.cells if is_autograded_test(cell)]
    grade_ids = [nbgrader_meta(cell)["grade_id"] for cell in tests]
    assert sorted(grade_ids) == sorted(known), f"{assignment}: test cells {grade_ids}, items {sorted(known)}"
    for cell in tests:
        meta = nbgrader_meta(cell)
        item = known[meta["grade_id"]]
        assert meta["points"] == item.points, f"{cell.id}: {meta['points']} points, the item says {item.points}"
        assert meta["locked"] and meta["schema_version"] == 3
        public, hidden = cell.source.split("### BEGIN HIDDEN TESTS")
        assert f"({item.target})" in public and "hidden=True" not in public, cell.source
        assert f"({item.target}, hidden=True)" in hidden and hidden.rstrip().endswith("### END HIDDEN TESTS")
    targets = {item.target for item in known.values()}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, cell.id
            given = cell.source.split("### BEGIN SOLUTION")[0]
            if meta["grade_id"] in targets:  # the learner must see what to define: keep the def line outside
                assert meta["grade_id"] in given, f"{cell.id}: {meta['grade_id']} must appear before the markers"
        if meta.get("grade") and meta.get("solution"):  # a written answer, graded by hand
            assert cell.cell_type == "markdown" and meta.get("points", 0) > 0, cell.id
    grade_ids = [nbgrader_meta(cell)["grade_id"] for cell in nb.cells if nbgrader_meta(cell)]
    assert len(set(grade_ids)) == len(grade_ids), f"{assignment}: duplicate nbgrader grade ids"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=ASSIGNMENTS)
def test_student_version_hides_solutions_and_hidden_tests(solution):
    text = student_path(solution).read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
        assert marker not in text, f"{student_path(solution)} contains {marker!r}"
    nb = read(student_path(solution))
    stubs = [cell for cell in nb.cells if nbgrader_meta(cell).get("solution") and cell.cell_type == "code"]
    assert stubs and all("raise NotImplementedError()" in cell.source for cell in stubs)


# ----------------------------------------------------------------------------------------------------------------
# (b) course/ is what nbgrader generates from solutions/
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Every assignment generated into a temporary release directory with the course's own nbgrader config."""
    work = tmp_path_factory.mktemp("generate")
    release = work / "release"
    (work / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(CONFIG)!r})  # noqa: F821\n"
        f"c.CourseDirectory.release_directory = {str(release)!r}\n")
    outcomes = run_nbgrader_apps(work, [("GenerateAssignmentApp", [a, "--force", "--no-db"]) for a in ASSIGNMENTS])
    return release, dict(zip(ASSIGNMENTS, outcomes))


def comparable(cell):
    return {"id": cell.get("id"), "cell_type": cell["cell_type"], "source": cell["source"],
            "nbgrader": nbgrader_meta(cell), "editable": cell["metadata"].get("editable"),
            "deletable": cell["metadata"].get("deletable")}


@pytest.mark.parametrize("solution", SOLUTIONS, ids=ASSIGNMENTS)
def test_course_is_in_sync_with_solutions(solution, regenerated):
    release, outcomes = regenerated
    assert_nbgrader_ok(outcomes[solution.parent.name], "generate_assignment")
    fresh = read(release / solution.parent.name / solution.name)
    committed = read(student_path(solution))
    hint = (f"course/{solution.parent.name} is out of date: regenerate it with "
            f"`cd autograder && nbgrader generate_assignment {solution.parent.name} --force --no-db`")
    assert len(fresh.cells) == len(committed.cells), hint
    for new, old in zip(fresh.cells, committed.cells):
        assert comparable(new) == comparable(old), f"cell {old.get('id')}: {hint}"


# ----------------------------------------------------------------------------------------------------------------
# (a) the solution notebooks run
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=ASSIGNMENTS)
def test_solution_notebook_executes(solution, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PATH", env()["PATH"])
    nb = read(solution)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(solution.parent)}}).execute()
    seconds = time.perf_counter() - start
    print(f"{solution.name} executed in {seconds:.1f} s")
    for cell in nb.cells:
        if is_autograded_test(cell):
            text = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
            assert "hidden check passed" in text, f"{cell.id} printed {text!r}"


# ----------------------------------------------------------------------------------------------------------------
# (c) nbgrader autograde, in a temporary copy of the course root
# ----------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    """Autograde two submissions per assignment: the solution notebook and the untouched student notebook
    (the committed course/ version, which test (b) compares with a freshly generated one).

    Returns the gradebook's url and, per assignment, the (exit code, log) of generate_assignment and autograde.
    """
    root = tmp_path_factory.mktemp("course-root")
    shutil.copytree(ROOT / "solutions", root / "solutions")
    (root / "autograder").mkdir()
    shutil.copy(CONFIG, root / "autograder" / "nbgrader_config.py")  # its paths are relative to where it lies
    cwd = root / "autograder"
    for solution in SOLUTIONS:
        assignment = solution.parent.name
        for student, source in (("solution", solution), ("untouched", student_path(solution))):
            if not source.exists():  # reported by the test of this assignment, without stopping the others
                continue
            target = cwd / "submitted" / student / assignment
            target.mkdir(parents=True)
            shutil.copy(source, target / solution.name)
    steps = []
    for assignment in ASSIGNMENTS:  # the gradebook learns each assignment's graded cells, then grades
        steps += [("GenerateAssignmentApp", [assignment, "--force"]),
                  ("AutogradeApp", [assignment, "--create", "--force"])]
    outcomes = run_nbgrader_apps(cwd, steps)
    return f"sqlite:///{cwd / 'gradebook.db'}", {a: outcomes[2 * k: 2 * k + 2] for k, a in enumerate(ASSIGNMENTS)}


def submission_grades(db_url, assignment, notebook, student):
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        return {grade.name: (grade.auto_score, grade.max_score, grade.cell.cell_type, grade.needs_manual_grade)
                for grade in submitted.grades}


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=ASSIGNMENTS)
def test_autograde_gives_the_solution_full_marks_and_the_stub_zero(solution, autograded):
    db_url, outcomes = autograded
    assignment, notebook = solution.parent.name, solution.stem
    assert student_path(solution).exists(), f"{student_path(solution)} is missing: generate it"
    for outcome, what in zip(outcomes[assignment], ("generate_assignment", "autograde")):
        assert_nbgrader_ok(outcome, what)
    expected = {name: item.points for name, item in items.ASSIGNMENTS[assignment].items()}

    full = submission_grades(db_url, assignment, notebook, "solution")
    code = {name: g for name, g in full.items() if g[2] == "code"}
    assert sorted(code) == sorted(expected), f"graded code cells {sorted(code)}"
    for name, (score, max_score, _, manual) in code.items():
        assert max_score == expected[name] and score == max_score and not manual, f"{name}: {score}/{max_score}"
    for name, (score, max_score, _, manual) in full.items():
        if name not in code:  # written answers wait for a human
            assert manual and max_score > 0, name

    untouched = submission_grades(db_url, assignment, notebook, "untouched")
    for name in expected:
        assert untouched[name][0] == 0, f"the untouched student notebook scored {untouched[name][0]} on {name}"


# ----------------------------------------------------------------------------------------------------------------
# (e) JupyterLab serves the student notebooks
# ----------------------------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    home = tmp_path_factory.mktemp("lab-home")
    port, token = free_port(), secrets.token_hex(16)
    lab_env = env(HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_CONFIG_DIR=str(home / "config"),
                  JUPYTER_DATA_DIR=str(home / "data"))
    log = open(home / "lab.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={ROOT}"],
        env=lab_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if get_json(f"{base}/api/status", token)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield base, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=ASSIGNMENTS)
def test_jupyterlab_serves_the_student_notebook(solution, jupyterlab):
    base, token = jupyterlab
    path = f"course/{solution.parent.name}/{solution.name}"
    status, model = get_json(f"{base}/api/contents/{path}?content=1", token)
    assert status == 200 and model["type"] == "notebook" and model["path"] == path
    committed = read(student_path(solution))
    assert [cell["id"] for cell in model["content"]["cells"]] == [cell.id for cell in committed.cells]
    with pytest.raises(urllib.error.HTTPError) as refused:  # the token is required
        get_json(f"{base}/api/contents/{path}", "wrong-token")
    assert refused.value.code == 403
