"""Memory on real verse, notebook 08: does a language model count the characters of a line, and how do its gates
show it? Functions of token ids and logits (NumPy), plus the GRU's gates read from a trained ``CharLM``.

- :func:`line_width_fraction`: the fraction of generated verse lines with punctuation in the right column;
- :func:`sampled_line_widths`: the same for poems a model writes after the first line of held-out poems;
- :func:`copied_line_fraction`: how many generated lines are recited from the training poems;
- :func:`line_positions`: for every token of a stream of poems, its verse line and column;
- :func:`punctuation_prediction`: on held-out poems, how well the next-token prediction places the marks;
- :func:`gru_gates`: the update and reset gates (更新门, 重置门) of a trained GRU over a sequence;
- :func:`gate_contrast`, :func:`auc`: which units open at punctuation or at line starts, and how reliably;
  :func:`event_masks` and :func:`strongest_units` pick them on the training poems and measure them on held-out ones.
"""

import dataclasses

import numpy as np

from coursekit.poetry import EOS_ID


def line_width_fraction(ids, punctuation_ids, width):
    """The fraction of verse lines of ``ids`` that hold exactly ``width`` characters.

    A verse line is the run of tokens before a punctuation mark (any of ``punctuation_ids``), the mark not counted;
    two marks in a row make an empty line (0 characters). Tokens after the last mark are no line (the text was
    cut off). No line at all gives 0.0.
    """
    ids = np.asarray(ids)
    ends = np.flatnonzero(np.isin(ids, punctuation_ids))
    if ends.size == 0:
        return 0.0
    starts = np.concatenate([[0], ends[:-1] + 1])
    return float(np.mean(ends - starts == width))


def sampled_line_widths(model, vocab, poems, *, n_lines=7, temperature=0.8, seeds=(0, 1), device="cpu"):
    """The model continues the first verse line (with its mark) of each poem for ``n_lines`` more lines' worth of
    characters (n_lines * (width + 1), never ``<eos>``), once per seed; returns the fraction of the generated lines
    whose width is the poem's (5 or 7), pooled over poems and seeds, and the samples as (prompt, text) pairs."""
    from coursekit.poetry import generate

    right = total = 0
    samples = []
    for poem in poems:
        prompt = poem.text[:poem.width + 1]
        for seed in seeds:
            text = generate(model, vocab, prompt, max_chars=n_lines * (poem.width + 1), temperature=temperature,
                            seed=seed, stop_at_eos=False, device=device)
            ids = vocab.encode(text)
            lines = int(np.isin(ids, vocab.punctuation_ids).sum())
            right += round(line_width_fraction(ids, vocab.punctuation_ids, poem.width) * lines)
            total += lines
            samples.append((prompt, text))
    return (right / total if total else 0.0), samples


def copied_line_fraction(texts, poems):
    """The fraction of the verse lines of ``texts`` (generated strings) that appear, whole, as a line of one of
    ``poems``: how much of what a model writes it recites from memory. 0.0 when the texts hold no line."""
    from coursekit.tang300 import verse_lines

    known = {line for poem in poems for line in verse_lines(poem.text)}
    lines = [line for text in texts for line in verse_lines(text)]
    return sum(line in known for line in lines) / len(lines) if lines else 0.0


@dataclasses.dataclass(frozen=True)
class Positions:
    """For each token of a stream: ``line`` (0 = first verse line of its poem, -1 for ``<eos>``), ``column``
    (0 = first character of its line; a mark has column = the line's length), ``is_mark``."""

    line: np.ndarray
    column: np.ndarray
    is_mark: np.ndarray


def line_positions(stream, punctuation_ids):
    """Verse line and column of every token of a stream ``<eos>`` poem ``<eos>`` poem ... (see :class:`Positions`)."""
    stream = np.asarray(stream)
    is_mark = np.isin(stream, punctuation_ids)
    line = np.full(len(stream), -1)
    column = np.full(len(stream), -1)
    current_line = current_column = 0
    for t, token in enumerate(stream):
        if token == EOS_ID:
            current_line = current_column = 0
            continue
        line[t], column[t] = current_line, current_column
        if is_mark[t]:
            current_line, current_column = current_line + 1, 0
        else:
            current_column += 1
    return Positions(line, column, is_mark)


def punctuation_prediction(logits, stream, punctuation_ids, *, skip_first_line=True):
    """How well next-token predictions place the punctuation of held-out poems.

    logits (N - 1, V) predict stream[1:]. The model "predicts a mark" at a step when the marks together get more
    probability than one half. Over the target tokens that are characters or marks (not ``<eos>``), and with
    ``skip_first_line`` only from the second verse line of each poem on (in the first line a model cannot know yet
    whether the poem has 5 or 7 characters a line), returns a dict:

    - ``mark_recall``: fraction of the true marks where a mark was predicted (the column was right);
    - ``false_marks``: fraction of the true characters where a mark was predicted;
    - ``accuracy``: fraction of all those steps where "mark or not" was right;
    - ``which_mark``: among the true marks, fraction where the most probable token is exactly the true mark
      ("，" inside a couplet, "。" at its end: the model must also count lines);
    - ``n_marks``, ``n_chars``: how many steps of each kind were scored.
    """
    stream = np.asarray(stream)
    logits = np.asarray(logits, dtype=np.float64)
    targets = stream[1:]
    positions = line_positions(stream, punctuation_ids)
    keep = positions.line[1:] >= (1 if skip_first_line else 0)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    predicted_mark = probs[:, punctuation_ids].sum(axis=-1) > 0.5
    true_mark = positions.is_mark[1:]
    marks, chars = keep & true_mark, keep & ~true_mark
    return {"mark_recall": float(predicted_mark[marks].mean()), "false_marks": float(predicted_mark[chars].mean()),
            "accuracy": float((predicted_mark == true_mark)[keep].mean()),
            "which_mark": float((logits.argmax(axis=-1) == targets)[marks].mean()),
            "n_marks": int(marks.sum()), "n_chars": int(chars.sum())}


def gru_gates(model, ids):
    """The reset and update gates of ``model`` (a GRU ``CharLM``) reading ``ids`` from a zero state:
    {"r": (T, H), "z": (T, H)}, row t after reading ids[t]. Computed with the NumPy reference GRU
    (:mod:`coursekit.gru`) from the model's own weights in float64, so nothing is hidden inside nn.GRU."""
    import torch

    from coursekit import gru

    if model.cell != "gru":
        raise ValueError(f"gates are read from a GRU model, this one is {model.cell!r}")
    params = {k: v.astype(np.float64) for k, v in gru.params_from_torch(model.rnn).items()}
    with torch.no_grad():
        xs = model.embed(torch.as_tensor(np.asarray(ids))).double().numpy()[:, None, :]
    _, (_, steps, _, _) = gru.forward(xs, np.zeros((1, model.rnn.hidden_size)), params)
    # each step's cache is (h_prev, r, z, n, u, gh_n), batch of one
    return {"r": np.stack([step[1][0] for step in steps]), "z": np.stack([step[2][0] for step in steps])}


def gate_contrast(gate, mask):
    """Per unit: mean of ``gate`` (T, H) at the steps where ``mask`` (T,) is True minus its mean elsewhere."""
    mask = np.asarray(mask, dtype=bool)
    return gate[mask].mean(axis=0) - gate[~mask].mean(axis=0)


def auc(scores, labels):
    """Area under the ROC curve: the probability that a random positive step scores higher than a random negative
    one (ties count half). 0.5 is chance, 1.0 a perfect detector, 0.0 a perfect detector of the opposite."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    pos, neg = scores[labels], scores[~labels]
    order = np.sort(neg)
    below = np.searchsorted(order, pos, side="left")
    equal = np.searchsorted(order, pos, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(pos) * len(neg)))


def event_masks(stream, punctuation_ids):
    """Boolean masks over the steps of a stream, by the token the model *reads* at that step: "mark" (a
    punctuation mark), "line start" (the first character of a verse line), and "text" (any character or mark,
    i.e. not ``<eos>``; the other two are subsets of it)."""
    positions = line_positions(stream, punctuation_ids)
    text = positions.line >= 0
    return {"mark": text & positions.is_mark, "line start": text & ~positions.is_mark & (positions.column == 0),
            "text": text}


@dataclasses.dataclass(frozen=True)
class GateUnit:
    """The unit of one gate that reacts most to one event: chosen on the training poems, measured on held-out ones.

    direction +1: the gate rises at the event, -1: it falls. test_auc: on held-out poems, how well ``direction *
    gate`` of this unit alone tells the event's steps from the other steps (0.5 chance, 1.0 perfect).
    """

    gate: str
    event: str
    unit: int
    direction: int
    train_contrast: float
    test_mean_at_event: float
    test_mean_elsewhere: float
    test_auc: float


def strongest_units(model, train_stream, test_stream, punctuation_ids, *, gates=("z", "r"),
                    events=("mark", "line start")):
    """For each gate and event, the unit with the largest |mean at the event - mean elsewhere| on the training
    stream, and its measurements on the test stream (a list of :class:`GateUnit`). Choosing on one set and
    measuring on another keeps the selection from flattering the result."""
    train_gates, test_gates = gru_gates(model, train_stream), gru_gates(model, test_stream)
    train_masks, test_masks = event_masks(train_stream, punctuation_ids), event_masks(test_stream, punctuation_ids)
    found = []
    for gate in gates:
        for event in events:
            text = train_masks["text"]
            contrast = gate_contrast(train_gates[gate][text], train_masks[event][text])
            unit = int(np.argmax(np.abs(contrast)))
            direction = 1 if contrast[unit] > 0 else -1
            text = test_masks["text"]
            values, labels = test_gates[gate][text, unit], test_masks[event][text]
            found.append(GateUnit(gate, event, unit, direction, float(contrast[unit]), float(values[labels].mean()),
                                  float(values[~labels].mean()), auc(direction * values, labels)))
    return found
