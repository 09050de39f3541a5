"""Translated editions of the course from one source: the English notebooks of solutions/ and gettext catalogs.

- ``i18n.segments``: a cell cut into translation units (markdown paragraphs, list items, table cells, comments,
  docstring paragraphs) and put back together;
- ``i18n.placeholders``: what a translation must keep (math, code spans, numbers, quotations of the seed);
- ``i18n.catalogs``: the PO files, i18n/<language>/<assignment>.po, read, merged and written with Babel;
- ``i18n.editions``: solutions-zh/ and course-zh/ generated from them (the latter by nbgrader).

Run ``python -m i18n --help`` at the repository root. The README's "Chinese edition" section is the guide.
"""
