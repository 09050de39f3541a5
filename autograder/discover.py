"""Find the submissions to grade: one entry per student, whatever shape the instructor was handed.

Accepted layouts (or a zip of any of them, possibly wrapped in one top folder):

- ``<student_id>/<notebook>.ipynb`` (plus any other files the student handed in);
- nbgrader's ``submitted/<student_id>/<assignment>/<notebook>.ipynb`` (the ``submitted`` folder itself, or a
  folder that contains it);
- loose ``<student_id>.ipynb`` files;
- the flat or per-folder exports of Canvas, Moodle and Blackboard (``autograder/lms.py``): the student id and the
  late marker come from the exported names (mapped through a roster when one is given); a loose file whose name
  matches no pattern keeps its name as id and gets the flag ``unrecognised-name``.
"""

import dataclasses
import os
import stat
import zipfile
from calendar import timegm
from datetime import datetime, timezone
from pathlib import Path

from autograder.lms import original_stem, parse_name
from autograder.submission import SubmissionError

MAX_ZIP_BYTES = 2 * 2**30
MAX_ZIP_MEMBERS = 100_000


@dataclasses.dataclass
class Submission:
    """One student's hand-in. ``notebook`` is None when there is nothing to grade; ``problem`` says why."""

    student_id: str
    notebook: Path | None
    folder: Path | None = None  # the student's folder: its other files are copied next to the notebook
    flags: list = dataclasses.field(default_factory=list)
    problem: tuple | None = None  # (flag, message)
    timestamp: str | None = None  # nbgrader's timestamp.txt, when present
    name: str = ""  # the student's name, from the roster or the LMS export
    lms: object = None  # lms.LmsName when the hand-in came from an LMS export
    file_time: datetime | None = None  # the notebook file's modification time (a zip member's time when unzipped)


def _visible(path):
    return not path.name.startswith((".", "__MACOSX"))


def extract_zip(archive, destination, max_bytes=MAX_ZIP_BYTES):
    """Unpack ``archive`` safely: no absolute paths, no '..', no symlinks, bounded total size."""
    destination = Path(destination)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise SubmissionError("zip-too-large", f"{archive} has {len(members)} entries")
            if sum(m.file_size for m in members) > max_bytes:
                raise SubmissionError("zip-too-large", f"{archive} unpacks to more than {max_bytes} bytes")
            for member in members:
                parts = Path(member.filename).parts
                if member.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise SubmissionError("zip-unsafe", f"{archive} contains an unsafe path: {member.filename}")
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue
                path = zf.extract(member, destination)
                if not member.is_dir():  # keep the member's time: it is the hand-in's time when nothing else says
                    stamp = timegm(member.date_time + (0, 0, -1))  # zips carry no zone: read as UTC
                    os.utime(path, (stamp, stamp))
    except zipfile.BadZipFile as exc:
        raise SubmissionError("bad-zip", f"{archive} is not a readable zip file: {exc}") from None
    return destination


def _unwrap(folder, assignment):
    """Descend into ``submitted/`` and through single wrapper folders (e.g. a zip of ``submissions/``), stopping at
    a folder that holds students' folders."""
    while True:
        if (folder / "submitted").is_dir():
            folder = folder / "submitted"
            continue
        entries = [p for p in folder.iterdir() if _visible(p)]
        if len(entries) == 1 and entries[0].is_dir():
            inner = entries[0]
            if not any(inner.glob("*.ipynb")) and not (inner / assignment).is_dir():
                folder = inner
                continue
        return folder


def _pick_notebook(folder, notebook_name, assignment):
    """(path, flags) of the notebook to grade in a student's folder, or SubmissionError."""
    candidates = sorted(p for p in folder.rglob("*.ipynb")
                        if _visible(p) and ".ipynb_checkpoints" not in p.parts)
    if not candidates:
        raise SubmissionError("no-notebook", f"no .ipynb file in {folder.name}/")
    exact = [p for p in candidates if p.name == f"{notebook_name}.ipynb"]
    if exact:
        return min(exact, key=lambda p: len(p.parts)), []
    loose = [p for p in candidates if p.stem.lower() == notebook_name.lower()
             or notebook_name.lower() in p.stem.lower() or assignment.lower() in str(p).lower()]
    if len(loose) == 1 or len(candidates) == 1:
        path = loose[0] if len(loose) == 1 else candidates[0]
        return path, [f"renamed-notebook:{path.name}"]
    raise SubmissionError("several-notebooks", f"{folder.name}/ holds {len(candidates)} notebooks and none is "
                                               f"named {notebook_name}.ipynb: "
                                               f"{', '.join(p.name for p in candidates[:5])}")


def _file_time(path):
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc)
    except OSError:
        return None


def _pick_exported(files, notebook_name, assignment):
    """(path, flags) of the notebook among one student's exported files (original names per lms.LmsName)."""
    notebooks = [(path, lms_name) for path, lms_name in files if path.suffix == ".ipynb"]
    if not notebooks:
        raise SubmissionError("no-notebook", "no .ipynb file among " + ", ".join(p.name for p, _ in files[:5]))
    exact = [path for path, lms_name in notebooks if original_stem(lms_name) == notebook_name]
    if exact:
        return sorted(exact)[-1], []
    loose = [(path, lms_name) for path, lms_name in notebooks
             if notebook_name.lower() in lms_name.original.lower() or assignment.lower() in lms_name.original.lower()]
    if len(loose) == 1 or len(notebooks) == 1:
        path, lms_name = loose[0] if len(loose) == 1 else notebooks[0]
        return path, [f"renamed-notebook:{lms_name.original or path.name}"]
    raise SubmissionError("several-notebooks", f"{len(notebooks)} notebooks and none is named {notebook_name}.ipynb: "
                                               + ", ".join(lms_name.original for _, lms_name in notebooks[:5]))


def _identify(lms_name, fallback, roster, flags):
    """(student id, name) of a hand-in: the roster's, else the LMS's id, else ``fallback`` (flagged)."""
    if lms_name is None:
        student = roster.by_student_id(fallback) if roster else None
        if roster is not None and student is None:
            flags.append("not-in-roster")
        return fallback, student.name if student else ""
    student = roster.find(lms_name) if roster else None
    if student is not None:
        return student.student_id, student.name
    if roster is not None:
        flags.append("not-in-roster")
    return lms_name.lms_id, lms_name.name


def find_submissions(root, assignment, notebook_name, exclude=(), roster=None):
    """Every submission under ``root`` (a folder; unpack zips first with :func:`extract_zip`), sorted by id.
    Folders in ``exclude`` (e.g. the grader's own output folder) are skipped. ``roster`` (lms.Roster) maps LMS ids
    to student ids and names."""
    root = _unwrap(Path(root), assignment)
    excluded = {Path(p).resolve() for p in exclude}
    found, exported = [], {}
    for entry in sorted(root.iterdir()):
        if not _visible(entry) or entry.resolve() in excluded:
            continue
        lms_name = parse_name(entry.name)
        if entry.is_file():
            if lms_name is not None:
                exported.setdefault((lms_name.lms, lms_name.lms_id), []).append((entry, lms_name))
            elif entry.suffix == ".ipynb":  # <student_id>.ipynb, or a name no LMS writes: say so
                student = roster.by_student_id(entry.stem) if roster else None
                found.append(Submission(entry.stem, entry, None, [] if student else ["unrecognised-name"],
                                        name=student.name if student else "", file_time=_file_time(entry)))
            continue
        if not entry.is_dir():
            continue
        folder = entry / assignment if (entry / assignment).is_dir() else entry
        timestamp = None
        if (folder / "timestamp.txt").is_file():
            timestamp = (folder / "timestamp.txt").read_text(errors="replace").strip()[:100] or None
        flags = []
        student_id, name = _identify(lms_name, entry.name, roster, flags)
        try:
            notebook, picked = _pick_notebook(folder, notebook_name, assignment)
        except SubmissionError as exc:
            found.append(Submission(student_id, None, folder, flags, problem=(exc.flag, str(exc)),
                                    timestamp=timestamp, name=name, lms=lms_name))
            continue
        found.append(Submission(student_id, notebook, folder, flags + picked, timestamp=timestamp, name=name,
                                lms=lms_name, file_time=_file_time(notebook)))
    for files in exported.values():  # one student's files of a flat LMS export
        files.sort()
        lms_name = max((n for _, n in files), key=lambda n: (n.submitted_at is not None, n.submitted_at or 0))
        late = any(n.late for _, n in files) or (None if all(n.late is None for _, n in files) else False)
        lms_name = dataclasses.replace(lms_name, late=late)
        flags = []
        student_id, name = _identify(lms_name, lms_name.lms_id, roster, flags)
        try:
            notebook, picked = _pick_exported(files, notebook_name, assignment)
        except SubmissionError as exc:
            found.append(Submission(student_id, None, None, flags, problem=(exc.flag, str(exc)), name=name,
                                    lms=lms_name))
            continue
        found.append(Submission(student_id, notebook, None, flags + picked, name=name, lms=lms_name,
                                file_time=_file_time(notebook)))
    found.sort(key=lambda s: s.student_id)
    seen, unique = set(), []
    for submission in found:  # alice/ and alice.ipynb: grade the folder, report the clash
        if submission.student_id in seen:
            for other in unique:
                if other.student_id == submission.student_id:
                    other.flags.append("duplicate-student")
            continue
        seen.add(submission.student_id)
        unique.append(submission)
    return unique


def safe_id(student_id):
    """A student id usable as a file name (ids come from folder names, but be sure)."""
    cleaned = "".join(c if c.isalnum() or c in "-_.@+" else "_" for c in student_id).strip(".")
    return cleaned or "unnamed"

