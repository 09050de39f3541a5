"""Who handed in what, read from the file names that learning management systems give to exported hand-ins.

Patterns recognised (the names each LMS writes into its "download all submissions" zip):

- **Canvas** (Assignment > Download Submissions): ``<name>[_late]_<user id>_<submission id>_<original file>``,
  e.g. ``doejohn_late_23456_78901_gru_numpy-1.ipynb``. ``<name>`` is the student's sortable name, lower case,
  without spaces or punctuation; ``late`` is present when Canvas marked the submission late; ``<user id>`` is the
  Canvas user id (the ``ID`` column of Canvas's gradebook CSV); Canvas appends ``-1``, ``-2``... to the original
  file name when a student re-uploads a file of the same name.
- **Moodle** (Assignment > Download all submissions): ``<Full Name>_<participant id>_assignsubmission_file_<original
  file>``, or, with "Download submissions in folders", a folder ``<Full Name>_<participant id>_assignsubmission_file``
  holding the original files. Moodle writes no late marker into the name.
- **Blackboard Learn** (Grade Centre > Assignment File Download): ``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-
  SS>_<original file>``, next to an ``..._attempt_<time>.txt`` receipt. The attempt time is the submission time;
  Blackboard's own name carries no late marker, but a ``_late`` token after the time is accepted (some exports and
  re-packers write one). The username is the last ``_``-separated field before ``_attempt_`` (Blackboard usernames
  with an underscore are cut there; give them in the roster).

A name that matches none of them keeps the file (or folder) name as the student id, and the hand-in gets the flag
``unrecognised-name`` so that an instructor can map it by hand.

The roster CSV maps LMS ids to the course's student ids and names (columns, any order, case-insensitive):
``lms_id`` (or Canvas's ``ID``), ``student_id`` (or ``SIS User ID`` / ``SIS Login ID``), ``name`` (or
``Student``), and optionally ``sis_login_id`` and ``section``. A Canvas gradebook export is therefore a roster as it
is.
"""

import csv
import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path

CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_late)?_(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$", re.I)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?:file|onlinetext)_?(?P<file>.*)$")
BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_"
                        r"(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?P<late>_late)?(?:_(?P<file>.+)|\.txt)?$", re.I)
RESUBMITTED = re.compile(r"-\d+$")  # Canvas's suffix on a re-uploaded file name: gru_numpy-1.ipynb


@dataclasses.dataclass(frozen=True)
class LmsName:
    """What an exported file name says. ``late`` is None when the LMS writes no marker at all."""

    lms: str                       # "canvas", "moodle" or "blackboard"
    lms_id: str                    # Canvas user id, Moodle participant id, Blackboard username
    name: str                      # as the LMS wrote it (Canvas: "doejohn"; Moodle: "John Doe")
    original: str                  # the file name the student uploaded ("" for a Moodle folder)
    late: bool | None = None
    submitted_at: datetime | None = None  # Blackboard's attempt time (UTC: the export carries no zone)


def parse_name(filename):
    """The LmsName of an exported file or folder name, or None when it matches no known pattern."""
    name = Path(filename).name
    match = BLACKBOARD.match(name)
    if match:
        stamp = datetime.strptime(match["time"], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=timezone.utc)
        return LmsName("blackboard", match["user"], match["user"], match["file"] or "",
                       late=True if match["late"] else None, submitted_at=stamp)
    match = MOODLE.match(name)
    if match:
        return LmsName("moodle", match["participant"], match["name"], match["file"])
    match = CANVAS.match(name)
    if match:
        return LmsName("canvas", match["user"], match["name"], match["file"], late=bool(match["late"]))
    return None


def original_stem(lms_name):
    """The stem of the file the student uploaded, without Canvas's re-upload suffix (gru_numpy-1 -> gru_numpy)."""
    stem = Path(lms_name.original).stem
    return RESUBMITTED.sub("", stem) if lms_name.lms == "canvas" else stem


@dataclasses.dataclass(frozen=True)
class Student:
    """One roster row."""

    student_id: str
    name: str = ""
    lms_id: str = ""
    sis_login_id: str = ""
    section: str = ""


_ALIASES = {
    "lms_id": ("lms_id", "id", "lms id", "canvas id", "user id", "participant id", "username"),
    "student_id": ("student_id", "student id", "sis user id", "sis_user_id", "sis login id", "id number"),
    "name": ("name", "student", "student name", "full name"),
    "sis_login_id": ("sis_login_id", "sis login id", "login id", "email"),
    "section": ("section",),
}


class RosterError(ValueError):
    """The roster file cannot be used (missing columns)."""


@dataclasses.dataclass
class Roster:
    """Students by LMS id, by student id and by (normalised) name."""

    students: list

    def __post_init__(self):
        self._by_lms = {s.lms_id: s for s in self.students if s.lms_id}
        self._by_id = {s.student_id: s for s in self.students if s.student_id}
        self._by_name = {_name_key(s.name): s for s in self.students if s.name}

    def find(self, lms_name):
        """The roster row of an exported hand-in: by LMS id, then the id itself, then the name; or None."""
        for candidate in (self._by_lms.get(lms_name.lms_id), self._by_id.get(lms_name.lms_id),
                          self._by_name.get(_name_key(lms_name.name))):
            if candidate is not None:
                return candidate
        return None

    def by_student_id(self, student_id):
        return self._by_id.get(student_id)


def _name_key(name):
    """Canvas writes "doejohn" for "Doe, John"; compare names by their letters and digits only."""
    return "".join(c for c in name.lower() if c.isalnum())


def load_roster(path):
    """Read a roster CSV (see the module docstring for its columns)."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = list(csv.reader(file))
    if not rows:
        raise RosterError(f"{path} is empty")
    header = [h.strip().lower() for h in rows[0]]
    columns = {}
    for field, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in header and header.index(alias) not in columns.values():
                columns[field] = header.index(alias)
                break
    if "student_id" not in columns and "lms_id" not in columns:
        raise RosterError(f"{path}: no student id column (expected one of {', '.join(_ALIASES['student_id'])} "
                          f"or {', '.join(_ALIASES['lms_id'])}); found {', '.join(rows[0])}")
    students = []
    for row in rows[1:]:
        values = {field: row[index].strip() if index < len(row) else "" for field, index in columns.items()}
        if values.get("name", "").lower().startswith("points possible"):  # the second row of a Canvas export
            continue
        student_id = values.get("student_id") or values.get("lms_id")
        if student_id:
            students.append(Student(student_id, values.get("name", ""), values.get("lms_id", ""),
                                    values.get("sis_login_id", ""), values.get("section", "")))
    return Roster(students)
