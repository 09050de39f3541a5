"""What a learner reads when a check fails (反馈): a few lines, no machinery.

A failed check says what is wrong on one case, the likely cause, the points at stake and that grading runs more
cases. In a notebook it is raised as :class:`CheckFailed`, an AssertionError whose ``_render_traceback_`` (the
protocol IPython uses for exceptions that draw themselves) shows those lines and, when the learner's own code
raised, the learner's frames of that traceback, never coursekit's.

Every piece is a :class:`coursekit.i18n.Text` (or an ``N_``-marked template) until a message is put together in
the learner's language: ``failure_message(..., language)``. A Chinese notebook gets Chinese lines.
"""

import dataclasses
import os
import traceback
from typing import Optional

from coursekit.i18n import Message, N_, Text, render

_COURSEKIT = os.path.dirname(os.path.abspath(__file__)) + os.sep

# Why a forbidden *name* (not a module) is refused; modules need no explanation beyond "write it yourself".
_SILENCED_NUMPY = N_("silencing NumPy's warnings hides an overflow instead of avoiding it")
_SILENCED = N_("silencing warnings hides an overflow instead of avoiding it")
_TRACER = N_("the checker counts lines of Python with a tracer, which must stay on")
NAME_REASONS = {
    "errstate": _SILENCED_NUMPY,
    "seterr": _SILENCED_NUMPY,
    "catch_warnings": _SILENCED,
    "filterwarnings": _SILENCED,
    "simplefilter": _SILENCED,
    "settrace": _TRACER,
    "setprofile": _TRACER,
    "accumulate": N_("accumulate applies the steps one after another (a loop over time, run in C)"),
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

    label: Message
    what: Message
    cause: Optional[Message] = None
    kind: str = "value"
    listed: bool = False
    index: int = -1


def most_telling(problems):
    """The problem to show: a listed mistake, else the first failing probe with a cause (probes come in the order
    that isolates one part after another), else the first with a cause, else the first."""
    return (next((p for p in problems if p.listed), None)
            or next((p for p in problems if p.cause and p.label.startswith("probe")), None)
            or next((p for p in problems if p.cause), None) or problems[0])


def points_phrase(points):
    """ "1 point", "2 points", "0.5 points" as a Text."""
    return Text("{points:g} point", points=points) if points == 1 else Text("{points:g} points", points=points)


def failure_message(target, points, problems, n_cases, language=None):
    """The few lines of a failed check, in ``language`` (default: the kernel's, coursekit.i18n)."""
    if any(p.kind == "stub" for p in problems):
        return render(Text("{target} is not answered yet: replace `raise NotImplementedError()` in its cell with "
                           "your code ({points} at stake).", target=target, points=points_phrase(points)), language)
    shown = most_telling(problems)
    lines = [Text("{target} is not right yet: {failed} of {total} cases fail ({points} at stake; grading runs "
                  "more cases).", target=target, failed=len(problems), total=n_cases, points=points_phrase(points)),
             Text("What is wrong [{label}]: {what}", label=_as_text(shown.label), what=_as_text(shown.what))]
    if shown.cause:
        lines.append(Text("Likely cause: {cause}", cause=_as_text(shown.cause)))
    return "\n".join(render(line, language) for line in lines)


def passed_message(target, n_cases, language=None):
    return render(Text("{target}: all {total} cases pass.", target=target, total=n_cases), language)


def _as_text(message):
    """A message as a value of another: an N_-marked str is translated too (Text without values)."""
    return message if isinstance(message, Text) else Text(message)


def forbidden_message(target, found, forbidden, language=None):
    """The message for a function that reaches forbidden modules or names: {what it wrote: what it reaches}."""
    # a label is what the learner wrote (an identifier) or a description ("a default argument", N_-marked)
    used = ", ".join(f"{render(label, language)} ({reached})" if label.strip("'") != reached
                     else render(label, language) for label, reached in found.items())
    reasons = sorted({render(NAME_REASONS[r], language) for r in found.values() if r in NAME_REASONS})
    modules = [f for f in forbidden if f not in NAME_REASONS]
    if modules:
        without = Text("This exercise must be written without {modules}.", modules=", ".join(modules))
    else:
        without = Text("This exercise must be written without them.")
    if reasons:
        uses = Text("{target} uses {used}: {reasons}.", target=target, used=used, reasons="; ".join(reasons))
    else:
        uses = Text("{target} uses {used}.", target=target, used=used)
    return render(uses, language) + " " + render(without, language)


def learner_traceback(exc):
    """The frames of ``exc``'s traceback that are the learner's (not coursekit's), formatted; "" if none."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not os.path.abspath(f.filename).startswith(
        _COURSEKIT)]
    if not frames:
        return ""
    return "".join([render(N_("Traceback of your code (most recent call last):")) + "\n",
                    *traceback.format_list(frames),
                    *traceback.format_exception_only(type(exc), exc)])


class CheckFailed(AssertionError):
    """A failed check. IPython draws it with :meth:`_render_traceback_`: the message, then the learner's frames."""

    def __init__(self, message, learner_trace=""):
        super().__init__(message)
        self.learner_trace = learner_trace

    def _render_traceback_(self):
        lines = str(self).splitlines()
        return lines + ([""] + self.learner_trace.rstrip("\n").splitlines() if self.learner_trace else [])
