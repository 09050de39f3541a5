"""``python -m i18n {update,status,build} [ASSIGNMENT ...]``, run at the repository root.

- ``update``: extract the English notebooks' text into their catalogs (i18n/zh_CN/<id>.po); changed English
  becomes fuzzy, new English an empty entry. Without assignments: every notebook that has a catalog. Naming an
  assignment without one starts its catalog.
- ``status``: translated, fuzzy and untranslated entries per notebook, and the notebooks without a catalog;
  ``--list`` prints the English of what is left.
- ``build``: write solutions-zh/ and course-zh/ (``python -m autograder release`` does this too).
- ``messages``: extract the messages marked ``Text("...")`` / ``N_("...")`` in coursekit/ and autograder/ into
  i18n/zh_CN/coursekit.po (changed English becomes fuzzy) and compile it for coursekit.i18n (i18n/messages.py);
  ``status`` reports it as "messages".
"""

import argparse
import sys
from pathlib import Path

from i18n import catalogs, editions


def _assignments(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())


def cmd_update(args) -> int:
    root = Path(args.root)
    names = args.assignments or editions.translated_assignments(root, args.language)
    for name in names:
        path, state = catalogs.update(root, name, args.language)
        print(f"{path.relative_to(root)}: {state.translated}/{state.total} translated, {len(state.fuzzy)} fuzzy, "
              f"{len(state.untranslated)} untranslated")
    return 0


def cmd_status(args) -> int:
    root = Path(args.root)
    incomplete = 0
    for name in args.assignments or _assignments(root):
        state = catalogs.status(root, name, args.language)
        if state is None:
            print(f"{name}: not translated (no {catalogs.catalog_path(root, name, args.language).relative_to(root)})")
            continue
        incomplete += not state.complete
        print(f"{name}: {state.translated}/{state.total} translated, {len(state.fuzzy)} fuzzy, "
              f"{len(state.untranslated)} untranslated" + (f", {len(state.stale)} stale (run update)"
                                                            if state.stale else ""))
        if args.list:
            for label, msgids in (("fuzzy", state.fuzzy), ("untranslated", state.untranslated)):
                for msgid in msgids:
                    print(f"  {label}: {msgid[:150]}")
    if not args.assignments:
        incomplete += not _messages_status(root, args)
    return 1 if incomplete else 0


def _messages_status(root: Path, args) -> bool:
    """Print the state of the message catalog (check messages, feedback, figure labels); True when complete."""
    from i18n import messages
    state = messages.status(root, args.language)
    translated = state.total - len(state.untranslated) - len(state.fuzzy)
    notes = [f"{len(state.not_extracted)} marked in the source but not extracted"] if state.not_extracted else []
    notes += [] if state.mo_current else ["the .mo is not the catalog compiled"]
    print(f"messages: {translated}/{state.total} translated, {len(state.fuzzy)} fuzzy, {len(state.untranslated)} "
          "untranslated" + (f" ({'; '.join(notes)}: run `python -m i18n messages`)" if notes else ""))
    if args.list:
        for label, msgids in (("fuzzy", state.fuzzy), ("untranslated", state.untranslated),
                              ("not extracted", state.not_extracted)):
            for msgid in msgids:
                print(f"  {label}: {msgid[:150]}")
    return state.complete


def cmd_build(args) -> int:
    from autograder.release import ReleaseRefused
    try:
        built = editions.build(Path(args.root), args.assignments, args.language, force=args.force)
    except (ReleaseRefused, RuntimeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for item in built:
        note = f" ({item.untranslated} units still in English)" if item.untranslated else ""
        print(f"released {item.instructor.parent}{note}")
        print(f"released {item.student.parent}")
    return 0


def cmd_messages(args) -> int:
    from i18n import messages
    root = Path(args.root)
    path = messages.update(root, args.language)
    state = catalogs.read(path)
    entries = [m for m in state if m.id]
    done = sum(1 for m in entries if m.string and not m.fuzzy)
    compiled = messages.compile(root, args.language)
    print(f"{path.relative_to(root)}: {done}/{len(entries)} translated"
          + (f"; compiled {compiled.relative_to(root)}" if compiled else "; nothing to compile"))
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m i18n", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    main.add_argument("--root", default=".", help="course root (default: the current folder)")
    main.add_argument("--language", default="zh_CN", choices=catalogs.LANGUAGES)
    commands = main.add_subparsers(dest="command", required=True)
    for name, run, text in (("update", cmd_update, "extract the English into the catalogs"),
                            ("status", cmd_status, "what is translated, fuzzy, missing"),
                            ("build", cmd_build, "write solutions-zh/ and course-zh/")):
        command = commands.add_parser(name, help=text)
        command.add_argument("assignments", nargs="*")
        command.set_defaults(run=run)
        if name == "status":
            command.add_argument("--list", action="store_true", help="print the English that is left")
        if name == "build":
            command.add_argument("--force", action="store_true",
                                 help="overwrite course-zh/ even where it holds a learner's work")
    messages = commands.add_parser("messages", help="the catalog of coursekit's and the autograder's messages")
    messages.set_defaults(run=cmd_messages)
    return main


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
