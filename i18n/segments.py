"""Cut a notebook cell into translation units, and put translations back.

A unit is one stretch of English prose: a markdown paragraph, heading, list item, table cell or block quote, a code
comment (a block of full-line comments or one trailing comment), a paragraph of a docstring, or a markdown unit of
a string that a code cell shows with ``Markdown(r"...")`` (the "Go further" model answers). Everything else in
a cell (display math, code, table rules, list markers, indentation) is never part of a unit, so a translation
cannot change it.

A unit's ``msgid`` is its text with the line breaks of the source folded into spaces: re-wrapping an English
paragraph does not invalidate its translation. A translation replaces the unit's span of the source; a line break
in a translation continues with the unit's ``joiner`` (for a comment block: a new comment line at the same
indentation; for a list item: the item's indentation).
"""

import ast
import dataclasses
import io
import re
import tokenize
from typing import Callable, Optional

# nbgrader's markers and stubs stay as they are: nbgrader and the autograder look for them.
_KEPT_COMMENTS = re.compile(r"#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)|#\s*YOUR CODE HERE|#\s*noqa|#!|#\s*type:")
MATH_SPAN = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])(\s+)(?=\S)")
_HEADING = re.compile(r"^(#{1,6})(\s+)(?=\S)")
_TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*\|?\s*$")


@dataclasses.dataclass(frozen=True)
class Unit:
    """One translatable stretch of a cell: the source's characters ``start:end`` hold it."""

    msgid: str
    kind: str  # "heading", "paragraph", "item", "table", "quote", "comment", "docstring", or "Markdown() item" etc.
    start: int
    end: int
    joiner: str  # what a line break of the translation becomes


def fold(text: str) -> str:
    """The msgid of a stretch of source: lines stripped and joined by single spaces."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def strip_literals(text: str) -> str:
    """``text`` without its math ($...$, $$...$$) and code (`...`) spans."""
    return CODE_SPAN.sub(" ", MATH_SPAN.sub(" ", text))


def is_prose(text: str) -> bool:
    """Whether ``text`` holds an English word outside math and code (a table cell "$W_{ir} = 1$" does not)."""
    return re.search(r"[A-Za-z]{2,}", strip_literals(text)) is not None


# ---------------------------------------------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------------------------------------------

def _starts_block(line: str) -> bool:
    """Whether a line begins a markdown block other than a paragraph's continuation."""
    stripped = line.strip()
    return (not stripped or stripped.startswith(("$$", "|", ">", "```", "~~~")) or bool(_HEADING.match(stripped))
            or bool(_LIST_ITEM.match(line)))


def _span(lines, offsets, first, last, column):
    """Character span from ``column`` of line ``first`` to the end of line ``last`` (its newline excluded)."""
    end_line = lines[last].rstrip("\n").rstrip()
    return offsets[first] + column, offsets[last] + len(end_line)


def _table_units(line, offset):
    """One unit per prose cell of a table row; a pipe inside math or code does not split a cell."""
    units, body = [], line.rstrip("\n")
    masked = CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), MATH_SPAN.sub(lambda m: "x" * len(m.group(0)), body))
    pipes = [i for i, ch in enumerate(masked) if ch == "|" and (i == 0 or masked[i - 1] != "\\")]
    bounds = list(zip(pipes, pipes[1:]))
    if pipes and pipes[-1] < len(body.rstrip()) - 1:  # a row without its closing pipe
        bounds.append((pipes[-1], len(body)))
    for left, right in bounds:
        text = body[left + 1:right]
        if not is_prose(text):
            continue
        lead = len(text) - len(text.lstrip())
        units.append(Unit(fold(text), "table", offset + left + 1 + lead, offset + left + 1 + len(text.rstrip()), " "))
    return units


def markdown_units(source: str) -> list[Unit]:
    """The units of a markdown cell, in order."""
    lines = source.splitlines(keepends=True)
    offsets, total = [], 0
    for line in lines:
        offsets.append(total)
        total += len(line)
    units, i = [], 0

    def add(kind, first, last, column, joiner):
        start, end = _span(lines, offsets, first, last, column)
        text = source[start:end]
        if kind == "quote":
            text = "\n".join(re.sub(r"^\s*>\s?", "", line) for line in text.splitlines())
        if is_prose(text):
            units.append(Unit(fold(text), kind, start, end, joiner))

    while i < len(lines):
        line = lines[i].rstrip("\n")
        stripped = line.strip()
        if not stripped:
            i += 1
        elif stripped.startswith(("```", "~~~")):  # fenced code: kept
            fence, i = stripped[:3], i + 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                i += 1
            i += 1
        elif stripped.startswith("$$"):  # display math: kept
            closed = stripped.count("$$") >= 2
            i += 1
            while not closed and i < len(lines):
                closed, i = "$$" in lines[i], i + 1
        elif _HEADING.match(stripped):
            match = _HEADING.match(line.lstrip())
            add("heading", i, i, len(line) - len(line.lstrip()) + match.end(), " ")
            i += 1
        elif stripped.startswith("|"):
            if not _TABLE_RULE.match(line):
                units.extend(_table_units(lines[i], offsets[i]))
            i += 1
        elif stripped.startswith(">"):
            first = i
            while i + 1 < len(lines) and lines[i + 1].strip().startswith(">") and lines[i + 1].strip() != ">":
                i += 1
            column = len(line) - len(line.lstrip()) + 1
            column += 1 if line.lstrip()[1:2] == " " else 0
            add("quote", first, i, column, "\n> ")
            i += 1
            while i < len(lines) and lines[i].strip() == ">":  # an empty quote line between two quoted paragraphs
                i += 1
        elif _LIST_ITEM.match(line):
            match, first = _LIST_ITEM.match(line), i
            while i + 1 < len(lines) and not _starts_block(lines[i + 1]):
                i += 1
            add("item", first, i, match.end(), "\n" + " " * match.end())
            i += 1
        else:
            first = i
            while i + 1 < len(lines) and not _starts_block(lines[i + 1]):
                i += 1
            add("paragraph", first, i, len(line) - len(line.lstrip()), "\n")
            i += 1
    return units


# ---------------------------------------------------------------------------------------------------------------
# code: comments and docstrings
# ---------------------------------------------------------------------------------------------------------------

def _masked(source: str) -> str:
    """The cell with IPython's magic and shell lines blanked (same line count), so that Python can read it."""
    return "".join("\n" if line.lstrip().startswith(("%", "!")) else line
                   for line in source.splitlines(keepends=True))


def _body_column(comment: str) -> int:
    """Where the text of a comment token begins: after its hashes and one space."""
    hashes = len(comment) - len(comment.lstrip("#"))
    return hashes + (1 if comment[hashes:hashes + 1] == " " else 0)


def _comment_units(source: str, offsets: list[int]) -> list[Unit]:
    tokens = []
    try:  # the comments before a point Python cannot read (an unclosed bracket) still count
        for token in tokenize.generate_tokens(io.StringIO(_masked(source)).readline):
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    lines = source.splitlines(keepends=True)
    units, block = [], []  # block: consecutive full-line comments at one column: [(row, col, token text)]

    def flush():
        if block:
            text = "\n".join(token[_body_column(token):] for _, _, token in block)
            (row, col, token), (last_row, last_col, last_token) = block[0], block[-1]
            start = offsets[row - 1] + col + _body_column(token)
            end = offsets[last_row - 1] + last_col + len(last_token.rstrip())
            if is_prose(text):
                units.append(Unit(fold(text), "comment", start, end, "\n" + " " * col + "# "))
            block.clear()

    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        row, col = token.start
        text = token.string
        if _KEPT_COMMENTS.match(text.strip()):
            flush()
            continue
        full_line = not lines[row - 1][:col].strip()
        if full_line and block and block[-1][0] == row - 1 and block[-1][1] == col:
            block.append((row, col, text))
            continue
        flush()
        if full_line:
            block.append((row, col, text))
        else:
            start = offsets[row - 1] + col + _body_column(text)
            end = offsets[row - 1] + col + len(text.rstrip())
            body = source[start:end]
            if is_prose(body):
                units.append(Unit(fold(body), "comment", start, end, "\n" + " " * col + "# "))
    flush()
    return units


def _char_offset(lines: list[str], offsets: list[int], row: int, byte_col: int) -> int:
    """ast's (1-based row, UTF-8 byte column) as a character offset into the cell."""
    line = lines[row - 1]
    return offsets[row - 1] + len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _nodes(source: str):
    """Every node of the cell's Python (magics masked); none when it does not parse."""
    try:
        return list(ast.walk(ast.parse(_masked(source))))
    except SyntaxError:
        return []


def _docstring_units(source: str, offsets: list[int]) -> list[Unit]:
    lines = source.splitlines(keepends=True)
    units = []
    for node in _nodes(source):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        first = node.body[0] if node.body else None
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            continue
        start = _char_offset(lines, offsets, first.value.lineno, first.value.col_offset)
        end = _char_offset(lines, offsets, first.value.end_lineno, first.value.end_col_offset)
        literal = source[start:end]
        quote = re.match(r"[rRuU]?(\"\"\"|'''|\"|')", literal)
        if not quote:
            continue
        inner_start, inner_end = start + quote.end(), end - len(quote.group(1))
        indent = " " * first.col_offset
        position = inner_start
        for paragraph in re.split(r"(\n[ \t]*\n)", source[inner_start:inner_end]):
            text = paragraph.strip()
            if text and not paragraph.startswith("\n"):
                lead = len(paragraph) - len(paragraph.lstrip())
                if is_prose(text):
                    units.append(Unit(fold(text), "docstring", position + lead,
                                      position + lead + len(paragraph.strip()), "\n" + indent))
            position += len(paragraph)
    return units


# A string that a code cell shows as Markdown is prose: the notebooks keep the model answers of "Go further" in a
# solution region as ``return Markdown(r"""...""")`` (nbgrader removes them from the student version like any
# solution code), and the reader sees them rendered. The call's name is the marker: IPython.display.Markdown.
_MARKDOWN_CALL = "Markdown"
_STRING_LITERAL = re.compile(r"""([rR]?)("{3}|'{3}|"|')(.*)\2""", re.S)


def _markdown_string_units(source: str, offsets: list[int]) -> list[Unit]:
    """The markdown units (kind "Markdown() paragraph", ...) of every ``Markdown(...)`` call whose only argument is
    one raw or plain string literal, cut like a markdown cell. Left alone: a non-raw literal with a backslash (its
    source is not the text shown), an f-string, a concatenation, a variable. A translation replaces text inside the
    literal, so it must not hold the literal's quotes (the drift test tokenizes every translated code cell)."""
    lines = source.splitlines(keepends=True)
    units = []
    for node in _nodes(source):
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        argument = node.args[0]
        if name != _MARKDOWN_CALL or not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
            continue
        start = _char_offset(lines, offsets, argument.lineno, argument.col_offset)
        end = _char_offset(lines, offsets, argument.end_lineno, argument.end_col_offset)
        literal = _STRING_LITERAL.fullmatch(source[start:end])
        if (not literal or literal.group(2) in literal.group(3)  # two literals, implicitly concatenated
                or (not literal.group(1) and "\\" in literal.group(3))):
            continue
        inner = start + literal.start(3)
        units += [dataclasses.replace(unit, kind=f"Markdown() {unit.kind}", start=inner + unit.start,
                                      end=inner + unit.end) for unit in markdown_units(literal.group(3))]
    return units


def code_units(source: str) -> list[Unit]:
    """The units of a code cell: its comments, docstring paragraphs and Markdown() strings, in order of position."""
    offsets, total = [], 0
    for line in source.splitlines(keepends=True):
        offsets.append(total)
        total += len(line)
    return sorted(_comment_units(source, offsets) + _docstring_units(source, offsets)
                  + _markdown_string_units(source, offsets), key=lambda u: u.start)


def cell_units(cell) -> list[Unit]:
    """The units of a notebook cell (none for raw cells)."""
    if cell.cell_type == "markdown":
        return markdown_units(cell.source)
    if cell.cell_type == "code":
        return code_units(cell.source)
    return []


def apply(source: str, units: list[Unit], translate: Callable[[str], Optional[str]]) -> tuple[str, list[str]]:
    """``source`` with every unit that ``translate`` knows replaced by its translation; returns the new source and
    the msgids that had none (kept in English)."""
    pieces, position, missing = [], 0, []
    for unit in sorted(units, key=lambda u: u.start):
        translation = translate(unit.msgid)
        if not translation:
            missing.append(unit.msgid)
            continue
        pieces.append(source[position:unit.start])
        pieces.append(unit.joiner.join(translation.split("\n")))
        position = unit.end
    pieces.append(source[position:])
    return "".join(pieces), missing
