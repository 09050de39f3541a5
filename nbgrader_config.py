"""nbgrader's configuration when Jupyter or nbgrader starts at the repository root: the course's own,
``autograder/nbgrader_config.py`` (course root, solutions/ and course/, the gradebook, the exchange).

With it, ``jupyter lab`` at the root shows every assignment in the formgrader, and Release and Validate work, as
they do when started in autograder/. The exchange is ``$NBGRADER_EXCHANGE`` (a shared JupyterHub) or
autograder/exchange.
"""

from pathlib import Path

c = get_config()  # noqa: F821  (nbgrader provides get_config and load_subconfig when it loads this file)
load_subconfig(str(Path(__file__).resolve().parent / "autograder" / "nbgrader_config.py"))  # noqa: F821
