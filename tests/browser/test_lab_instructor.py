"""The instructor's view in JupyterLab: nbgrader's formgrader and assignment list use the course configuration
(autograder/nbgrader_config.py), and the Validate button passes a solution notebook."""

import pytest

from labpage import formgrader_problems, release_and_list_problems, validate_problems
from labserver import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COURSE_ID = "gru-course"  # c.CourseDirectory.course_id in autograder/nbgrader_config.py
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
RELEASED = [name for name in ASSIGNMENTS if (REPO / "course" / name).is_dir()]  # generated student versions
VALIDATED = "solutions/01-gru-concept/gru_concept.ipynb"


def test_formgrader_lists_every_assignment(page_on_failure, screenshots):
    assert ASSIGNMENTS, "no assignment folder in solutions/"
    problems = formgrader_problems(page_on_failure, ASSIGNMENTS, screenshot=screenshots)
    assert not problems, "\n".join(problems)


def test_release_from_formgrader_reaches_the_assignment_list(page_on_failure, screenshots):
    if not RELEASED:
        pytest.skip("no student notebooks in course/ yet")
    problems = release_and_list_problems(page_on_failure, RELEASED[0], COURSE_ID, screenshot=screenshots)
    assert not problems, "\n".join(problems)


def test_validate_passes_a_solution_notebook(page_on_failure, screenshots):
    if not (REPO / VALIDATED).is_file():
        pytest.skip(f"{VALIDATED} does not exist yet")
    problems = validate_problems(page_on_failure, VALIDATED, screenshot=screenshots)
    assert not problems, "\n".join(problems)
