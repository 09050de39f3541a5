"""The learner's view in JupyterLab: exercises shown in the student notebook, solution notebooks run from the menu
without errors and with their figures, sliders that redraw the figure."""

import os
import shutil

import nbformat
import pytest

from labpage import exercise_problems, run_notebook_problems, slider_problems
from labserver import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STUDENT_VIEW = "course/02-gru-numpy/gru_numpy.ipynb"
# Solution notebooks run with Run All Cells; notebooks listed in WITH_SLIDERS must show working sliders.
# The Chinese edition of 01 (solutions-zh/, generated from i18n/zh_CN) runs in JupyterLab like the English one.
RUN_ALL = ["solutions/01-gru-concept/gru_concept.ipynb", "solutions/06-vanishing-gradients/vanishing_gradients.ipynb",
           "solutions-zh/01-gru-concept/gru_concept.ipynb"]
WITH_SLIDERS = {"solutions/01-gru-concept/gru_concept.ipynb", "solutions-zh/01-gru-concept/gru_concept.ipynb"}


def publish_learner_view(source):
    """With BROWSER_UPDATE_SCREENSHOTS=1, copy the screenshot to benchmarks/screenshots/ (shown in the README)."""
    if os.environ.get("BROWSER_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "benchmarks" / "screenshots" / "learner-view.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def require(path):
    if not (REPO / path).is_file():
        pytest.skip(f"{path} does not exist yet; this test runs once it is committed")


def test_student_notebook_shows_the_exercises(page_on_failure, screenshots):
    require(STUDENT_VIEW)
    notebook = nbformat.read(REPO / STUDENT_VIEW, as_version=4)
    before = screenshots.count
    problems = exercise_problems(page_on_failure, STUDENT_VIEW, notebook, screenshot=screenshots)
    assert not problems, "\n".join(problems)
    if screenshots.count > before:
        publish_learner_view(screenshots.last)


@pytest.mark.parametrize("path", RUN_ALL, ids=[p.split("/")[1] + ("-zh" if "-zh/" in p else "") for p in RUN_ALL])
def test_run_all_cells_shows_no_error_and_every_figure(path, page_on_failure, screenshots):
    require(path)
    problems, cells = run_notebook_problems(page_on_failure, path, screenshot=screenshots)
    assert not problems, "\n".join(problems)
    assert cells, f"{path}: no cells were seen"
    if path in WITH_SLIDERS:
        problems = slider_problems(page_on_failure, cells, screenshot=screenshots)
        assert not problems, "\n".join(problems)
        assert any(cell["sliders"] for cell in cells), f"{path} should show sliders (ipywidgets) but shows none"
