"""Find the submissions to grade: one entry per student, whatever shape the instructor was handed.

Accepted layouts (or a zip of any of them, possibly wrapped in one top folder):

- ``<student_id>/<notebook>.ipynb`` (plus any other files the student handed in);
- nbgrader's ``submitted/<student_id>/<assignment>/<notebook>.ipynb`` (the ``submitted`` folder itself, or a
  folder that contains it);
- loose ``<student_id>.ipynb`` files.
"""

import dataclasses
import stat
import zipfile
from pathlib import Path

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
                zf.extract(member, destination)
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


def find_submissions(root, assignment, notebook_name, exclude=()):
    """Every submission under ``root`` (a folder; unpack zips first with :func:`extract_zip`), sorted by id.
    Folders in ``exclude`` (e.g. the grader's own output folder) are skipped."""
    root = _unwrap(Path(root), assignment)
    excluded = {Path(p).resolve() for p in exclude}
    found = []
    for entry in sorted(root.iterdir()):
        if not _visible(entry) or entry.resolve() in excluded:
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry, None))
            continue
        if not entry.is_dir():
            continue
        folder = entry / assignment if (entry / assignment).is_dir() else entry
        timestamp = None
        if (folder / "timestamp.txt").is_file():
            timestamp = (folder / "timestamp.txt").read_text(errors="replace").strip()[:100] or None
        try:
            notebook, flags = _pick_notebook(folder, notebook_name, assignment)
        except SubmissionError as exc:
            found.append(Submission(entry.name, None, folder, problem=(exc.flag, str(exc)), timestamp=timestamp))
            continue
        found.append(Submission(entry.name, notebook, folder, flags, timestamp=timestamp))
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

