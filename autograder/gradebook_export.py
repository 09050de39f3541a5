"""A gradebook CSV that Canvas imports (Grades > Import), written next to grades.csv as ``canvas_grades.csv``.

Canvas's own gradebook export is the format: the columns ``Student, ID, SIS User ID, SIS Login ID, Section``, then
one column per assignment, then a ``Points Possible`` row. Canvas matches rows by ``ID`` (its user id), which its
submission file names carry and a roster can give; an assignment column named ``<title> (<Canvas assignment id>)``
updates that assignment, any other name creates a new one on import.

The score is ``final_score`` of grades.csv (autograded points after the late penalty). Written answers graded by
hand in formgrader are not in it. Error rows (nothing gradable) are left empty, so that Canvas keeps the cell as it
is until an instructor decides; hand-ins without a Canvas user id cannot be imported and are listed by the
``grade`` command instead.
"""

import csv
import dataclasses
from pathlib import Path

HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
FILE_NAME = "canvas_grades.csv"


@dataclasses.dataclass(frozen=True)
class GradeEntry:
    student_id: str           # the SIS User ID: the roster's student id ("" without a roster row)
    name: str
    canvas_id: str            # "" when unknown: the row cannot be imported
    sis_login_id: str = ""
    section: str = ""
    score: float | None = None  # None: leave the cell empty (error rows)


def entries(results, submissions, final_scores, roster=None):
    """One GradeEntry per result. ``submissions``/``final_scores``: by student id (discover.Submission, float)."""
    rows = []
    for result in results:
        submission = submissions.get(result.student_id)
        student = roster.by_student_id(result.student_id) if roster else None
        lms = submission.lms if submission is not None else None
        canvas_id = (student.lms_id if student and student.lms_id else
                     lms.lms_id if lms is not None and lms.lms == "canvas" else "")
        name = (student.name if student else "") or (submission.name if submission else "") or result.student_id
        score = None if result.status == "error" else final_scores.get(result.student_id, result.score)
        rows.append(GradeEntry(result.student_id if student else "", name, canvas_id,
                               student.sis_login_id if student else "", student.section if student else "", score))
    return rows


def _cell(text):
    """Spreadsheets run a cell that starts with = + - @ as a formula; names come from students."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_canvas_csv(folder, rows, column, points_possible):
    """Write ``<folder>/canvas_grades.csv``; returns (path, entries left out for want of a Canvas id)."""
    path = Path(folder) / FILE_NAME
    skipped = [row.name for row in rows if not row.canvas_id]
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow((*HEADER, column))
        writer.writerow(("Points Possible", "", "", "", "", f"{points_possible:g}"))
        for row in sorted((r for r in rows if r.canvas_id), key=lambda r: (r.name.lower(), r.canvas_id)):
            writer.writerow((_cell(row.name), row.canvas_id, _cell(row.student_id), _cell(row.sis_login_id),
                             _cell(row.section), "" if row.score is None else f"{row.score:g}"))
    return path, skipped
