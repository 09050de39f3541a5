"""What a learner sees in a notebook when a check fails: a few lines, no coursekit frames, their own traceback
when their code raised, and "not answered yet" for a stub (IPython draws coursekit.feedback.CheckFailed itself)."""

import contextlib
import io

import pytest
from IPython.core.interactiveshell import InteractiveShell

from coursekit.feedback import CheckFailed, Problem, failure_message


@pytest.fixture(scope="module")
def run_cells():
    shell = InteractiveShell.instance(colors="nocolor")

    def run(*cells):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            for cell in cells:
                shell.run_cell(cell)
        return out.getvalue()
    yield run
    InteractiveShell.clear_instance()


SETUP = "import numpy as np\nfrom coursekit.checks import check_sigmoid, check_cell_forward\n"


def test_a_wrong_answer_shows_what_the_cause_and_the_points_without_frames(run_cells):
    shown = run_cells(SETUP, "def sigmoid(x):\n    e = np.exp(-np.abs(x))\n"
                             "    return np.where(x >= 0, e / (1 + e), 1 / (1 + e))\n", "check_sigmoid(sigmoid)")
    lines = shown.strip().splitlines()
    assert len(lines) == 3, shown
    assert lines[0].startswith("sigmoid is not right yet") and "2 points at stake" in lines[0]
    assert "grading runs more cases" in lines[0]
    assert lines[1].startswith("What is wrong") and lines[2].startswith("Likely cause: ")
    assert "coursekit" not in shown and "Traceback" not in shown and "File " not in shown


def test_the_learners_own_traceback_is_kept_when_their_code_raised(run_cells):
    shown = run_cells(SETUP, "def helper(x):\n    return np.asarray(x).reshape(-1, 7)\n\n"
                             "def sigmoid(x):\n    y = helper(x)\n    return 0.5 * (1 + np.tanh(y / 2))\n",
                      "check_sigmoid(sigmoid)")
    assert "sigmoid raised ValueError" in shown
    assert "Traceback of your code" in shown and "in helper" in shown and "reshape(-1, 7)" in shown
    assert "coursekit" not in shown


def test_a_stub_is_not_answered_yet(run_cells):
    shown = run_cells(SETUP, "def gru_cell_forward(x, h_prev, params):\n    raise NotImplementedError()\n",
                      "check_cell_forward(gru_cell_forward)")
    assert shown.strip() == ("gru_cell_forward is not answered yet: replace `raise NotImplementedError()` in its "
                             "cell with your code (4 points at stake).")


def test_a_forbidden_shortcut_names_what_reaches_it(run_cells):
    shown = run_cells(SETUP, "def sigmoid(x):\n    with np.errstate(over='ignore'):\n"
                             "        return 1 / (1 + np.exp(-x))\n", "check_sigmoid(sigmoid)")
    assert "sigmoid uses errstate: silencing NumPy's warnings hides an overflow" in shown
    assert len(shown.strip().splitlines()) == 1


def test_the_message_shows_a_listed_mistake_before_a_probe_and_a_probe_before_the_rest():
    problems = [Problem("plain", "wrong values"), Problem("probe: z = 1", "wrong values", "the update mix"),
                Problem("other", "wrong values", "z and 1 - z are swapped", listed=True)]
    assert "Likely cause: z and 1 - z are swapped" in failure_message("f", 2, problems, 5)
    assert "Likely cause: the update mix" in failure_message("f", 2, problems[:2], 5)
    assert "Likely cause" not in failure_message("f", 1, problems[:1], 5)
    assert "1 point at stake" in failure_message("f", 1, problems[:1], 5)


def test_check_failed_is_an_assertion_error_that_renders_itself():
    error = CheckFailed("line one\nline two", "Traceback of your code (most recent call last):\n  File x\n")
    assert isinstance(error, AssertionError)
    assert error._render_traceback_() == ["line one", "line two", "", "Traceback of your code (most recent call "
                                          "last):", "  File x"]
