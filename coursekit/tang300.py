"""The 300 Tang poems (唐诗三百首) of notebook 08: the shipped clean copy, the verse forms, the fixed split.

The text comes from Debian's fortunes-zh package (file usr/share/games/fortunes/tang300); see
coursekit/data/NOTICE.tang300 for its provenance and ``benchmarks/make_tang300.py`` for the regeneration.
:func:`parse_fortunes` turns that file into :class:`Poem` records, :func:`load` reads the shipped JSON.

Verse form (诗体): a regular poem has lines (句) of the same number of characters, 5 (五言) or 7 (七言), each
followed by a punctuation mark: "，" inside a couplet (联), "。" (or "？", "！") at its end. The file stores one
couplet per text line, e.g. "床前明月光，疑是地上霜。".
"""

import dataclasses
import importlib.resources
import json
import re

import numpy as np

PUNCTUATION = "，。？！；：、"
"""Punctuation marks that end a verse line in this data set (the first two are by far the most common)."""
DATA_FILE = "tang300.json"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE_END = re.compile(f"[{PUNCTUATION}]")


@dataclasses.dataclass(frozen=True)
class Poem:
    """One poem: ``lines`` are the text lines of the source (one couplet each for regular verse); ``preface``
    holds the prose preface (序) of the few poems that have one, which is not verse and is never modelled."""

    title: str
    author: str
    lines: tuple
    preface: tuple = ()

    @property
    def text(self):
        """The verse as one string, without line breaks: the punctuation marks carry the structure."""
        return "".join(self.lines)

    @property
    def width(self):
        """5 or 7 (characters per verse line) for a regular poem, else None (mixed line lengths, 古体/杂言)."""
        return verse_width(self.text)


def verse_lines(text):
    """The verse lines of ``text``: the runs of characters that end with a punctuation mark (marks excluded).
    Characters after the last mark are not a line."""
    return _LINE_END.split(text)[:-1]


def verse_width(text):
    """The common length of every verse line of ``text`` if it is 5 or 7 and the text ends with a mark, else None."""
    lines = verse_lines(text)
    widths = {len(line) for line in lines}
    if not lines or len(widths) != 1 or not text or text[-1] not in PUNCTUATION:
        return None
    width = widths.pop()
    return width if width in (5, 7) else None


def parse_fortunes(text):
    """Poems from the fortunes file ``tang300``: records separated by lines "%", each a coloured title "《...》",
    a coloured "作者：..." line and the verse. ANSI colour codes are removed. In poems whose title ends in "并序"
    (with a preface), the lines before the first blank line are the prose preface."""
    poems = []
    for record in re.split(r"^%$", _ANSI.sub("", text), flags=re.M):
        rows = [row.strip() for row in record.strip("\n").split("\n")]
        if not any(rows):
            continue
        if len(rows) < 3 or not (rows[0].startswith("《") and rows[0].endswith("》")) \
                or not rows[1].startswith("作者："):
            raise ValueError(f"not a poem record (title, author, lines): {record[:80]!r}")
        title, author, body = rows[0][1:-1], rows[1][len("作者："):], rows[2:]
        preface = ()
        if title.endswith("并序") and "" in body:
            cut = body.index("")
            preface, body = tuple(body[:cut]), body[cut + 1:]
        poems.append(Poem(title, author, tuple(row for row in body if row), preface))
    return poems


def to_json(poems):
    """The shipped file's content (UTF-8 text): {"poems": [{"title", "author", "lines"[, "preface"]}]}."""
    records = []
    for poem in poems:
        record = {"title": poem.title, "author": poem.author, "lines": list(poem.lines)}
        if poem.preface:
            record["preface"] = list(poem.preface)
        records.append(record)
    return json.dumps({"poems": records}, ensure_ascii=False, indent=1) + "\n"


def load():
    """Every poem of the shipped coursekit/data/tang300.json, in the order of the source file."""
    resource = importlib.resources.files("coursekit.data") / DATA_FILE
    records = json.loads(resource.read_text(encoding="utf-8"))["poems"]
    return [Poem(r["title"], r["author"], tuple(r["lines"]), tuple(r.get("preface", ()))) for r in records]


@dataclasses.dataclass(frozen=True)
class Split:
    """The regular poems split once, with a fixed seed: ``train`` to fit, ``valid`` to choose the checkpoint,
    ``test`` (held out, 留出) to measure. Every poem is in exactly one part."""

    train: tuple
    valid: tuple
    test: tuple


def split(poems=None, *, n_test=30, n_valid=15, seed=8):
    """The course's split of the regular (5- or 7-character) poems: a seeded permutation, test and validation
    poems first. With the defaults: 30 test, 15 validation, the rest (250 of the 295 regular poems) to train."""
    regular = [poem for poem in (load() if poems is None else poems) if poem.width]
    order = np.random.default_rng(seed).permutation(len(regular))
    pick = [regular[i] for i in order]
    return Split(train=tuple(pick[n_test + n_valid:]), valid=tuple(pick[n_test:n_test + n_valid]),
                 test=tuple(pick[:n_test]))


def shipped_file(name):
    """The path of a file shipped in coursekit/data (the checkpoints and result tables of notebook 08).
    Raises FileNotFoundError naming the script that writes it when it is missing."""
    resource = importlib.resources.files("coursekit.data") / name
    if not resource.is_file():
        raise FileNotFoundError(f"coursekit/data/{name} is missing; python benchmarks/train_tang_models.py writes it")
    return resource


def read_shipped_csv(name):
    """A CSV file shipped in coursekit/data as {column: 1D array}: "cell" and "device" as str, the rest as float64
    (an empty field, a measurement not made at that step, is nan)."""
    import csv

    with shipped_file(name).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    text = ("cell", "device")
    return {key: np.array([row[key] for row in rows], dtype=str) if key in text
            else np.array([float(row[key]) if row[key] != "" else np.nan for row in rows]) for key in rows[0]}
