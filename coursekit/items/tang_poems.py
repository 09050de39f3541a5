"""Graded items of notebook 08-tang-poems: a GRU writes Tang poems.

- ``perplexity``: exp of the mean cross-entropy of next-token logits (torch tensors in, a number out);
- ``sample_next``: one token per row drawn at a temperature from a seeded torch.Generator (ids out);
- ``line_width_fraction``: the fraction of verse lines with punctuation in the right column (NumPy ids in).

Every target takes plain data (arrays, numbers; the logits arrive as torch tensors through the harness's
``tensors`` invoker) and returns numbers or an array of token ids, so the grader needs no model and no string.
torch is imported inside the functions that need it, so importing this module imports only NumPy.
"""

import numpy as np

from coursekit.checking import Case, Item
from coursekit.i18n import N_, Text
from coursekit.items.cases import F32

ASSIGNMENT = "08-tang-poems"


def _log_softmax(logits, axis=-1):
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ----------------------------------------------------------------------------------------------------------------
# perplexity(logits, targets)
# ----------------------------------------------------------------------------------------------------------------

def _target_log_probs(logits, targets, axis=-1):
    targets = np.asarray(targets)
    return _log_softmax(logits, axis)[np.arange(len(targets)), targets]


def perplexity_reference(logits, targets):
    """exp(-mean_t log softmax(logits[t])[targets[t]]): logits (N, V), targets (N,) ids -> a number >= 1."""
    return float(np.exp(-_target_log_probs(logits, targets).mean()))


def _perplexity_cases(rng, hidden):
    specs = [(N_("N=12 predictions, V=7 tokens"), 12, 7, 2.0, 0.0), (N_("N=V=9 (square logits)"), 9, 9, 1.0, 0.0)]
    if hidden:
        specs += [("N=1", 1, 5, 1.0, 0.0), ("V=2", 8, 2, 3.0, 0.0), ("N=300, V=40", 300, 40, 2.0, 0.0),
                  (N_("large logits (about 1000 each: exp overflows unless the maximum is subtracted)"), 6, 5, 2.0,
                   1000.0)]
    cases = [Case(label, (offset + scale * rng.standard_normal((N, V)), rng.integers(0, V, size=N)))
             for label, N, V, scale, offset in specs]
    if hidden:
        cases.append(Case(N_("float32 logits"), ((2 * rng.standard_normal((10, 6))).astype(np.float32),
                                             rng.integers(0, 6, size=10)), **F32))
    return cases


PERPLEXITY = Item(
    name="test_perplexity", target="perplexity", points=2, make_cases=_perplexity_cases,
    reference=perplexity_reference, invoker="tensors", keep_dtype=False,  # a summary number: any float will do
    mistakes=(
        (N_("the mean cross-entropy was returned; perplexity is its exponential, exp(mean cross-entropy)"),
         lambda logits, targets: float(-_target_log_probs(logits, targets).mean())),
        (N_("the raw logit of the target was taken as its log-probability; apply log_softmax over the vocabulary "
            "first"),
         lambda logits, targets: float(np.exp(-np.asarray(logits, dtype=np.float64)[np.arange(len(targets)),
                                                                                     targets].mean()))),
        (N_("the per-step values exp(cross-entropy) were averaged; perplexity is exp of the *mean* cross-entropy"),
         lambda logits, targets: float(np.exp(-_target_log_probs(logits, targets)).mean())),
        (N_("the cross-entropy was summed over the N predictions; take its mean"),
         lambda logits, targets: float(np.exp(-_target_log_probs(logits, targets).sum()))),
        (N_("the softmax was taken over the positions (dim 0); take it over the vocabulary, the last dimension"),
         lambda logits, targets: float(np.exp(-_target_log_probs(logits, targets, axis=0).mean()))),
        (N_("the most probable token was scored instead of the target (targets[t], the token that really came next)"),
         lambda logits, targets: float(np.exp(-_log_softmax(logits).max(axis=-1).mean()))),
    ),
)


# ----------------------------------------------------------------------------------------------------------------
# sample_next(logits, temperature, seed)
# ----------------------------------------------------------------------------------------------------------------

def _draw(probs, seed):
    """One draw per row of ``probs`` from a generator seeded with ``seed`` (the exercise's recipe)."""
    import torch

    return torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(int(seed)))[:, 0].numpy()


def sample_next_reference(logits, temperature, seed):
    """torch.multinomial(softmax(logits / temperature), 1, generator=torch.Generator().manual_seed(seed))[:, 0]."""
    import torch

    return _draw(torch.softmax(torch.as_tensor(logits) / temperature, dim=-1), seed)


def _sample_wrong(transform):
    def wrong(logits, temperature, seed):
        import torch

        return _draw(transform(torch.as_tensor(logits), temperature, torch), seed)
    return wrong


SAMPLE_MISTAKES = (
    (N_("the temperature had no effect: divide the logits by it before the softmax (dividing the probabilities "
        "changes nothing, torch.multinomial renormalises them)"),
     _sample_wrong(lambda x, T, torch: torch.softmax(x, dim=-1))),
    (N_("the logits were multiplied by the temperature; divide them (T < 1 sharpens, T > 1 flattens)"),
     _sample_wrong(lambda x, T, torch: torch.softmax(x * T, dim=-1))),
    (N_("the softmax was taken over the rows (dim 0); take it over the vocabulary, the last dimension"),
     _sample_wrong(lambda x, T, torch: torch.softmax(x / T, dim=0))),
)


def _expected_frequencies(logits, temperature):
    return np.exp(_log_softmax(np.asarray(logits, dtype=np.float64) / temperature))


def _validate_sample(case, output):
    logits, temperature, seed = case.args
    N, V = logits.shape
    out = np.asarray(output)
    if out.shape == (N, 1):
        return Text("output has shape {shape}; expected ({N},): one token id per row (squeeze the sample axis)",
                    shape=out.shape, N=N)
    if out.shape != (N,):
        return Text("output has shape {shape}; expected ({N},), one token id per row of logits", shape=out.shape,
                    N=N)
    if out.dtype.kind not in "iu":
        return Text("output has dtype {dtype}; expected integer token ids", dtype=out.dtype)
    if out.min() < 0 or out.max() >= V:
        return Text("output holds ids outside 0..{last}", last=V - 1)
    expected = sample_next_reference(logits, temperature, seed)
    if np.array_equal(out, expected):
        return None
    if np.array_equal(out, logits.argmax(axis=-1)):
        return N_("every row got its most probable token (argmax): that is greedy decoding, not sampling. Draw "
                  "with torch.multinomial from softmax(logits / temperature)")
    for diagnosis, wrong in SAMPLE_MISTAKES:
        if np.array_equal(out, wrong(logits, temperature, seed)):
            return Text("the draws differ from the expected ones.\nMost likely: {diagnosis}",
                        diagnosis=Text(diagnosis))
    # Not the expected draws: say whether at least the distribution is right (rows of the same logits pooled).
    rows, groups = np.unique(logits, axis=0, return_inverse=True)
    worst = 0.0
    for g, row in enumerate(rows):
        picked = out[groups.ravel() == g]
        p = _expected_frequencies(row, temperature)
        f = np.bincount(picked, minlength=V) / len(picked)
        worst = max(worst, float(np.max(np.abs(f - p) / np.sqrt(p * (1 - p) / len(picked) + 1e-12))))
    if worst < 5.0:
        return N_("the draws follow softmax(logits / temperature), but they are not the draws of this seed. Draw "
                  "with torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed)) (no "
                  "replacement=True, the logits' own dtype), so that a seed always gives the same poem")
    return Text("the draws do not follow softmax(logits / temperature): some token's frequency is "
                "{worst:.0f} standard deviations from its probability", worst=worst)


def _sample_cases(rng, hidden):
    specs = [(N_("temperature 0.8, two distributions over V=6 tokens"), 6, 0.8, 2.0, 0.0, 3000),
             (N_("temperature 1.5, V=10"), 10, 1.5, 2.0, 0.0, 3000)]
    if hidden:
        specs += [(N_("temperature 1.0"), 5, 1.0, 2.0, 0.0, 2000),
                  (N_("temperature 3.0 (flat)"), 8, 3.0, 1.0, 0.0, 2000),
                  (N_("one row"), 12, 0.7, 2.0, 0.0, 1),
                  (N_("temperature 0.05 with logits around 40: exp(logits / T) alone overflows"), 6, 0.05, 0.2, 40.0,
                   1000)]
    cases = []
    for label, V, T, scale, offset, n_rows in specs:
        rows = offset + scale * rng.standard_normal((2, V))
        logits = np.ascontiguousarray(rows[np.arange(n_rows) % 2])  # the two distributions alternate
        cases.append(Case(label, (logits, T, int(rng.integers(0, 2**31)))))
    if hidden:
        rows = rng.standard_normal((2, 7)).astype(np.float32)
        cases.append(Case(N_("float32 logits"), (np.ascontiguousarray(rows[np.arange(2000) % 2]), 0.9,
                                             int(rng.integers(0, 2**31)))))
    return cases


SAMPLE_NEXT = Item(
    name="test_sample_next", target="sample_next", points=2, make_cases=_sample_cases,
    validate=_validate_sample, invoker="tensors",
)


# ----------------------------------------------------------------------------------------------------------------
# line_width_fraction(ids, punctuation_ids, width)
# ----------------------------------------------------------------------------------------------------------------

def _line_lengths(ids, marks, *, trailing=False, include_mark=False, skip_empty=False):
    ids = np.asarray(ids)
    ends = np.flatnonzero(np.isin(ids, marks))
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64) if ends.size else np.zeros(0, np.int64)
    lengths = ends - starts + (1 if include_mark else 0)
    if trailing and (ends.size == 0 or ends[-1] < len(ids) - 1):
        lengths = np.append(lengths, len(ids) - (ends[-1] + 1 if ends.size else 0))
    if skip_empty:
        lengths = lengths[lengths > (1 if include_mark else 0)]
    return lengths


def line_width_fraction_reference(ids, punctuation_ids, width):
    """Fraction of verse lines (runs of tokens ending at a mark, the mark not counted; an empty run between two
    marks is a line of 0) whose length is ``width``. Tokens after the last mark are no line; no line gives 0.0."""
    lengths = _line_lengths(ids, punctuation_ids)
    return float(np.mean(lengths == width)) if lengths.size else 0.0


def _fraction(lengths, width):
    return float(np.mean(lengths == width)) if lengths.size else 0.0


def _absolute_columns(ids, marks, width):
    positions = np.flatnonzero(np.isin(ids, marks))
    return float(np.mean(positions % (width + 1) == width)) if positions.size else 0.0


LINE_WIDTH_MISTAKES = (
    (N_("the characters after the last mark were counted as a line; a text cut off mid-line has no last line yet"),
     lambda ids, marks, w: _fraction(_line_lengths(ids, marks, trailing=True), w)),
    (N_("the mark was counted in the line's length; a line of width 5 has 5 characters before its mark"),
     lambda ids, marks, w: _fraction(_line_lengths(ids, marks, include_mark=True), w)),
    (N_("two marks in a row were skipped; they make an empty line (0 characters), which is a wrong line"),
     lambda ids, marks, w: _fraction(_line_lengths(ids, marks, skip_empty=True), w)),
    (N_("marks were checked at fixed columns of the whole text (positions width, 2*width + 1, ...); after one wrong "
        "line every later one is shifted: measure each line from the mark before it"),
     _absolute_columns),
    (N_("only the first punctuation id was treated as a mark; any of punctuation_ids ends a line"),
     lambda ids, marks, w: _fraction(_line_lengths(ids, np.asarray(marks)[:1]), w)),
    (N_("the number of right lines was returned; return the fraction (right lines / all lines)"),
     lambda ids, marks, w: float(np.sum(_line_lengths(ids, marks) == w))),
)


def _verse_ids(rng, widths, marks, tail, n_chars=30):
    """Token ids of lines of the given widths, each closed by one of ``marks``, then ``tail`` unclosed characters.
    Character ids are 5 .. n_chars + 4, the marks' ids lie below 5."""
    parts = []
    for w in widths:
        parts += list(rng.integers(5, 5 + n_chars, size=w)) + [int(rng.choice(marks))]
    parts += list(rng.integers(5, 5 + n_chars, size=tail))
    return np.array(parts, dtype=np.int64)


def _line_width_cases(rng, hidden):
    two, three = np.array([2, 3]), np.array([2, 3, 4])
    specs = [  # label, line widths, marks, trailing characters, width
        (N_("5-character verse, two lines wrong, cut off mid-line"), [5, 5, 6, 5, 4, 5, 5, 5], two, 3, 5),
        (N_("7-character verse, a doubled mark (an empty line), three kinds of mark"), [7, 7, 0, 7, 8, 7, 7], three,
         2, 7),
    ]
    if hidden:
        specs += [(N_("every line right, nothing after the last mark"), [5, 5, 5, 5], two, 0, 5),
                  (N_("no mark at all"), [], two, 9, 7),
                  (N_("starts with a mark"), [0, 7, 7, 7], two, 0, 7),
                  (N_("a long sample"), list(rng.choice([4, 5, 5, 5, 6, 0], size=40)), three, 4, 5),
                  (N_("only one line, wrong"), [6], two, 0, 5)]
    return [Case(label, (_verse_ids(rng, widths, marks, tail), marks, width))
            for label, widths, marks, tail, width in specs]


LINE_WIDTH_FRACTION = Item(
    name="test_line_width_fraction", target="line_width_fraction", points=2, make_cases=_line_width_cases,
    reference=line_width_fraction_reference, mistakes=LINE_WIDTH_MISTAKES,
)

ITEMS = (PERPLEXITY, SAMPLE_NEXT, LINE_WIDTH_FRACTION)
