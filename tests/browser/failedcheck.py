"""A failed check as a learner sees it in JupyterLab: notebook 02 with a typical mistake in ``gru_cell_forward``
(z and 1 - z swapped, the seed's h' = z * n + (1 - z) * h_prev), run with Run All, which stops at the exercise's
check, and that check's output area measured on the page.

Used by tests/browser/test_failed_check_fits.py (the output fits on one screen) and by
benchmarks/screenshot_failed_check.py (the README's picture), so that both show the same thing.
"""

from dataclasses import dataclass
from pathlib import Path

import nbformat

from labpage import cell_locator, open_notebook, run_all_from_menu, snapshot, wait_until_idle
from labserver import REPO

STUDENT = "course/02-gru-numpy/gru_numpy.ipynb"
STUDENT_ZH = "course-zh/02-gru-numpy/gru_numpy.ipynb"  # the Chinese edition: same cells, Chinese messages
SOLUTION = "solutions/02-gru-numpy/gru_numpy.ipynb"
EXERCISE_ID = "cell-solution"  # gru_cell_forward
CHECK_ID = "cell-test"  # check_cell_forward(gru_cell_forward)
RIGHT_MIX = "(1 - z) * n + z * h_prev"
SWAPPED_MIX = "z * n + (1 - z) * h_prev"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
VIEWPORT = {"width": 1280, "height": 800}  # a laptop screen; the README's screenshot has this size

# The check cell's output area and the notebook's scrolling area, in CSS pixels of the viewport. The scrolling
# area is the part of the screen that shows cells (below the menu, tabs and toolbar): what "one screen" means.
MEASURE_JS = """index => {
  const cell = document.querySelector(`.jp-NotebookPanel .jp-Cell[data-windowed-list-index='${index}']`);
  const out = cell.querySelector('.jp-OutputArea');
  let scroller = out.parentElement;
  while (scroller && !(scroller.scrollHeight > scroller.clientHeight &&
                       /(auto|scroll)/.test(getComputedStyle(scroller).overflowY))) {
    scroller = scroller.parentElement;
  }
  const o = out.getBoundingClientRect();
  const s = scroller ? scroller.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
  const wide = Array.from(out.querySelectorAll('pre, .jp-OutputArea-output'))
    .filter(e => e.scrollWidth > e.clientWidth + 1).length;
  return {text: out.innerText, top: o.top, bottom: o.bottom, area_top: s.top, area_bottom: s.bottom,
          overflowing_x: wide, viewport_height: window.innerHeight};
}"""


@dataclass(frozen=True)
class FailedCheck:
    """What the page shows of the failed check, after scrolling it into view."""

    text: str  # the output area's text, as rendered
    error_name: str  # the exception of the cell's error output ("" when the cell did not fail)
    height: float  # output area, CSS pixels
    top: float  # output area's top and bottom, relative to the viewport
    bottom: float
    area_top: float  # the notebook's visible scrolling area, relative to the viewport
    area_bottom: float
    viewport_height: int
    overflowing_x: int  # elements of the output wider than their box (a line cut off on the right)

    @property
    def area_height(self):
        return self.area_bottom - self.area_top

    @property
    def fully_in_view(self):
        return self.area_top - 1 <= self.top and self.bottom <= self.area_bottom + 1 and not self.overflowing_x


def swapped_update_notebook(repo=REPO, student_path=STUDENT):
    """The student notebook 02 (``student_path``: either edition) with gru_cell_forward answered by the
    instructor's solution, z and 1 - z swapped."""
    student = nbformat.read(Path(repo) / student_path, as_version=4)
    solution = nbformat.read(Path(repo) / SOLUTION, as_version=4)
    answer = next(c for c in solution.cells if c.get("id") == EXERCISE_ID).source
    if RIGHT_MIX not in answer:
        raise ValueError(f"{SOLUTION} cell {EXERCISE_ID} no longer contains {RIGHT_MIX!r}: update failedcheck.py")
    # What a learner's answered cell looks like: the solution without nbgrader's markers, one mistake in it.
    lines = [line for line in answer.splitlines() if line.strip() not in SOLUTION_MARKERS]
    stub = next(c for c in student.cells if c.get("id") == EXERCISE_ID)
    stub.source = "\n".join(lines).replace(RIGHT_MIX, SWAPPED_MIX)
    return student


def write_swapped_update_notebook(root, relative=STUDENT, repo=REPO, student_path=STUDENT):
    """Write :func:`swapped_update_notebook` of ``student_path`` to ``root / relative`` (a course copy); returns
    ``relative``."""
    path = Path(root) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(swapped_update_notebook(repo, student_path), path)
    return relative


def show_failed_check(page, path):
    """Open ``path``, Run All Cells (it stops at the failing check), scroll the check into view and measure it.

    The check cell is aligned with the bottom of the screen, so that the learner's code above it shows too when
    there is room. Returns (problems, FailedCheck or None).
    """
    problems = open_notebook(page, path)
    if problems:
        return problems, None
    if not run_all_from_menu(page):
        return [f"{path}: Run > Run All Cells started no cell"], None
    if not wait_until_idle(page):
        return [f"{path}: still running after Run All"], None
    cells = snapshot(page)
    index = next((i for i, c in enumerate(cells) if c["id"] == CHECK_ID), None)
    if index is None:
        return [f"{path}: no cell with id {CHECK_ID}"], None
    errors = [o for o in cells[index]["outputs"] if o.get("output_type") == "error"]
    cell = cell_locator(page, index)
    cell.locator(".jp-OutputArea-output").first.wait_for(timeout=30_000)
    # A small margin below, so that the screen does not end exactly at the output's last line (a larger one shows
    # the next heading, whose Chinese is drawn as boxes where Chromium has no CJK font).
    cell.evaluate("c => { c.style.scrollMarginBottom = '12px'; c.scrollIntoView({block: 'end'}); }")
    page.wait_for_timeout(500)  # let the scroll and the last layout settle before measuring
    seen = page.evaluate(MEASURE_JS, index)
    return [], FailedCheck(text=seen["text"], error_name=errors[0]["ename"] if errors else "",
                           height=seen["bottom"] - seen["top"], top=seen["top"], bottom=seen["bottom"],
                           area_top=seen["area_top"], area_bottom=seen["area_bottom"],
                           viewport_height=seen["viewport_height"], overflowing_x=seen["overflowing_x"])
