"""A corpus of learner implementations of every graded function: wrong ones, each with the cause its check must
name, and unusual right ones, which must pass. One module per notebook, each with a list ``ENTRIES``.

Written the way learners write them (NumPy only where NumPy is asked; own helpers; the mistakes seen in
practice), not derived from the items' own mistake implementations.
"""

import dataclasses
import importlib
from typing import Callable, Optional

MODULES = ("gru_concept", "gru_numpy", "gru_backprop", "torch_gru", "bigru", "vanishing_gradients", "parallel_gru",
           "held_out")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One implementation: ``cause`` is a phrase its failure must contain (None: a right answer). ``held_out``:
    written after the checks were final and never used to tune them; only its failing is asserted."""

    assignment: str
    item: str
    label: str
    fn: Callable
    cause: Optional[str] = None
    held_out: bool = False


def entries():
    """Every entry of every module, in order."""
    out = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"learner_corpus.{name}")
        except ModuleNotFoundError as exc:  # a notebook without a corpus yet
            if exc.name != f"learner_corpus.{name}":
                raise
            continue
        out.extend(module.ENTRIES)
    return out
