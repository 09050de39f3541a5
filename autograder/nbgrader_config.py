"""nbgrader configuration of the GRU course.

The course root is the repository: nbgrader's source directory is solutions/ (instructor notebooks, with
solutions and hidden tests) and its release directory is course/ (the student notebooks, committed).
Everything nbgrader generates while grading stays under autograder/ and is git-ignored.

The repository root's nbgrader_config.py loads this file, so nbgrader and ``jupyter lab`` work from the root as
from this folder, e.g. ``nbgrader generate_assignment 02-gru-numpy --force`` (``python -m autograder release`` does
that).
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

c.CourseDirectory.course_id = "gru-course"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = f"sqlite:///{HERE / 'gradebook.db'}"

# A writable exchange for nbgrader's assignment list (release/fetch/submit). On a shared JupyterHub set
# NBGRADER_EXCHANGE to the folder every user shares (e.g. /srv/nbgrader/exchange); see README "On a JupyterHub".
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", str(HERE / "exchange"))
# nbgrader only creates it on the first release, but the formgrader offers no Release button and the assignment
# list shows an error while it is missing: create it up front (a shared one the hub's admin creates, writable by all).
try:
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:
    pass
c.Exchange.path_includes_course = True

# Student notebooks: solution regions become this stub, so an untouched notebook scores zero, not an error.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading: a cell may run this long; a notebook with a kernel that dies is still recorded.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
