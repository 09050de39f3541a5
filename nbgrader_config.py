"""nbgrader's configuration when Jupyter or nbgrader starts at the repository root: the course's own,
``autograder/nbgrader_config.py`` (course root, solutions/ and course/, the gradebook, the exchange).

With it, ``jupyter lab`` at the root shows every assignment in the formgrader, and Release and Validate work, as
they do when started in autograder/. The exchange is ``$NBGRADER_EXCHANGE`` (a shared JupyterHub) or
autograder/exchange.
"""

from pathlib import Path

c = get_config()  # noqa: F821  (nbgrader provides get_config and load_subconfig when it loads this file)
# nbgrader reads the course root's config *after* the one of the folder it runs in: when that folder has its own
# config (autograder/, or the tests' temporary one with its own release directory), that one is the caller's
# choice and is not reset here.
_HERE = Path(__file__).resolve().parent
if Path.cwd().resolve() == _HERE or not (Path.cwd() / "nbgrader_config.py").is_file():
    load_subconfig(str(_HERE / "autograder" / "nbgrader_config.py"))  # noqa: F821
