"""Regenerate the student notebooks (course/) from the instructor notebooks (solutions/) with nbgrader.

Wraps ``nbgrader generate_assignment <id> --force --no-db`` run in the course's autograder/ folder, so that
nbgrader picks up autograder/nbgrader_config.py. The interpreter's bin folder goes first on PATH: nbgrader calls
``alembic`` and must find the ones installed next to it.
"""

import os
import subprocess
import sys
from pathlib import Path


def assignments(root):
    return sorted(p.name for p in (Path(root) / "solutions").iterdir() if p.is_dir()) \
        if (Path(root) / "solutions").is_dir() else []


def release(root, names=None):
    """Generate course/<id>/ for each assignment in ``names`` (all when empty); returns the generated folders."""
    root = Path(root).resolve()
    config_dir = root / "autograder"
    if not (config_dir / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"{config_dir / 'nbgrader_config.py'} not found; is {root} the course root?")
    known = assignments(root)
    names = list(names or known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no such assignment(s) {unknown} in {root / 'solutions'}; known: {known}")
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
    return done
