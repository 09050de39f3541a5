"""What a learner reads when a check fails (反馈): a few lines, no machinery.

A failed check says what is wrong on one case, the likely cause, the points at stake and that grading runs more
cases. In a notebook it is raised as :class:`CheckFailed`, an AssertionError whose ``_render_traceback_`` (the
protocol IPython uses for exceptions that draw themselves) shows those lines and, when the learner's own code
raised, the learner's frames of that traceback, never coursekit's.
"""

import dataclasses
import os
import traceback
from typing import Optional

_COURSEKIT = os.path.dirname(os.path.abspath(__file__)) + os.sep

# Why a forbidden *name* (not a module) is refused; modules need no explanation beyond "write it yourself".
NAME_REASONS = {
    "errstate": "silencing NumPy's warnings hides an overflow instead of avoiding it",
    "seterr": "silencing NumPy's warnings hides an overflow instead of avoiding it",
    "catch_warnings": "silencing warnings hides an overflow instead of avoiding it",
    "filterwarnings": "silencing warnings hides an overflow instead of avoiding it",
    "simplefilter": "silencing warnings hides an overflow instead of avoiding it",
    "settrace": "the checker counts lines of Python with a tracer, which must stay on",
    "setprofile": "the checker counts lines of Python with a tracer, which must stay on",
    "accumulate": "accumulate applies the steps one after another (a loop over time, run in C)",
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """What is wrong on one case.

    - label: the case's label; index: its position in the item's cases
    - what: the observation ("output has wrong values: ..."); cause: the likely mistake, or None
    - kind: "stub" (NotImplementedError), "error", "input" (changed in place), "warning", "requirement", "dtype",
      "value"
    - listed: the cause is a listed mistake whose output equals the learner's (the strongest evidence)
    """

    label: str
    what: str
    cause: Optional[str] = None
    kind: str = "value"
    listed: bool = False
    index: int = -1


def most_telling(problems):
    """The problem to show: a listed mistake, else the first failing probe with a cause (probes come in the order
    that isolates one part after another), else the first with a cause, else the first."""
    return (next((p for p in problems if p.listed), None)
            or next((p for p in problems if p.cause and p.label.startswith("probe")), None)
            or next((p for p in problems if p.cause), None) or problems[0])


def _points(points):
    return f"{points:g} point{'s' if points != 1 else ''}"


def failure_message(target, points, problems, n_cases):
    """The few lines of a failed check."""
    if any(p.kind == "stub" for p in problems):
        return (f"{target} is not answered yet: replace `raise NotImplementedError()` in its cell with your code "
                f"({_points(points)} at stake).")
    shown = most_telling(problems)
    lines = [f"{target} is not right yet: {len(problems)} of {n_cases} cases fail ({_points(points)} at stake; "
             "grading runs more cases).",
             f"What is wrong [{shown.label}]: {shown.what}"]
    if shown.cause:
        lines.append(f"Likely cause: {shown.cause}")
    return "\n".join(lines)


def forbidden_message(target, found, forbidden):
    """The message for a function that reaches forbidden modules or names: {what it wrote: what it reaches}."""
    used = ", ".join(f"{label} ({reached})" if label.strip("'") != reached else label
                     for label, reached in found.items())
    reasons = sorted({NAME_REASONS[r] for r in found.values() if r in NAME_REASONS})
    modules = [f for f in forbidden if f not in NAME_REASONS]
    why = f": {'; '.join(reasons)}" if reasons else ""
    return (f"{target} uses {used}{why}. This exercise must be written without "
            f"{', '.join(modules) if modules else 'them'}.")


def learner_traceback(exc):
    """The frames of ``exc``'s traceback that are the learner's (not coursekit's), formatted; "" if none."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not os.path.abspath(f.filename).startswith(
        _COURSEKIT)]
    if not frames:
        return ""
    return "".join(["Traceback of your code (most recent call last):\n", *traceback.format_list(frames),
                    *traceback.format_exception_only(type(exc), exc)])


class CheckFailed(AssertionError):
    """A failed check. IPython draws it with :meth:`_render_traceback_`: the message, then the learner's frames."""

    def __init__(self, message, learner_trace=""):
        super().__init__(message)
        self.learner_trace = learner_trace

    def _render_traceback_(self):
        lines = str(self).splitlines()
        return lines + ([""] + self.learner_trace.rstrip("\n").splitlines() if self.learner_trace else [])
