"""The browser checks fail when the course is broken: deliberately broken copies of a course notebook (a cell that
raises, a figure that is not shown, sliders that redraw nothing, an exercise without its stub), a student notebook
that Validate must reject, and a server whose nbgrader configuration can neither see nor release the course.
Each check returns problems; these tests assert that the problems name what was broken."""

import copy

import nbformat
import pytest

from cellrules import classify
from labpage import (exercise_problems, formgrader_problems, open_lab, release_and_list_problems,
                     run_notebook_problems, slider_problems, validate_problems)
from labserver import REPO, LabServer, copy_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKEN_FROM = "solutions/01-gru-concept/gru_concept.ipynb"  # a real notebook with figures, broken in a copy
STUDENT = "course/01-gru-concept/gru_concept.ipynb"  # untouched: its exercises raise NotImplementedError
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
RELEASED = [name for name in ASSIGNMENTS if (REPO / "course" / name).is_dir()]


def code_cell(source, cell_id):
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    return cell


def write(notebook, root, relative):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return relative


@pytest.fixture(scope="module")
def original():
    if not (REPO / BROKEN_FROM).is_file():
        pytest.skip(f"{BROKEN_FROM} does not exist yet")
    return nbformat.read(REPO / BROKEN_FROM, as_version=4)


@pytest.fixture(scope="module")
def broken_dir():
    # Same depth as solutions/<id>/ so that the notebook's relative paths (if any) still resolve.
    return "broken/" + BROKEN_FROM.split("/")[1]


def test_a_cell_that_raises_is_reported(original, broken_dir, course_root, page_on_failure, screenshots):
    notebook = copy.deepcopy(original)
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    notebook.cells.insert(first_code + 1, code_cell('raise RuntimeError("deliberately broken")', "broken-raise"))
    path = write(notebook, course_root, f"{broken_dir}/raises.ipynb")

    problems, _ = run_notebook_problems(page_on_failure, path, screenshot=screenshots)

    assert any("broken-raise" in p and "raised RuntimeError: deliberately broken" in p for p in problems), problems
    assert any("did not run" in p for p in problems), problems  # Run All stops there: later cells are flagged


def test_a_missing_figure_is_reported(original, broken_dir, course_root, page_on_failure, screenshots):
    notebook = copy.deepcopy(original)
    kinds = classify(notebook.cells)
    index = next((i for i, k in enumerate(kinds) if k["figure"] and not k["sliders"]), None)
    assert index is not None, f"{BROKEN_FROM} has no figure cell to break"
    del notebook.cells[index + 1:]  # the cells up to the broken one suffice, and run faster
    victim = notebook.cells[index]
    # The cell still draws, but closes its figure before the cell ends: the inline backend shows nothing.
    victim.source += "\nimport matplotlib.pyplot as _plt\n_plt.close('all')"
    path = write(notebook, course_root, f"{broken_dir}/no_figure.ipynb")

    problems, _ = run_notebook_problems(page_on_failure, path, screenshot=screenshots)

    assert len(problems) == 1, problems
    assert victim.id in problems[0] and "should show a figure" in problems[0], problems


def test_an_exercise_that_shows_no_stub_is_reported(course_root, page_on_failure, screenshots):
    if not (REPO / STUDENT).is_file():
        pytest.skip(f"{STUDENT} does not exist yet")
    notebook = nbformat.read(REPO / STUDENT, as_version=4)
    victim = next(c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                  and c.cell_type == "code")
    assert "YOUR CODE HERE" in victim.source
    victim.source = victim.source.replace("# YOUR CODE HERE", "# the solution leaked into the student version")
    path = write(notebook, course_root, "broken/" + STUDENT.split("/", 1)[1].replace(".ipynb", "_leaked.ipynb"))

    problems = exercise_problems(page_on_failure, path, notebook, screenshot=screenshots)

    assert len(problems) == 1, problems
    assert victim.id in problems[0] and "'YOUR CODE HERE' is not shown" in problems[0], problems


def slider_notebook(draws_value):
    """A small notebook with one slider; its figure depends on the slider only when ``draws_value``."""
    y = "z" if draws_value else "0.5"
    source = (
        "%matplotlib inline\nimport ipywidgets as widgets\nimport matplotlib.pyplot as plt\n\n\n"
        "def show(z=0.5):\n"
        "    fig, ax = plt.subplots(figsize=(3, 2))\n"
        f"    ax.plot([0, 1], [0, {y}])\n"
        "    ax.set_ylim(0, 1)\n"
        "    plt.show()\n\n\n"
        "widgets.interact(show, z=widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, "
        "continuous_update=False));"
    )
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
    notebook.cells = [code_cell(source, "sliders")]
    return notebook


@pytest.mark.parametrize("draws_value", [True, False], ids=["redraws", "frozen"])
def test_sliders_that_redraw_nothing_are_reported(draws_value, course_root, page_on_failure, screenshots):
    name = "sliders_live" if draws_value else "sliders_frozen"
    path = write(slider_notebook(draws_value), course_root, f"broken/{name}.ipynb")

    problems, cells = run_notebook_problems(page_on_failure, path, screenshot=screenshots)
    assert not problems, problems
    problems = slider_problems(page_on_failure, cells, screenshot=screenshots)

    if draws_value:  # the check itself works: a figure that follows the slider passes
        assert not problems, problems
    else:
        assert len(problems) == 1 and "did not redraw the figure" in problems[0], problems


def test_validate_rejects_the_untouched_student_notebook(page_on_failure, screenshots):
    if not (REPO / STUDENT).is_file():
        pytest.skip(f"{STUDENT} does not exist yet")
    problems = validate_problems(page_on_failure, STUDENT, screenshot=screenshots)
    assert len(problems) == 1 and "Validate did not report success" in problems[0], problems
    assert "failed" in problems[0].lower(), problems  # nbgrader's "VALIDATION FAILED ON n CELL(S)!"


@pytest.fixture(scope="module")
def blind_lab(browser_context, tmp_path_factory):
    """A server whose nbgrader configuration points at an empty source directory, started without the exchange
    directory: nbgrader can neither see the course nor release it."""
    root = copy_course(tmp_path_factory.mktemp("blind-course"))
    (root / "empty-source").mkdir()
    config = root / "autograder" / "nbgrader_config.py"
    # The course config creates its exchange folder when loaded; point this server at one that does not exist.
    config.write_text(config.read_text() + '\nc.CourseDirectory.source_directory = "empty-source"\n'
                      f'c.Exchange.root = {str(root / "missing-exchange")!r}\n')
    with LabServer(root, tmp_path_factory.mktemp("blind-lab"), create_exchange=False) as server:
        page = browser_context.new_page()
        open_lab(page, server, "blind")
        yield page
        page.close()


def test_a_course_that_nbgrader_cannot_see_is_reported(blind_lab, screenshots):
    problems = formgrader_problems(blind_lab, ASSIGNMENTS, screenshot=screenshots)
    assert len(problems) == 2, problems
    assert "the formgrader does not list" in problems[0] and all(name in problems[0] for name in ASSIGNMENTS)
    assert "the formgrader warns: The exchange directory" in problems[1], problems

    if RELEASED:
        problems = release_and_list_problems(blind_lab, RELEASED[0], "gru-course", screenshot=screenshots)
        assert len(problems) == 1 and RELEASED[0] in problems[0], problems
