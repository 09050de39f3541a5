"""Regenerate the student notebooks (course/) from the instructor notebooks (solutions/) with nbgrader.

Wraps ``nbgrader generate_assignment <id> --force --no-db`` run in the course's autograder/ folder, so that
nbgrader picks up autograder/nbgrader_config.py. The interpreter's bin folder goes first on PATH: nbgrader calls
``alembic`` and must find the ones installed next to it.

``--force`` of nbgrader deletes course/<id>/ before writing it again, so ``release`` first looks for what would be
lost there and refuses (unless ``force``), naming the files: notebooks with outputs or with an answered solution
cell (a learner worked in them), and other files that solutions/<id>/ does not hold as they are (a learner's own).
In a git checkout only the files changed since the last commit or unknown to git are looked at, so a release after
a release (course/ not committed yet) goes through.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder.editions import release_editions

STUBS = ("raise NotImplementedError()", "YOUR ANSWER HERE")  # autograder/nbgrader_config.py's ClearSolutions


class ReleaseRefused(RuntimeError):
    """Releasing would overwrite or delete changed files in course/; ``files`` lists them."""

    def __init__(self, files):
        self.files = files
        super().__init__("release would overwrite or delete files changed in course/ (a learner's saved answers?): "
                         + ", ".join(str(f) for f in files[:20]) + (" ..." if len(files) > 20 else "")
                         + "; commit or move them, or run again with --force")


def assignments(root):
    return sorted(p.name for p in (Path(root) / "solutions").iterdir() if p.is_dir()) \
        if (Path(root) / "solutions").is_dir() else []


def _git_changes(root, folder):
    """Changed and unknown files under ``folder`` by git, or None when ``root`` is not in a git checkout."""
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, check=True).stdout.strip()
        listing = subprocess.run(["git", "-C", top, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--",
                                  str(folder)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    changed = []
    for entry in listing.split("\0"):
        status, path = entry[:2], entry[3:]
        if entry and "D" not in status and "R" not in status:
            changed.append(Path(top) / path)
    return changed


def _learner_work(notebook_path):
    """Whether a student notebook holds outputs or an answered solution cell (the no-git rule)."""
    try:
        cells = json.loads(notebook_path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return True  # unreadable: better kept
    for cell in cells:
        if cell.get("outputs") or cell.get("execution_count"):
            return True
        source = "".join(cell.get("source", ""))
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and not any(s in source for s in STUBS):
            return True
    return False


def at_risk(root, name):
    """The files of course/<name>/ that releasing it again would lose (see the module docstring)."""
    root = Path(root).resolve()
    return files_at_risk(root, root / "course" / name, root / "solutions" / name)


def files_at_risk(root, folder, source):
    """The files of the student folder ``folder`` that regenerating it from ``source`` would lose: a learner's saved
    answers or outputs in a notebook, and files that ``source`` does not have or holds differently (also used for
    the translated editions, i18n/editions.py)."""
    folder, source = Path(folder), Path(source)
    if not folder.is_dir():
        return []
    changed = _git_changes(Path(root), folder)
    candidates = changed if changed is not None else [p for p in folder.rglob("*") if p.is_file()]
    risky = []
    for path in sorted(p for p in candidates if p.is_file() and p.resolve().is_relative_to(folder.resolve())):
        relative = path.resolve().relative_to(folder.resolve())
        if ".ipynb_checkpoints" in relative.parts or "__pycache__" in relative.parts:
            continue
        if path.suffix == ".ipynb":
            if _learner_work(path):
                risky.append(path)
        elif not (source / relative).is_file() or (source / relative).read_bytes() != path.read_bytes():
            risky.append(path)
    return risky


def release(root, names=None, force=False):
    """Generate course/<id>/ for each assignment in ``names`` (all when empty); returns the generated folders.
    Raises ReleaseRefused, before anything is written, when a course/ folder holds changes (unless ``force``)."""
    root = Path(root).resolve()
    config_dir = root / "autograder"
    if not (config_dir / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"{config_dir / 'nbgrader_config.py'} not found; is {root} the course root?")
    known = assignments(root)
    names = list(names or known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no such assignment(s) {unknown} in {root / 'solutions'}; known: {known}")
    risky = [path for name in names for path in at_risk(root, name)]
    if risky and not force:
        raise ReleaseRefused([p.relative_to(root) if p.is_relative_to(root) else p for p in risky])
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    done = []
    for name in names:
        completed = subprocess.run([*nbgrader, "generate_assignment", name, "--force", "--no-db"], cwd=config_dir,
                                   env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{completed.stderr[-3000:]}")
        done.append(root / "course" / name)
    done += release_editions(root, names, force=force)  # solutions-zh/, course-zh/ (autograder/editions.py)
    return done
