"""How well the checks teach, measured over the learner corpus (tests/learner_corpus).

For every implementation, the public and the hidden check run in this process (as in a notebook). Reported:

- wrong answers named by their likely cause: the failure's message contains the cause the corpus expects;
- wrong answers passing both checks (target 0);
- public pass followed by a hidden failure (target 0), over every implementation;
- right answers refused by either check (target 0);
- the longest failure message, in lines.

The held-out entries (tests/learner_corpus/held_out.py) were written after the checks and not used to tune them;
their naming rate is reported on its own.

    python benchmarks/diagnosis_corpus.py            # the table, per notebook and in total
    python benchmarks/diagnosis_corpus.py --misses   # also every wrong answer whose cause was not named
"""

import argparse
import collections
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from coursekit import checking, items  # noqa: E402
from learner_corpus import entries  # noqa: E402


def message_of(item, fn, hidden):
    try:
        checking.check(item, fn, hidden=hidden, quiet=True)
    except AssertionError as exc:
        return str(exc)
    return None


def measure():
    rows = collections.defaultdict(collections.Counter)
    misses, longest = [], 0
    for entry in entries():
        item = items.get(entry.assignment, entry.item)
        public, hidden = message_of(item, entry.fn, False), message_of(item, entry.fn, True)
        row = rows[entry.assignment]
        row["public pass, hidden fail"] += public is None and hidden is not None
        for message in (public, hidden):
            longest = max(longest, len(message.splitlines()) if message else 0)
        if entry.cause is None:
            row["right"] += 1
            row["right refused"] += public is not None or hidden is not None
            continue
        row["wrong"] += 1
        row["wrong passing both"] += public is None and hidden is None
        named = public is not None and entry.cause in public
        row["wrong named"] += named
        if entry.held_out:
            rows["(held out)"]["wrong"] += 1
            rows["(held out)"]["wrong named"] += named
        if not named:
            misses.append((entry, public))
    return rows, misses, longest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print the wrong answers whose cause was not named")
    args = parser.parse_args()
    rows, misses, longest = measure()
    columns = ("wrong", "wrong named", "wrong passing both", "public pass, hidden fail", "right", "right refused")
    print(f"{'notebook':<24}" + "".join(f"{c:>26}" for c in columns))
    total = collections.Counter()
    for assignment in sorted(a for a in rows if a != "(held out)"):
        total.update(rows[assignment])
        print(f"{assignment:<24}" + "".join(f"{rows[assignment][c]:>26}" for c in columns))
    print(f"{'total':<24}" + "".join(f"{total[c]:>26}" for c in columns))
    held = rows["(held out)"]
    print(f"wrong answers named by their likely cause: {total['wrong named']}/{total['wrong']} = "
          f"{total['wrong named'] / max(total['wrong'], 1):.1%} (of them held out, written after the checks: "
          f"{held['wrong named']}/{held['wrong']}); longest failure message: {longest} lines")
    if args.misses:
        for entry, message in misses:
            print(f"\n{entry.item} / {entry.label}: expected {entry.cause!r}\n{message}")
    ok = (total["wrong passing both"] == 0 and total["public pass, hidden fail"] == 0 and total["right refused"] == 0
          and total["wrong named"] >= 0.9 * total["wrong"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
