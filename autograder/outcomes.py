"""What grading concludes (评分结果): statuses, flags, the result of each item and submission, built in one place.

Statuses and flags are plain strings in grades.csv and the results files; the names here are the only place they
are spelled. A flag is ``name`` or ``name:detail`` (e.g. ``timeout:cell-solution``); flags are kept in the order
they were raised, each once.
"""

import dataclasses

import nbformat

from coursekit.i18n import N_


class Status:
    """The ``status`` column of grades.csv."""

    GRADED = "graded"          # every item was judged
    INCOMPLETE = "incomplete"  # something could not run (see the flags); what ran was judged
    ERROR = "error"            # nothing gradable (unreadable file, wrong notebook, grader error)

    ALL = (GRADED, INCOMPLETE, ERROR)

    @staticmethod
    def described(status):
        """The status as a learner reads it in feedback (a template: rendered in the submission's language)."""
        return {Status.GRADED: N_("graded"), Status.INCOMPLETE: N_("incomplete: something could not run"),
                Status.ERROR: N_("not gradable")}.get(status, status)


class Flag:
    """Flag names (see autograder/README.md for what each means)."""

    TIMEOUT = "timeout"
    CRASH = "crash"
    NOT_RUN = "not-run"
    GAVE_UP = "gave-up"
    NO_RESULT = "no-result"
    BAD_RESULT = "bad-result"
    RESULT_TOO_LARGE = "result-too-large"
    NEEDS_MANUAL_GRADING = "needs-manual-grading"
    EXTRA_FILES_TOO_LARGE = "extra-files-too-large"
    GRADER_ERROR = "grader-error"
    INTERRUPTED = "interrupted"
    POLICY = "policy"

    @staticmethod
    def of(name, detail=None):
        return name if detail is None else f"{name}:{detail}"


def unique(flags):
    """``flags`` in order, each once."""
    return list(dict.fromkeys(flags))


@dataclasses.dataclass
class ItemResult:
    """One autograded item. ``ran`` is False when it could not run (timeout, crash, budget)."""

    grade_id: str
    target: str
    max_score: float
    score: float
    passed: bool
    message: str
    ran: bool = True


@dataclasses.dataclass
class ManualResult:
    """A written answer: ``answered`` False means it still holds the stub (0 points, nothing to grade)."""

    grade_id: str
    max_score: float
    answered: bool


@dataclasses.dataclass
class CellError:
    """A cell that stopped with an error: its label (section title or cell id) and "Name: message"."""

    cell: str
    problem: str

    def __iter__(self):  # (cell, problem) unpacking, as the reports use it
        return iter((self.cell, self.problem))


@dataclasses.dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    status: str  # a Status
    score: float
    max_score: float  # autograded points only; written answers are in ``manual``
    flags: list
    tests: list  # ItemResult
    manual: list  # ManualResult
    execution_time: float
    message: str = ""  # why an error row is an error
    notebook: nbformat.NotebookNode | None = None  # the executed notebook (outputs capped, no active content)
    cell_errors: list = dataclasses.field(default_factory=list)  # CellError
    timestamp: str | None = None  # when it was submitted (nbgrader's timestamp.txt), for the gradebook
    sandbox: str = ""  # which protections were active (GradingConfig.sandbox_note)
    language: str = "en"  # the notebook's (coursekit.i18n.notebook_language): messages and feedback are in it


def error_result(student_id, assignment, flag, message, seconds=0.0):
    """The row of a submission with nothing gradable (status error, 0 points)."""
    return SubmissionResult(student_id, assignment.name, Status.ERROR, 0.0, assignment.autograded_max, [flag], [], [],
                            seconds, message)
