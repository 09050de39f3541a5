"""When a hand-in was submitted, whether it was late, and what the late policy takes off.

The submission time comes from, in this order: nbgrader's ``timestamp.txt``; the LMS export's own time (Blackboard
writes the attempt time into the file name); the notebook file's modification time (for a zip, the member's time,
read as UTC because zips carry no time zone). Times without a zone are UTC, as in nbgrader.

Late: with ``--due``, a hand-in is late when it was submitted after the due time plus ``--grace`` minutes; when its
only time is the file's (unreliable) and the LMS wrote a late marker or its absence (Canvas), the marker decides.
Without ``--due``, only the LMS's marker says late or not (an empty cell when there is none).

Policy (``--late-penalty P --late-cap C``): P percent of the assignment's autograded points per started day late,
at most C percent in all (default 100), never below 0 points. ``--late-penalty 0`` (the default) is no penalty:
``late`` and ``days_late`` are still reported. A hand-in marked late by its LMS with no usable time counts as one
day late. The penalty only changes ``final_score`` (grades.csv and the LMS gradebook CSV); ``score`` stays the
autograded score, and the Gradescope results and nbgrader's gradebook are not changed (both have their own late
policies).
"""

import dataclasses
import math
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateparser

DAY = timedelta(days=1)
# What grades.csv gains (after its first columns): see columns()
COLUMNS = ("name", "submitted_at", "submitted_from", "late", "days_late", "penalty", "final_score")


@dataclasses.dataclass(frozen=True)
class LatePolicy:
    due: datetime | None = None
    per_day: float = 0.0        # percent of the autograded points per started day late
    cap: float = 100.0          # percent, in all
    grace: timedelta = timedelta(0)


@dataclasses.dataclass(frozen=True)
class Lateness:
    submitted_at: datetime | None
    source: str                 # "timestamp.txt", "lms", "file" or "" (unknown)
    late: bool | None           # None: nothing says
    days_late: int = 0
    penalty: float = 0.0        # points taken off


def parse_time(text):
    """An aware datetime from ISO 8601 or nbgrader's "2024-05-01 10:00:00.000000 UTC"; naive means UTC."""
    value = dateparser.parse(text)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def submitted_at(submission):
    """(time, source) of a discover.Submission, by the order in the module docstring."""
    if submission.timestamp:
        try:
            return parse_time(submission.timestamp), "timestamp.txt"
        except (ValueError, OverflowError):
            pass  # an unreadable timestamp.txt: fall back to the next source
    lms = submission.lms
    if lms is not None and lms.submitted_at is not None:
        return lms.submitted_at, "lms"
    if submission.file_time is not None:
        return submission.file_time, "file"
    return None, ""


def assess(submission, policy, max_score):
    """The Lateness of one hand-in under ``policy`` (LatePolicy)."""
    when, source = submitted_at(submission)
    marker = submission.lms.late if submission.lms is not None else None
    if policy.due is None or when is None or (source == "file" and marker is not None):
        late, days = marker, (1 if marker else 0)
        if late and when is not None and policy.due is not None and when > policy.due + policy.grace:
            days = math.ceil((when - policy.due - policy.grace) / DAY)
    else:
        overdue = when - policy.due - policy.grace
        late = overdue > timedelta(0)
        days = math.ceil(overdue / DAY) if late else 0
    penalty = min(policy.cap, policy.per_day * days) / 100 * max_score if late else 0.0
    return Lateness(when, source, late, days, penalty)


def final_score(score, lateness):
    return max(0.0, score - lateness.penalty) if lateness is not None else score


def columns(result, lateness, name=""):
    """The grades.csv cells of COLUMNS for one result (``lateness`` None: nothing known about the time)."""
    if lateness is None:
        return [name, "", "", "", "", "", f"{result.score:g}"]
    when = lateness.submitted_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") \
        if lateness.submitted_at else ""
    late = "" if lateness.late is None else ("yes" if lateness.late else "no")
    return [name, when, lateness.source, late, str(lateness.days_late) if lateness.late else "",
            f"{lateness.penalty:g}", f"{final_score(result.score, lateness):g}"]
