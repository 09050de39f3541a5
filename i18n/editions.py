"""The translated editions of the course, generated from the English notebooks and the catalogs.

For a language with the suffix ``zh`` (zh_CN), assignment ``<id>`` gets

- ``solutions-zh/<id>/<name>.ipynb``: the English instructor notebook with every translated unit replaced, the same
  cells in the same order with the same ids, nbgrader metadata, code, outputs (none) and attachments; the notebook
  metadata gains ``coursekit.language`` (what ``coursekit.i18n`` reads to choose the language of messages);
- ``course-zh/<id>/<name>.ipynb``: its student version, written by nbgrader's own ``generate_assignment`` (run with
  the course's configuration, source and release directories switched), so checksums, locks and stubs are
  nbgrader's: Validate and the formgrader work on the Chinese edition as on the English one.

The file name stays the English one, so an LMS download of Chinese hand-ins is found and graded like any other.
Entries without a current translation (missing or fuzzy) stay English in the generated notebook; the drift test
(tests/test_i18n_drift.py) fails while any are left.
"""

import copy
import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from i18n import catalogs
from i18n.segments import apply, cell_units

SUFFIX = {"zh_CN": "zh"}  # language -> folder suffix: solutions-zh/, course-zh/
METADATA_KEY = "coursekit"  # notebook metadata {"coursekit": {"language": "zh_CN"}}; coursekit.i18n reads it


@dataclasses.dataclass(frozen=True)
class Built:
    """One generated edition of one assignment."""

    assignment: str
    language: str
    instructor: Path
    student: Path
    untranslated: int  # units left in English (missing or fuzzy translations)


def instructor_dir(root: Path, language: str) -> Path:
    return Path(root) / f"solutions-{SUFFIX[language]}"


def student_dir(root: Path, language: str) -> Path:
    return Path(root) / f"course-{SUFFIX[language]}"


def translated_assignments(root: Path, language: str = "zh_CN") -> list[str]:
    """The assignments of solutions/ that have a catalog for ``language``."""
    solutions = Path(root) / "solutions"
    return sorted(p.name for p in solutions.iterdir()
                  if p.is_dir() and catalogs.catalog_path(root, p.name, language).is_file())


def translate_notebook(notebook: nbformat.NotebookNode, table: dict[str, str],
                       language: str) -> tuple[nbformat.NotebookNode, list[str]]:
    """A copy of ``notebook`` with every unit that ``table`` translates replaced; returns it and the msgids left in
    English. Only cell sources change (and the notebook's language key)."""
    translated = copy.deepcopy(notebook)
    missing = []
    for cell in translated.cells:
        source, left = apply(cell.source, cell_units(cell), table.get)
        cell.source = source
        missing += left
    translated.metadata[METADATA_KEY] = {**translated.metadata.get(METADATA_KEY, {}), "language": language}
    return translated, missing


def render_instructor(root: Path, assignment: str, language: str = "zh_CN") -> tuple[nbformat.NotebookNode, list]:
    """The translated instructor notebook of ``assignment`` (not written) and the msgids left in English."""
    source = catalogs.english_notebook(root, assignment)
    table = catalogs.translation_table(catalogs.read(catalogs.catalog_path(root, assignment, language)))
    return translate_notebook(nbformat.read(source, as_version=nbformat.NO_CONVERT), table, language)


def write_instructor(root: Path, assignment: str, language: str = "zh_CN") -> tuple[Path, int]:
    """Write ``solutions-<suffix>/<assignment>/``: the translated notebook and the other files of the English
    folder as they are. Returns the notebook's path and how many units stayed English."""
    english = catalogs.english_notebook(root, assignment)
    notebook, missing = render_instructor(root, assignment, language)
    folder = instructor_dir(root, language) / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for path in english.parent.iterdir():
        if path.name.startswith(".") or path == english:
            continue
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, folder / path.name)
    target = folder / english.name
    nbformat.write(notebook, target)
    return target, len(missing)


def at_risk(root: Path, assignment: str, language: str = "zh_CN") -> list[Path]:
    """Files of ``course-<suffix>/<assignment>/`` that regenerating it would lose: the rule of
    ``autograder.release.at_risk`` (a learner's saved answers or own files), applied to the translated edition."""
    from autograder.release import files_at_risk

    return files_at_risk(root, student_dir(root, language) / assignment, instructor_dir(root, language) / assignment)


def generate_students(root: Path, assignments: list[str], language: str = "zh_CN") -> list[Path]:
    """``nbgrader generate_assignment`` from ``solutions-<suffix>/`` into ``course-<suffix>/``, with the course's
    configuration (autograder/nbgrader_config.py, loaded from its folder) and the two directories overridden."""
    root = Path(root).resolve()
    bin_dir = str(Path(sys.executable).parent)  # nbgrader calls alembic from its own environment
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    folders = []
    for assignment in assignments:
        completed = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", "--no-db",
             f"--CourseDirectory.source_directory={instructor_dir(root, language).name}",
             f"--CourseDirectory.release_directory={student_dir(root, language).name}"],
            cwd=root / "autograder", env=env, capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} ({language}) failed:\n"
                               f"{completed.stderr[-3000:]}")
        folders.append(student_dir(root, language) / assignment)
    return folders


def build(root: Path, assignments: list[str], language: str = "zh_CN", force: bool = False) -> list[Built]:
    """Both editions of each assignment (all with a catalog when ``assignments`` is empty). Refuses, before
    writing anything, when a student folder holds a learner's work (unless ``force``)."""
    root = Path(root).resolve()
    known = translated_assignments(root, language)
    assignments = list(assignments) or known
    assignments = [a for a in assignments if a in known]  # an assignment without a catalog has no edition yet
    risky = [path for a in assignments for path in at_risk(root, a, language)]
    if risky and not force:
        from autograder.release import ReleaseRefused
        raise ReleaseRefused([p.relative_to(root) if p.is_relative_to(root) else p for p in risky])
    built = []
    for assignment in assignments:
        instructor, left = write_instructor(root, assignment, language)
        (student,) = generate_students(root, [assignment], language)
        built.append(Built(assignment, language, instructor, student / instructor.name, left))
    return built
