"""The translated editions in ``release``: after course/, ``python -m i18n build`` writes solutions-zh/ and
course-zh/ for the released assignments that have a catalog (i18n/zh_CN/<id>.po).

The i18n tool lives at the course root (i18n/), not in an installed package, so it runs as a subprocess in the
root, as nbgrader does. A root without i18n/ (a test's temporary course) has no editions: nothing happens.
"""

import os
import subprocess
import sys
from pathlib import Path


def release_editions(root, names, force=False):
    """Generate the translated editions of ``names`` (all when empty); returns the folders written. Raises
    RuntimeError with the tool's message when it fails or refuses (a learner's work in course-zh/)."""
    root = Path(root).resolve()
    if not (root / "i18n" / "__main__.py").is_file():
        return []
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    command = [sys.executable, "-m", "i18n", "--root", str(root), "build", *(names or []),
               *(["--force"] if force else [])]
    completed = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"the translated editions were not released: {completed.stderr.strip()[-3000:]}")
    return [Path(line.removeprefix("released ").split(" (", 1)[0]) for line in completed.stdout.splitlines()
            if line.startswith("released ")]
