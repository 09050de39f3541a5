"""The catalog of learner-visible messages of coursekit and the autograder: ``i18n/<language>/coursekit.po``.

A message is marked in the source with ``_("template")`` (``N_`` where a template is only defined, e.g. in a
table); the template names its values, ``"{name}: {passed}/{total} cases pass."``, and is filled in after
translation (``coursekit.i18n``). Babel's Python extractor finds the marked templates in coursekit/ and autograder/;
``compile`` writes ``coursekit/locale/<language>/LC_MESSAGES/coursekit.mo``, which the standard library's gettext
reads at run time; the .mo is committed (a learner's install compiles nothing) and tests/test_i18n_messages.py
checks that it is the catalog compiled. Templates are marked with ``coursekit.i18n.Text("...", value=...)`` or
``N_("...")``: see coursekit/i18n.py.
"""

import dataclasses
import io
from pathlib import Path
from typing import Optional

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo

from i18n import catalogs

DOMAIN = "coursekit"
KEYWORDS = {"_": None, "N_": None, "Text": None}  # the first argument of each is the template
SOURCES = ("coursekit", "autograder")


def catalog_path(root: Path, language: str) -> Path:
    return catalogs.i18n_root(root) / language / f"{DOMAIN}.po"


def mo_path(root: Path, language: str) -> Path:
    return Path(root) / "coursekit" / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def extract(root: Path, language: str) -> Catalog:
    """A template catalog of every marked message of coursekit/ and autograder/."""
    template = catalogs.new_catalog(language, f"# {language} translation of the messages of coursekit and the "
                                              "autograder,\n# written by `python -m i18n messages`.")
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
                Path(root) / source, method_map=[("**.py", "python")], keywords=KEYWORDS,
                comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
            template.add(message, "", locations=[(f"{source}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    return template


def update(root: Path, language: str = "zh_CN") -> Path:
    """Merge a fresh extraction into the message catalog (created if missing)."""
    fresh, path = extract(root, language), catalog_path(root, language)
    if path.is_file():
        catalog = catalogs.read(path)
        catalog.update(fresh, update_header_comment=False, update_creation_date=False)
    else:
        catalog = fresh
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(catalogs.dumps(catalog))
    return path


def mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile(root: Path, language: str = "zh_CN") -> Optional[Path]:
    """Write the .mo of the message catalog; None (and no file) while the catalog has no entry."""
    catalog = catalogs.read(catalog_path(root, language))
    if not any(message.id for message in catalog):
        return None
    path = mo_path(root, language)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mo_bytes(catalog))
    return path


@dataclasses.dataclass(frozen=True)
class MessageStatus:
    """How complete the message catalog is: entries, their untranslated/fuzzy ones, and whether the marked
    templates of the source and the compiled .mo agree with it."""

    total: int
    untranslated: tuple
    fuzzy: tuple
    not_extracted: tuple  # marked in the source, not in the catalog (run `python -m i18n messages`)
    mo_current: bool

    @property
    def complete(self):
        return not (self.untranslated or self.fuzzy or self.not_extracted) and self.mo_current


def status(root: Path, language: str = "zh_CN") -> MessageStatus:
    catalog = catalogs.read(catalog_path(root, language))
    entries = [m for m in catalog if m.id]
    known = {m.id for m in entries}
    marked = {m.id for m in extract(root, language) if m.id}
    mo = mo_path(root, language)
    return MessageStatus(total=len(entries), untranslated=tuple(m.id for m in entries if not m.string),
                         fuzzy=tuple(m.id for m in entries if m.string and m.fuzzy),
                         not_extracted=tuple(sorted(marked - known)),
                         mo_current=mo.is_file() and mo.read_bytes() == mo_bytes(catalog))
