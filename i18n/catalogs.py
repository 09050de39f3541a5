"""gettext catalogs (PO files) of the notebooks, read and written with Babel.

One catalog per notebook and language: ``i18n/<language>/<assignment>.po``. Its entries are the units of the
English instructor notebook (``i18n.segments``), in notebook order, without a context: the same English sentence
gets the same translation wherever it occurs. ``#.`` comments name the unit's kind, ``#:`` the cell it comes from.

``update`` merges a fresh extraction into the catalog the way gettext's msgmerge does (Babel's ``Catalog.update``):
entries whose English changed become fuzzy and keep their old translation and, as ``#| msgid``, the old English, so
a translator sees what changed; entries no longer in the notebook become obsolete (``#~``).
"""

import dataclasses
import io
import re
from pathlib import Path
from typing import Optional

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, unescape, write_po

from i18n.segments import cell_units

LANGUAGES = ("zh_CN",)
PROJECT = "gru-course"
HEADER = """# {language} translation of {notebook} (solutions/), written by `python -m i18n update`.
# One entry per paragraph, list item, table cell, comment block or docstring paragraph.
# Keep math ($...$), `code`, numbers and quotations of the seed as they are.
# A fuzzy entry is not used until its translation is checked and the flag removed."""
PO_WIDTH = 100  # Babel wraps long msgids at spaces only; Chinese msgstrs stay on few lines either way


@dataclasses.dataclass(frozen=True)
class Entry:
    """One unit of the English notebook as the catalog lists it."""

    msgid: str
    kind: str
    cell_id: str


@dataclasses.dataclass(frozen=True)
class Status:
    """How much of one notebook's current English a catalog translates."""

    assignment: str
    total: int
    translated: int
    fuzzy: list[str]
    untranslated: list[str]
    stale: list[str]  # active catalog entries that the notebook no longer has (run update)

    @property
    def complete(self) -> bool:
        return not (self.fuzzy or self.untranslated or self.stale)


def i18n_root(root: Path) -> Path:
    return Path(root) / "i18n"


def catalog_path(root: Path, assignment: str, language: str = "zh_CN") -> Path:
    return i18n_root(root) / language / f"{assignment}.po"


def english_notebook(root: Path, assignment: str) -> Path:
    notebooks = sorted((Path(root) / "solutions" / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise FileNotFoundError(f"solutions/{assignment} must hold exactly one notebook, found {len(notebooks)}")
    return notebooks[0]


def extract(notebook: nbformat.NotebookNode) -> list[Entry]:
    """Every unit of every cell, in notebook order; a msgid repeated later in the notebook is listed once."""
    seen, entries = set(), []
    for cell in notebook.cells:
        for unit in cell_units(cell):
            if unit.msgid not in seen:
                seen.add(unit.msgid)
                entries.append(Entry(unit.msgid, f"{cell.cell_type} {unit.kind}", cell.get("id", "")))
    return entries


def new_catalog(language: str, header_comment: str) -> Catalog:
    """An empty catalog with the course's header fields."""
    catalog = Catalog(locale=language, project=PROJECT, version="1", fuzzy=False, header_comment=header_comment,
                      copyright_holder="the gru-course authors", msgid_bugs_address="the course's issue tracker",
                      last_translator="gru-course translators", language_team=f"gru-course {language}")
    catalog.revision_date = catalog.creation_date
    return catalog


def template(entries: list[Entry], notebook_name: str, language: str) -> Catalog:
    catalog = new_catalog(language, HEADER.format(notebook=notebook_name, language=language))
    for entry in entries:
        catalog.add(entry.msgid, "", locations=[(f"{notebook_name}#{entry.cell_id}", None)],
                    auto_comments=[entry.kind])
    return catalog


def read(path: Path) -> Catalog:
    with open(path, "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        _restore_previous(message)
    return catalog


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _restore_previous(message) -> None:
    """Babel 2.19 wraps a long previous msgid ("#| msgid ...", the English a fuzzy entry was translated from)
    inside its quoted strings, and its reader then takes those lines for translator comments: the old English
    would be lost and the comments pile up at every update. Put them back together as ``previous_id``."""
    lines = [c[1:].strip() for c in message.user_comments if c.startswith("|")]
    if not lines or not lines[0].startswith("msgid"):
        return
    joined = " ".join(lines)[len("msgid"):]  # the wrap broke the text at a space
    message.previous_id = ["".join(unescape(f'"{part}"') for part in _QUOTED.findall(joined))]
    message.user_comments = [c for c in message.user_comments if not c.startswith("|")]


def dumps(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=PO_WIDTH, include_previous=True, sort_output=False)
    return buffer.getvalue()


def update(root: Path, assignment: str, language: str = "zh_CN") -> tuple[Path, Status]:
    """Extract the English notebook of ``assignment`` into its catalog (created if missing); returns the path and
    the status after the merge."""
    source = english_notebook(root, assignment)
    fresh = template(extract(nbformat.read(source, as_version=4)), source.name, language)
    path = catalog_path(root, assignment, language)
    if path.is_file():
        catalog = read(path)
        catalog.update(fresh, update_header_comment=False, update_creation_date=False)
    else:
        catalog = fresh
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dumps(catalog))
    return path, status(root, assignment, language)


def translation_table(catalog: Catalog) -> dict[str, str]:
    """msgid -> msgstr for the entries that count as translated: non-empty and not fuzzy (gettext's rule)."""
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def status(root: Path, assignment: str, language: str = "zh_CN") -> Optional[Status]:
    """The catalog's coverage of the current English notebook, or None when the notebook has no catalog."""
    path = catalog_path(root, assignment, language)
    if not path.is_file():
        return None
    catalog = read(path)
    entries = extract(nbformat.read(english_notebook(root, assignment), as_version=4))
    wanted = {e.msgid for e in entries}
    fuzzy, untranslated = [], []
    for entry in entries:
        message = catalog.get(entry.msgid)
        if message is None or not message.string:
            untranslated.append(entry.msgid)
        elif message.fuzzy:
            fuzzy.append(entry.msgid)
    stale = [m.id for m in catalog if m.id and m.id not in wanted]
    return Status(assignment, len(entries), len(entries) - len(fuzzy) - len(untranslated), fuzzy, untranslated,
                  stale)
