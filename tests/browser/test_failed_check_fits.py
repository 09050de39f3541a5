"""A failed check fits on one screen (issue 11): in JupyterLab, on a 1280x800 screen, the output of notebook 02's
first check, for gru_cell_forward with z and 1 - z swapped, is a few lines that name the mistake, with no frames
of coursekit, and is shorter than the part of the screen that shows the notebook."""

import pytest

from failedcheck import STUDENT, STUDENT_ZH, VIEWPORT, show_failed_check, write_swapped_update_notebook
from labpage import open_lab
from labserver import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Next to the student notebook (its relative paths resolve the same), under another name: the session's course
# copy keeps its own gru_numpy.ipynb for the other browser tests.
SWAPPED = STUDENT.replace(".ipynb", "_swapped_z.ipynb")
SWAPPED_ZH = STUDENT_ZH.replace(".ipynb", "_swapped_z.ipynb")


@pytest.fixture
def laptop_page(browser_context, lab, screenshots, request):
    """A page of its own at the README screenshot's size; the session page keeps its size for the other tests."""
    page = browser_context.new_page()
    page.set_viewport_size(VIEWPORT)
    open_lab(page, lab, "failed-check")
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshots(page, f"FAILED-{request.node.name}")
    page.close()


def test_failed_check_fits_on_one_screen(course_root, laptop_page, screenshots):
    if not (REPO / STUDENT).is_file():
        pytest.skip(f"{STUDENT} does not exist yet")
    path = write_swapped_update_notebook(course_root, SWAPPED)

    problems, seen = show_failed_check(laptop_page, path)
    screenshots(laptop_page, "failed-check")

    assert not problems, problems
    assert seen.error_name == "CheckFailed", (seen.error_name, seen.text)
    lines = [line for line in seen.text.splitlines() if line.strip()]
    # What is wrong, the likely cause, the points at stake; nothing of the checker's own code.
    assert "gru_cell_forward is not right yet" in lines[0] and "points at stake" in lines[0], seen.text
    assert any(line.startswith("What is wrong") for line in lines), seen.text
    assert any(line.startswith("Likely cause: z and 1 - z are swapped") for line in lines), seen.text
    assert "coursekit/" not in seen.text and "Traceback" not in seen.text, seen.text
    assert len(lines) <= 6, seen.text  # three lines of message (a line wrapped on screen counts once)
    # One screen: shorter than the notebook's visible area, and shown there whole (nothing cut off on the right).
    assert seen.height < seen.area_height < seen.viewport_height, seen
    assert seen.fully_in_view, seen


def test_a_chinese_notebook_fails_its_check_in_chinese(course_root, laptop_page, screenshots):
    """The same mistake in course-zh/: the kernel finds its notebook's language (jupyter_server's
    JPY_SESSION_NAME) and the check speaks Chinese, whatever the server's locale."""
    if not (REPO / STUDENT_ZH).is_file():
        pytest.skip(f"{STUDENT_ZH} does not exist yet")
    path = write_swapped_update_notebook(course_root, SWAPPED_ZH, student_path=STUDENT_ZH)

    problems, seen = show_failed_check(laptop_page, path)
    screenshots(laptop_page, "failed-check-zh")

    assert not problems, problems
    assert seen.error_name == "CheckFailed", (seen.error_name, seen.text)
    lines = [line for line in seen.text.splitlines() if line.strip()]
    assert lines[0].startswith("gru_cell_forward 还不对") and "本题 4 分" in lines[0], seen.text
    assert any(line.startswith("哪里不对 [") for line in lines), seen.text
    assert any(line.startswith("可能的原因：z 和 1 - z 弄反了") for line in lines), seen.text
    assert "coursekit/" not in seen.text and "Traceback" not in seen.text, seen.text
    assert len(lines) <= 6 and seen.fully_in_view, seen
