"""A character-level language model (字符级语言模型) of Tang poems, notebook 08: vocabulary, training, generation.

- :class:`Vocabulary`, :func:`build_vocabulary`, :func:`encode_poems`: characters to token ids and back; every poem
  is preceded and followed by ``<eos>`` (id 0), rare and unseen characters become ``<unk>`` (id 1);
- :class:`CharLM` (built on first access, torch is imported lazily): embedding -> nn.GRU / nn.LSTM / nn.RNN ->
  linear read-out, ``model(ids (T, B), state) -> (logits (T, B, V), state)``;
- :func:`train_language_model`: truncated backpropagation through time (截断的时间反向传播) over one long stream,
  the state carried from chunk to chunk and detached, gradient clipping, the checkpoint kept at the best
  validation perplexity;
- :func:`perplexity`, :func:`stream_logits`, :func:`stream_perplexity`: how surprised the model is (困惑度);
- :func:`sample_next`, :func:`generate`, :func:`acrostic`: sampling with a temperature (温度) from seeded
  generators, and the acrostic poem (藏头诗);
- :func:`save_checkpoint`, :func:`load_checkpoint`: small float16 ``.npz`` files (no pickle).
"""

import dataclasses
import functools
import json
import math
import time

import numpy as np

from coursekit.tang300 import PUNCTUATION

EOS, UNK = "<eos>", "<unk>"
EOS_ID, UNK_ID = 0, 1
CELLS = ("gru", "lstm", "rnn")
GATE_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
MAX_STEPS = 1000
"""Generation draws step k with seed ``1000 * seed + k`` (see :func:`step_seed`), so at most 1000 steps."""


# ----------------------------------------------------------------------------------------------------------------
# Vocabulary (词表)
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """tokens[i] is the token of id i: ``<eos>``, ``<unk>``, then the characters."""

    tokens: tuple

    def __post_init__(self):
        if self.tokens[:2] != (EOS, UNK) or len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a vocabulary starts with <eos>, <unk> and holds each token once")

    @functools.cached_property
    def index(self):
        return {token: i for i, token in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def encode(self, text):
        """Token ids (int64) of the characters of ``text``; a character not in the vocabulary is ``<unk>``."""
        return np.array([self.index.get(char, UNK_ID) for char in text], dtype=np.int64)

    def decode(self, ids):
        """The text of ``ids``: ``<eos>`` shown as "|", ``<unk>`` as "□"."""
        shown = {EOS_ID: "|", UNK_ID: "□"}
        return "".join(shown.get(int(i), self.tokens[int(i)]) for i in ids)

    @functools.cached_property
    def punctuation_ids(self):
        """Ids of the punctuation marks that end verse lines (int64, sorted)."""
        return np.array(sorted(self.index[p] for p in PUNCTUATION if p in self.index), dtype=np.int64)

    @functools.cached_property
    def banned_in_lines(self):
        """Ids never written inside a verse line: ``<eos>``, ``<unk>`` and every punctuation mark."""
        return np.concatenate([[EOS_ID, UNK_ID], self.punctuation_ids]).astype(np.int64)


def build_vocabulary(texts, *, min_count=2):
    """The characters of ``texts`` seen at least ``min_count`` times (and every punctuation mark seen), most
    frequent first (ties in code-point order). min_count=2 turns the characters seen once into ``<unk>``, so that
    the model learns what to do with a character it does not know, as it will on held-out poems."""
    counts = {}
    for text in texts:
        for char in text:
            counts[char] = counts.get(char, 0) + 1
    kept = [c for c, n in counts.items() if n >= min_count or c in PUNCTUATION]
    return Vocabulary((EOS, UNK, *sorted(kept, key=lambda c: (-counts[c], c))))


def encode_poems(poems, vocab):
    """One stream of token ids: ``<eos>`` poem ``<eos>`` poem ... ``<eos>`` (poems: Poem records or strings)."""
    parts = [np.array([EOS_ID], dtype=np.int64)]
    for poem in poems:
        parts += [vocab.encode(getattr(poem, "text", poem)), np.array([EOS_ID], dtype=np.int64)]
    return np.concatenate(parts)


# ----------------------------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------------------------

def parameter_count(cell, vocab_size, embed_size, hidden_size):
    """Parameters of ``CharLM``: embedding V*E, recurrent blocks*H*(E + H + 2), read-out H*V + V."""
    H = hidden_size
    return (vocab_size * embed_size + GATE_BLOCKS[cell] * H * (embed_size + H + 2) + H * vocab_size
            + vocab_size)


def hidden_size_for(cell, n_params, vocab_size, embed_size):
    """The hidden size that brings ``CharLM(cell, ...)`` closest to ``n_params`` parameters."""
    sizes = range(1, 4096)
    return min(sizes, key=lambda H: abs(parameter_count(cell, vocab_size, embed_size, H) - n_params))


@functools.cache
def _char_lm_class():
    """Build the CharLM class once, on first use, so that importing this module does not import torch."""
    from torch import nn

    layers = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}

    class CharLM(nn.Module):
        """Embedding (嵌入) -> one recurrent layer -> dropout -> linear read-out over the vocabulary.

        ``model(ids, state=None)``: ids (T, B) int64 -> (logits (T, B, V), state); ``state`` is what the recurrent
        layer returns, h (1, B, H) for the GRU and the RNN, the pair (h, c) for the LSTM. Pass it back in to
        continue a sequence.
        """

        def __init__(self, cell, vocab_size, embed_size, hidden_size, *, dropout=0.0):
            super().__init__()
            if cell not in layers:
                raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
            self.cell = cell
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.rnn = layers[cell](embed_size, hidden_size)
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden_size, vocab_size)

        def forward(self, ids, state=None):
            output, state = self.rnn(self.drop(self.embed(ids)), state)
            return self.head(self.drop(output)), state

    CharLM.__module__ = __name__
    CharLM.__qualname__ = "CharLM"
    return CharLM


def __getattr__(name):
    # PEP 562: CharLM is built (and torch imported) on first access.
    if name == "CharLM":
        return _char_lm_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), "CharLM"])


def detach(state):
    """The recurrent state cut from its history (a tensor, or the LSTM's pair): truncated BPTT's ``detach``."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


# ----------------------------------------------------------------------------------------------------------------
# Training: truncated BPTT over one stream
# ----------------------------------------------------------------------------------------------------------------

def stream_batches(stream, batch_size, seq_len, offset=0):
    """Chunks (inputs (seq_len, B), targets (seq_len, B)) of ``stream[offset:]`` cut into B contiguous rows.

    Row b reads its part of the stream in order, chunk after chunk, so the state at the end of one chunk is the
    right start for the next (that is what lets truncated BPTT carry it over). The last, shorter chunk is dropped.
    """
    stream = np.asarray(stream)[offset:]
    n = (len(stream) - 1) // batch_size
    x = stream[:n * batch_size].reshape(batch_size, n).T
    y = stream[1:n * batch_size + 1].reshape(batch_size, n).T
    for start in range(0, n - seq_len + 1, seq_len):
        yield x[start:start + seq_len], y[start:start + seq_len]


@dataclasses.dataclass
class TrainingRun:
    """What :func:`train_language_model` did: the training loss of every step, the validation perplexity every
    ``eval_every`` steps, the best of those and its step, the perplexity of any extra streams at the same steps,
    and the training time (measurements included)."""

    cell: str
    steps: list
    train_loss: list
    eval_steps: list
    valid_perplexity: list
    best_step: int
    best_valid_perplexity: float
    seconds: float
    extra_perplexity: dict = dataclasses.field(default_factory=dict)
    eval_metrics: list = dataclasses.field(default_factory=list)


def train_language_model(model, train_stream, *, steps, valid_stream=None, batch_size=32, seq_len=64, lr=3e-3,
                         clip=1.0, seed=0, eval_every=100, keep_best=True, extra_streams=None, on_eval=None,
                         device="cpu", progress=None):
    """Train ``model`` (a CharLM) with Adam on ``train_stream`` for ``steps`` chunks.

    Truncated BPTT: the stream is read in chunks of ``seq_len`` steps; the state at the end of a chunk starts the
    next one but is ``detach``-ed, so gradients flow back at most ``seq_len`` steps. Each pass over the stream
    (an epoch) starts from a zero state at a seeded random offset, so chunk borders move between epochs. The total
    gradient norm is clipped to ``clip`` (梯度裁剪). When ``valid_stream`` is given, the validation perplexity is
    measured every ``eval_every`` steps and, with ``keep_best``, the weights of the best measurement are restored at
    the end (keep_best=False keeps the last weights: every model gets exactly the same budget).
    ``progress(step, loss, valid)`` is called at each measurement (e.g. to print). ``extra_streams`` ({name:
    stream}) are measured at the same steps, for the curves only (never to choose weights), and so is
    ``on_eval(step, model)``, whose dict of numbers goes into ``run.eval_metrics`` (it must leave the global random
    state alone, so that measuring does not change the training).
    """
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    run = TrainingRun(model.cell, [], [], [], [], -1, math.inf, 0.0)
    best_state, start, step = None, time.perf_counter(), 0
    while step < steps:
        state = None
        for inputs, targets in stream_batches(train_stream, batch_size, seq_len, int(rng.integers(seq_len))):
            model.train()
            inputs, targets = (torch.from_numpy(a).to(device) for a in (inputs, targets))
            logits, state = model(inputs, state)
            state = detach(state)  # keep the values, drop the graph: BPTT stops at the chunk border
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            step += 1
            run.steps.append(step)
            run.train_loss.append(loss.item())
            if valid_stream is not None and (step % eval_every == 0 or step == steps):
                valid = stream_perplexity(model, valid_stream, device=device)
                run.eval_steps.append(step)
                run.valid_perplexity.append(valid)
                for name, extra in (extra_streams or {}).items():
                    run.extra_perplexity.setdefault(name, []).append(stream_perplexity(model, extra, device=device))
                if on_eval is not None:
                    run.eval_metrics.append(on_eval(step, model))
                if valid < run.best_valid_perplexity:
                    run.best_step, run.best_valid_perplexity = step, valid
                    if keep_best:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if progress is not None:
                    progress(step, loss.item(), valid)
            if step == steps:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    run.seconds = time.perf_counter() - start
    return run


# ----------------------------------------------------------------------------------------------------------------
# Perplexity (困惑度)
# ----------------------------------------------------------------------------------------------------------------

def log_softmax(logits):
    """log softmax over the last axis, stable for large logits (the maximum is subtracted first)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def perplexity(logits, targets):
    """exp of the mean cross-entropy: logits (N, V) predict targets (N,) ids; exp(-mean log p(target))."""
    log_p = log_softmax(logits)
    targets = np.asarray(targets)
    return float(np.exp(-log_p[np.arange(len(targets)), targets].mean()))


def stream_logits(model, stream, *, device="cpu"):
    """The model's logits (N - 1, V) for predicting stream[1:] from stream[:-1], reading the whole stream from a
    zero state in evaluation mode (no dropout), as float64 NumPy."""
    import torch

    model.eval()
    with torch.no_grad():
        ids = torch.as_tensor(np.asarray(stream)[:-1, None], device=device)
        logits, _ = model(ids)
    return logits[:, 0].double().cpu().numpy()


def stream_perplexity(model, stream, *, device="cpu"):
    """Perplexity of ``model`` on a stream of poems (see :func:`stream_logits`)."""
    return perplexity(stream_logits(model, stream, device=device), np.asarray(stream)[1:])


# ----------------------------------------------------------------------------------------------------------------
# Sampling (采样) and generation
# ----------------------------------------------------------------------------------------------------------------

def step_seed(seed, step):
    """The seed of generation step ``step``: each draw depends only on (seed, step), whatever came before."""
    if not 0 <= step < MAX_STEPS:
        raise ValueError(f"step must lie in 0..{MAX_STEPS - 1}, got {step}")
    return MAX_STEPS * int(seed) + int(step)


def sample_next(logits, temperature, seed):
    """One token per row: logits (N, V) tensor, divided by ``temperature``, softmax, then
    ``torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed))``; returns (N,) int64."""
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    probs = torch.softmax(torch.as_tensor(logits) / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def _feed(model, token, state, device):
    import torch

    logits, state = model(torch.tensor([[int(token)]], device=device), state)
    return logits[0, 0].detach().double().cpu(), state


def _choose(logits, banned, temperature, seed, sampler=None):
    """Greedy (temperature None) or sampled next token, never one of ``banned``."""
    logits = logits.clone()
    logits[list(map(int, banned))] = -math.inf
    if temperature is None:
        return int(logits.argmax())
    return int((sampler or sample_next)(logits[None], temperature, seed)[0])


def generate(model, vocab, prompt="", *, max_chars=64, temperature=0.8, seed=0, stop_at_eos=True, sampler=None,
             device="cpu"):
    """Continue ``<eos>`` + ``prompt`` with sampled characters until ``<eos>`` or ``max_chars``; returns only the
    generated text. ``<unk>`` is never drawn, nor ``<eos>`` with stop_at_eos=False (then exactly ``max_chars``
    characters come out); step k is drawn with :func:`step_seed` (seed, k) by ``sampler`` (default
    :func:`sample_next`; notebook 08 passes the learner's)."""
    import torch

    model.eval()
    with torch.no_grad():
        state = None
        for token in (EOS_ID, *vocab.encode(prompt)):
            logits, state = _feed(model, token, state, device)
        out = []
        for k in range(max_chars):
            token = _choose(logits, [UNK_ID] if stop_at_eos else [UNK_ID, EOS_ID], temperature, step_seed(seed, k),
                            sampler)
            if token == EOS_ID:
                break
            out.append(token)
            logits, state = _feed(model, token, state, device)
    return vocab.decode(out)


def acrostic_ids(model, head_ids, width, comma_id, period_id, banned_ids, *, temperature=None, seed=0,
                 device="cpu"):
    """An acrostic poem (藏头诗) as token ids: line i starts with head_ids[i], continues with ``width - 1``
    characters chosen by the model (greedily, or sampled when ``temperature`` is set), none of ``banned_ids``, and
    ends with "，" (comma_id) for even i and "。" (period_id) for odd i. Every written token, heads and marks
    included, is fed back to the model, starting from the state after ``<eos>``, so each line knows the ones
    before it. Returns len(head_ids) * (width + 1) ids."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        logits, state = _feed(model, EOS_ID, None, device)
        for i, head in enumerate(head_ids):
            for k in range(width):
                token = int(head) if k == 0 else _choose(logits, banned_ids, temperature,
                                                          step_seed(seed, len(out)))
                out.append(token)
                logits, state = _feed(model, token, state, device)
            mark = comma_id if i % 2 == 0 else period_id
            out.append(int(mark))
            logits, state = _feed(model, mark, state, device)
    return np.array(out, dtype=np.int64)


def acrostic(model, vocab, heads, width, *, temperature=None, seed=0, device="cpu"):
    """:func:`acrostic_ids` for the head characters ``heads`` (a string), as text. A head character outside the
    vocabulary is refused: the model would read it as ``<unk>``."""
    unknown = [c for c in heads if c not in vocab.index]
    if unknown:
        raise ValueError(f"not in the vocabulary: {''.join(unknown)!r}; choose other head characters")
    ids = acrostic_ids(model, vocab.encode(heads), width, vocab.index["，"], vocab.index["。"], vocab.banned_in_lines,
                       temperature=temperature, seed=seed, device=device)
    return vocab.decode(ids)


# ----------------------------------------------------------------------------------------------------------------
# Checkpoints: float16 weights and a JSON description in one .npz (no pickle)
# ----------------------------------------------------------------------------------------------------------------

def save_checkpoint(path, model, vocab, **info):
    """Write the model's weights (float16), its sizes, the vocabulary and ``info`` (JSON-able) to ``path``."""
    meta = {"cell": model.cell, "vocab_size": model.embed.num_embeddings, "embed_size": model.embed.embedding_dim,
            "hidden_size": model.rnn.hidden_size, **info}
    weights = {f"w:{k}": v.detach().cpu().numpy().astype(np.float16) for k, v in model.state_dict().items()}
    np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), __tokens__=np.array(vocab.tokens), **weights)


def load_checkpoint(path, *, device="cpu"):
    """(model in eval mode, float32, on ``device``; vocabulary; meta dict) from :func:`save_checkpoint`'s file."""
    import torch

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        vocab = Vocabulary(tuple(str(t) for t in data["__tokens__"]))
        weights = {k[2:]: torch.from_numpy(data[k].astype(np.float32)) for k in data.files if k.startswith("w:")}
    model = _char_lm_class()(meta["cell"], meta["vocab_size"], meta["embed_size"], meta["hidden_size"])
    model.load_state_dict(weights)
    return model.to(device).eval(), vocab, meta
