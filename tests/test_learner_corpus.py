"""The learner corpus (tests/learner_corpus): every wrong answer fails its public check with its likely cause
named, every right answer passes both checks, and whatever passes the public check passes the hidden one."""

import pytest

from coursekit import items
from learner_corpus import entries

ENTRIES = entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.item}-{e.label}" for e in ENTRIES])
def test_corpus_entry(entry, expect_pass, expect_failure):
    item = items.get(entry.assignment, entry.item)
    if entry.cause is None:
        expect_pass(item, entry.fn)
        return
    message = expect_failure(item, entry.fn, *(() if entry.held_out else (entry.cause,)))
    assert len(message.splitlines()) <= 4, message  # a few lines: what, the likely cause, nothing else
    expect_failure(item, entry.fn, hidden=True)  # and never passes at grading
