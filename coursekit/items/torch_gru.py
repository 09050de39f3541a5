"""Graded items of notebook 04-torch-gru: torch.nn.GRU in practice.

- ``gru_param_count``: how many numbers an nn.GRU learns (3 gate blocks, two bias vectors each);
- ``last_valid_output``: the output at each sequence's last real step of a padded batch;
- ``predicted_shapes``: a value item, the shapes of ``output`` and ``h_n`` predicted for a few configurations;
- ``GRUClassifier``: an nn.Module built on nn.GRU, graded through plain data (see :func:`_classifier_prepare`).

torch is imported inside the functions that need it, so importing this module imports only NumPy.
"""

import dataclasses
import functools

import numpy as np

from coursekit import gru
from coursekit.checking import Case, Invocation, Item
from coursekit.i18n import N_, Text
from coursekit.items.cases import F32, gru_params

ASSIGNMENT = "04-torch-gru"
NO_TORCH = ("torch", "coursekit")  # a formula exercise: counting the parameters of a built module is not the point


# ----------------------------------------------------------------------------------------------------------------
# gru_param_count(input_size, hidden_size, num_layers=1, bidirectional=False)
# ----------------------------------------------------------------------------------------------------------------

def _count(input_size, hidden_size, num_layers=1, bidirectional=False, *, blocks=3, biases=2,
           upper_input=None, directions=None):
    """Parameters of a stacked recurrent layer with `blocks` gate blocks; the keywords build the wrong variants.

    Layer 0 reads input_size features; layer l > 0 reads the previous layer's output, D * H features
    (``upper_input`` overrides that). Each direction of each layer has weight_ih (blocks*H, in), weight_hh
    (blocks*H, H) and `biases` bias vectors of blocks*H.
    """
    D = (2 if bidirectional else 1) if directions is None else directions
    H = hidden_size
    total = 0
    for layer in range(num_layers):
        if layer == 0:
            layer_input = input_size
        else:
            layer_input = (2 if bidirectional else 1) * H if upper_input is None else upper_input(input_size, H)
        total += D * blocks * H * (layer_input + H + biases)
    return total


def gru_param_count_reference(input_size, hidden_size, num_layers=1, bidirectional=False):
    """Number of parameters of nn.GRU(input_size, hidden_size, num_layers, bidirectional=...) with bias=True.

    Per layer and direction: weight_ih (3H, in) + weight_hh (3H, H) + bias_ih (3H,) + bias_hh (3H,) = 3H (in + H + 2),
    where in = input_size for layer 0 and D * H above it (D = 2 directions if bidirectional, else 1).
    """
    return _count(input_size, hidden_size, num_layers, bidirectional)


def _param_count_cases(rng, hidden):
    I, H = (int(v) for v in rng.integers(2, 50, size=2))
    configs = [(N_("seed's nn.GRU(5, 6, 2)"), (5, 6, 2, False)),
               ("nn.GRU(10, 20, num_layers=3, bidirectional=True)", (10, 20, 3, True)),
               (N_("defaults: nn.GRU(3, 4)"), (3, 4)),
               ("nn.GRU(7, 4, bidirectional=True)", (7, 4, 1, True)),
               (f"nn.GRU({I}, {H}, num_layers=4)", (I, H, 4, False))]
    if hidden:
        configs += [("nn.GRU(128, 256, num_layers=2, bidirectional=True)", (128, 256, 2, True)),
                    (f"nn.GRU({H}, {I}, num_layers=2, bidirectional=True)", (H, I, 2, True))]
    probes = [(N_("probe: nn.GRU(1, 1)"), (1, 1, 1, False),
               N_("one layer, one direction: 3 gate blocks (r, z, n), each with W_i (H x I), W_h (H x H) and two "
                  "bias vectors (H each): 3 * H * (I + H + 2)")),
              (N_("probe: nn.GRU(2, 3, num_layers=2)"), (2, 3, 2, False),
               N_("stacked layers: every layer has its own weights, and layers above the first read the H outputs "
                  "of the layer below, not input_size")),
              (N_("probe: nn.GRU(2, 3, bidirectional=True)"), (2, 3, 1, True),
               N_("bidirectional: each layer has two directions, each with its own full set of weights")),
              (N_("probe: nn.GRU(2, 3, num_layers=2, bidirectional=True)"), (2, 3, 2, True),
               N_("bidirectional and stacked: layers above the first read both directions' outputs, 2 * H "
                  "features"))]
    return ([Case(label, args) for label, args in configs]
            + [Case(label, args, blame=blame) for label, args, blame in probes])


GRU_PARAM_COUNT = Item(
    name="test_gru_param_count", target="gru_param_count", points=2, make_cases=_param_count_cases,
    keep_dtype=False,
    reference=gru_param_count_reference, forbidden=NO_TORCH,
    mistakes=(
        (N_("one bias vector per gate block was counted; nn.GRU has two, bias_ih and bias_hh (3H each)"),
         lambda *a: _count(*a, biases=1)),
        (N_("no biases were counted; nn.GRU has bias_ih and bias_hh, 3H numbers each"),
         lambda *a: _count(*a, biases=0)),
        (N_("4 gate blocks were counted, like an LSTM; a GRU has 3 (r, z, n)"), lambda *a: _count(*a, blocks=4)),
        (N_("1 block was counted, like a plain RNN; a GRU has 3 (r, z, n)"), lambda *a: _count(*a, blocks=1)),
        (N_("layers above the first read the previous layer's output, D * H features, not input_size"),
         lambda *a: _count(*a, upper_input=lambda I, H: I)),
        (N_("with bidirectional=True, layers above the first read both directions' outputs: 2 * H features, not H"),
         lambda *a: _count(*a, upper_input=lambda I, H: H)),
        (N_("bidirectional=True doubles every layer (a second GRU per layer reads the sequence reversed)"),
         lambda *a: _count(*a, directions=1)),
        (N_("num_layers was ignored: every layer has its own weights"),
         lambda I, H, L=1, bi=False: _count(I, H, 1, bi)),
    ),
)


# ----------------------------------------------------------------------------------------------------------------
# last_valid_output(output, lengths, batch_first=False)
# ----------------------------------------------------------------------------------------------------------------

def _time_major(output, batch_first):
    output = np.asarray(output)
    return np.swapaxes(output, 0, 1) if batch_first else output


def last_valid_output_reference(output, lengths, batch_first=False, as_tensor=False):
    """output[lengths[b] - 1, b] for every sequence b (output[b, lengths[b] - 1] with batch_first): (B, D*H).

    ``as_tensor`` only says how the case is handed to the learner (torch tensors or NumPy arrays).
    """
    lengths = np.asarray(lengths)
    return _time_major(output, batch_first)[lengths - 1, np.arange(lengths.shape[0])]


def _last_valid_prepare(output, lengths, batch_first, as_tensor):
    """The learner gets (output, lengths, batch_first), as torch tensors when the case says so."""
    return Invocation((output, lengths, batch_first), "tensors" if as_tensor else None)


def _padded_output(rng, T, lengths, features, *, zero_padding, batch_first=False, dtype=np.float64):
    """A (T, B, F) output whose steps t >= lengths[b] are zeros (as pad_packed_sequence returns) or values (as an
    unpacked nn.GRU run over the padding returns)."""
    output = rng.uniform(-1, 1, size=(T, len(lengths), features))
    if zero_padding:
        output[np.arange(T)[:, None] >= np.asarray(lengths)[None, :]] = 0.0
    if batch_first:
        output = np.swapaxes(output, 0, 1)
    return np.ascontiguousarray(output, dtype=dtype)


def _last_valid_cases(rng, hidden):
    specs = [  # label, T, lengths, features, zero padding, batch_first, as tensors
        # first, so that an off-by-one answer gives values (and a diagnosis) rather than an IndexError
        (N_("padding steps hold values (nn.GRU run over the padding), every length < T"), 7, [3, 4, 2, 1], 4,
         False, False, True),
        (N_("T=6, B=4, zero padding (pad_packed_sequence), torch tensors"), 6, [6, 2, 4, 1], 5, True, False, True),
        (N_("batch_first=True, bidirectional output (D*H = 6), NumPy"), 5, [3, 4, 1, 2], 6, True, True, False),
    ]
    specs += [  # every kind of case, public and hidden alike
        ("B=1", 4, [3], 3, True, False, True),
        ("T=1", 1, [1, 1], 4, False, False, True),
    ]
    if hidden:
        specs += [
            (N_("batch_first, padding holds values, unsorted lengths"), 9, [2, 9, 5, 7, 1, 3], 8, False, True, True),
        ]
    specs += [  # probes
        (N_("probe: no padding, every length == T"), 4, [4, 4], 3, False, False, False),
        (N_("probe: every sequence has length 1"), 5, [1, 1, 1], 2, False, True, True),
        (N_("probe: every sequence a different length"), 6, [5, 2, 4, 3], 3, False, False, True),
    ]
    cases = [Case(label, (_padded_output(rng, T, lengths, F, zero_padding=zero, batch_first=bf),
                          np.array(lengths, dtype=np.int64), bf, as_tensor))
             for label, T, lengths, F, zero, bf, as_tensor in specs]
    lengths = np.array([2, 5, 3], dtype=np.int64)
    cases.append(Case(N_("float32 output"), (_padded_output(rng, 6, lengths, 4, zero_padding=False,
                                                        dtype=np.float32), lengths, False, True), **F32))
    blames = {"probe: no padding, every length == T": N_("with no padding the last real step is T - 1 for every "
                                                         "sequence: output[-1] (or output[:, -1] with batch_first)"),
              "probe: every sequence has length 1": N_("a sequence of length 1 ends at step 0: index lengths - 1"),
              "probe: every sequence a different length": N_("each sequence ends at its own step: pair the time "
                                                             "index lengths[b] - 1 with the batch index b")}
    return [dataclasses.replace(c, blame=blames.get(c.label, "")) for c in cases]


def _last_valid_wrong(select):
    def wrong(output, lengths, batch_first=False, as_tensor=False):
        return select(_time_major(output, batch_first), np.asarray(lengths))
    return wrong


LAST_VALID_OUTPUT = Item(
    name="test_last_valid_output", target="last_valid_output", points=3, make_cases=_last_valid_cases,
    reference=last_valid_output_reference, prepare=_last_valid_prepare,
    mistakes=(
        (N_("output[-1] is the last *padded* step; a shorter sequence ended earlier, at step lengths[b] - 1"),
         _last_valid_wrong(lambda out, lengths: out[-1])),
        (N_("off by one: a sequence of length L has its last real step at index L - 1"),
         _last_valid_wrong(lambda out, lengths: out[lengths, np.arange(len(lengths))])),
        (N_("output[lengths - 1] picks every sequence's row at every length: pair each time index with its own "
         "batch index, output[lengths - 1, arange(B)]"),
         _last_valid_wrong(lambda out, lengths: out[lengths - 1])),
        (N_("batch_first=True was ignored: then output is (B, T, D*H) and the step is output[b, lengths[b] - 1]"),
         lambda out, lengths, bf=False, t=False: np.asarray(out)[np.asarray(lengths) - 1,
                                                                 np.arange(len(lengths))]),
        (N_("the sequence axis was indexed as if batch_first: without it, output is (T, B, D*H)"),
         lambda out, lengths, bf=False, t=False: _time_major(out, not bf)[np.asarray(lengths) - 1,
                                                                          np.arange(len(lengths))]),
    ),
)


# ----------------------------------------------------------------------------------------------------------------
# predicted_shapes: a value item
# ----------------------------------------------------------------------------------------------------------------

SHAPE_QUESTIONS = {
    "seed": {"gru": {"input_size": 5, "hidden_size": 6, "num_layers": 2}, "input": (1, 3, 5)},
    "batch_first": {"gru": {"input_size": 10, "hidden_size": 20, "batch_first": True}, "input": (4, 7, 10)},
    "bidirectional": {"gru": {"input_size": 8, "hidden_size": 16, "num_layers": 3, "bidirectional": True},
                      "input": (12, 2, 8)},
    "bidirectional_batch_first": {"gru": {"input_size": 3, "hidden_size": 4, "num_layers": 2,
                                          "bidirectional": True, "batch_first": True}, "input": (5, 9, 3)},
    "unbatched": {"gru": {"input_size": 4, "hidden_size": 5}, "input": (9, 4)},
}
"""For each key: nn.GRU(**question["gru"]) is called on a tensor of shape question["input"] (with h0 omitted).
The learner predicts {key: {"output": shape, "h_n": shape}} for every key."""


@functools.cache
def _run_shape_questions():
    import torch

    shapes = []
    with torch.no_grad():
        for key, question in SHAPE_QUESTIONS.items():
            output, h_n = torch.nn.GRU(**question["gru"])(torch.zeros(question["input"]))
            shapes.append((key, tuple(output.shape), tuple(h_n.shape)))
    return tuple(shapes)


def true_shapes():
    """Run every configuration of SHAPE_QUESTIONS through nn.GRU and record the shapes:
    {key: {"output": tuple, "h_n": tuple}} (computed once per process)."""
    return {key: {"output": output, "h_n": h_n} for key, output, h_n in _run_shape_questions()}


def _shape_hint(question, tensor, predicted):
    """One likely mistake behind a wrong predicted shape, without giving the answer away."""
    config = question["gru"]
    H = config["hidden_size"]
    D = 2 if config.get("bidirectional") else 1
    L = config.get("num_layers", 1)
    unbatched = len(question["input"]) == 2
    predicted = tuple(predicted)
    if unbatched and len(predicted) != 2:
        return N_("an unbatched input (T, I) gives outputs without a batch dimension")
    if tensor == "output":
        if D == 2 and predicted and predicted[-1] == H:
            return N_("a bidirectional GRU concatenates both directions at every step: the last dimension is D * H")
        if config.get("batch_first"):
            return N_("batch_first=True makes input and output (B, T, ...)")
        return N_("output holds the top layer's hidden state at every time step")
    if len(predicted) == 3 and config.get("batch_first") and predicted[0] == question["input"][0]:
        return N_("h_n is (num_layers * D, B, H) even with batch_first=True: batch_first concerns input and output "
                  "only")
    if predicted and predicted[0] == L and D == 2:
        return N_("h_n has one final state per layer *and* per direction: num_layers * D of them")
    return N_("h_n holds the final hidden state of every layer and direction, (num_layers * D, B, H)")


def _validate_shapes(case, predicted):
    truth = true_shapes()
    if not isinstance(predicted, dict):
        return Text("predicted_shapes should be a dict with keys {keys}, got a {type}", keys=sorted(truth),
                    type=type(predicted).__name__)
    if predicted.keys() != truth.keys():
        return Text("predicted_shapes has keys {keys}; expected {expected}", keys=sorted(predicted),
                    expected=sorted(truth))
    wrong = []
    for key, shapes in truth.items():
        entry = predicted[key]
        if not isinstance(entry, dict) or entry.keys() != {"output", "h_n"}:
            return Text("predicted_shapes[{key!r}] should be a dict {{'output': shape, 'h_n': shape}}", key=key)
        for tensor in ("output", "h_n"):
            guess = entry[tensor]
            guess = tuple(guess) if isinstance(guess, tuple) else (guess,)
            if not guess:
                return Text("predicted_shapes[{key!r}][{tensor!r}] is still empty: write your prediction, a tuple "
                            "of ints", key=key, tensor=tensor)
            if not all(type(v) is int for v in guess):
                return Text("predicted_shapes[{key!r}][{tensor!r}] should be a tuple of ints, e.g. (2, 3, 4)",
                            key=key, tensor=tensor)
            if guess != shapes[tensor]:
                wrong.append(Text("predicted_shapes[{key!r}][{tensor!r}] = {guess} is not what nn.GRU gives. "
                                  "Hint: {hint}", key=key, tensor=tensor, guess=guess,
                                  hint=Text(_shape_hint(SHAPE_QUESTIONS[key], tensor, guess))))
    if wrong:
        return Text("{wrong} of {total} shapes are wrong. The first one:\n{first}", wrong=len(wrong),
                    total=2 * len(truth), first=wrong[0])
    return None


PREDICTED_SHAPES = Item(
    name="test_predicted_shapes", target="predicted_shapes", points=2, call=False,
    make_cases=lambda rng, hidden: [Case(N_("output and h_n for every configuration"), ())],
    validate=_validate_shapes,
)


# ----------------------------------------------------------------------------------------------------------------
# GRUClassifier(input_size, hidden_size, num_classes): an nn.Module, graded through plain data
# ----------------------------------------------------------------------------------------------------------------

def _classifier_prepare(input_size, hidden_size, num_classes, params, W_out, b_out, x):
    """The case's GRU weights in nn.GRU's layout (weight_ih_l0 = [W_ir; W_iz; W_in], ...), for the harness's
    ``classifier`` invoker, which builds the learner's class, loads them and returns its logits
    (coursekit.harness.invoke_classifier). The grader computes the reference logits in NumPy from the same case."""
    stacked = {"weight_ih_l0": np.concatenate([params["W_ir"], params["W_iz"], params["W_in"]]),
               "weight_hh_l0": np.concatenate([params["W_hr"], params["W_hz"], params["W_hn"]]),
               "bias_ih_l0": np.concatenate([params["b_ir"], params["b_iz"], params["b_in"]]),
               "bias_hh_l0": np.concatenate([params["b_hr"], params["b_hz"], params["b_hn"]])}
    return Invocation((input_size, hidden_size, num_classes, stacked, W_out, b_out, x), "classifier")


def _hidden_states(params, x):
    """All hidden states (T, B, H) of a GRU from h0 = 0 over x (B, T, I) batch-first, in float64."""
    xs = np.swapaxes(np.asarray(x, dtype=np.float64), 0, 1)
    hs, _ = gru.forward(xs, np.zeros((xs.shape[1], params["W_hr"].shape[0])), params)
    return hs


def classifier_reference(input_size, hidden_size, num_classes, params, W_out, b_out, x):
    """logits (B, C) = h_T W_out^T + b_out, h_T the final hidden state of the GRU over x (B, T, I), h0 = 0."""
    return _hidden_states(params, x)[-1] @ W_out.T + b_out


def _classifier_wrong(read):
    def wrong(I, H, C, params, W_out, b_out, x):
        return read(_hidden_states(params, x)) @ W_out.T + b_out
    return wrong


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _classifier_cases(rng, hidden):
    shapes = [("B=4, T=7, I=3, H=5, C=3", 4, 7, 3, 5, 3), ("B=2, T=5, I=4, H=6, C=2", 2, 5, 4, 6, 2),
              ("B=1", 1, 6, 3, 4, 3), ("T=1", 3, 1, 2, 4, 5), ("H=1", 3, 4, 2, 1, 2)]
    if hidden:
        shapes += [("B=8, T=12, I=6, H=10, C=4", 8, 12, 6, 10, 4), ("B=1, T=3", 1, 3, 2, 3, 2)]
    cases = []
    for label, B, T, I, H, C in shapes:
        x = rng.standard_normal((B, T, I)).astype(np.float32)
        cases.append(Case(label, (I, H, C, gru_params(rng, I, H), rng.standard_normal((C, H)),
                                  rng.standard_normal(C), x), **F32))
    B, T, I, H, C = 3, 5, 2, 3, 2
    cases.append(Case(N_("saturated gates (|x| ~ 30)"),
                      (I, H, C, gru_params(rng, I, H, scale=2.0), rng.standard_normal((C, H)),
                       rng.standard_normal(C), (30 * rng.standard_normal((B, T, I))).astype(np.float32)), **F32))
    blames = {"B=1": N_("with B = 1 the batch dimension must stay: the logits are (1, C); h_n.squeeze() drops "
                        "every dimension of size 1, use h_n[-1] (or output[:, -1])"),
              "T=1": N_("with T = 1 the time dimension must go: read the final state h_n[-1] (B, H), not output")}
    return [dataclasses.replace(c, blame=blames.get(c.label, ""), shape_probe=c.label in blames) for c in cases]


GRU_CLASSIFIER = Item(
    name="test_gru_classifier", target="GRUClassifier", points=3, make_cases=_classifier_cases,
    reference=classifier_reference, prepare=_classifier_prepare, keep_dtype=False,  # float32 logits, float64 weights
    mistakes=(
        (N_("the logits come from the first time step; use the final hidden state (h_n[-1], or output[:, -1])"),
         _classifier_wrong(lambda hs: hs[0])),
        (N_("with batch_first=True, output[-1] is the last *sequence* (T, H), not every sequence's last step: use "
         "output[:, -1] or h_n[-1]"), _classifier_wrong(lambda hs: hs[:, -1])),
        (N_("the hidden states were averaged over time; this classifier reads the final hidden state h_n[-1]"),
         _classifier_wrong(lambda hs: hs.mean(axis=0))),
        (N_("the linear layer was applied at every time step; return one vector of logits per sequence (B, C)"),
         _classifier_wrong(lambda hs: np.swapaxes(hs, 0, 1))),
        (N_("nn.GRU was built without batch_first=True, so it read x (B, T, I) as (T, B, I)"),
         lambda I, H, C, params, W_out, b_out, x: classifier_reference(I, H, C, params, W_out, b_out,
                                                                       np.swapaxes(x, 0, 1))),
        (N_("softmax probabilities were returned; return raw logits (nn.CrossEntropyLoss applies log-softmax itself)"),
         lambda *args: _softmax(classifier_reference(*args))),
    ),
)

# ----------------------------------------------------------------------------------------------------------------
# gradient_reach(T, K, loss_step, detach): which input steps a loss reaches under truncated BPTT (section 8)
# ----------------------------------------------------------------------------------------------------------------

def gradient_reach_reference(T, K, loss_step, detach):
    """(first, last): the earliest and the latest input step t whose x_t gets a (generically) non-zero gradient from
    a loss on the output at step ``loss_step``, when a stream of T steps runs through a GRU in consecutive chunks
    [0, K), [K, 2K), ... with the hidden state carried from chunk to chunk, and detached between chunks when
    ``detach``. Every step in between is reached too.

    The output at step s depends on x_0 .. x_s only (causality), so last = loss_step; ``h.detach()`` cuts every
    path that crosses a chunk boundary, so first = (loss_step // K) * K, the first step of loss_step's chunk, or 0
    without detach. (A pair, not the list of steps: lists travel to the grader as tuples.)
    """
    return ((loss_step // K) * K if detach else 0), loss_step


def _reach_cases(rng, hidden):
    configs = [(N_("T=30, K=10, loss at the last step, detach"), (30, 10, 29, True)),
               (N_("T=30, K=10, loss at step 14, detach"), (30, 10, 14, True)),
               (N_("T=30, K=10, loss at step 14, no detach"), (30, 10, 14, False)),
               (N_("T=12, K=4, loss at step 9, detach"), (12, 4, 9, True))]
    if hidden:
        T, K = int(rng.integers(20, 60)), int(rng.integers(3, 9))
        configs += [(N_("K=1: every step is a chunk"), (8, 1, 5, True)),
                    (N_("K >= T: one chunk"), (6, 10, 4, True)),
                    (N_("loss at step 0"), (10, 3, 0, True)),
                    (N_("loss at the first step of a chunk"), (20, 5, 15, True)),
                    (N_("T not a multiple of K, loss in the short last chunk"), (11, 4, 10, True)),
                    (N_("no detach, loss at the last step"), (9, 3, 8, False)),
                    (Text("T={T}, K={K}, random loss step", T=T, K=K), (T, K, int(rng.integers(0, T)), True))]
    return [Case(label, args) for label, args in configs]


def _chunk_start(T, K, s, detach):
    return (s // K) * K if detach else 0


GRADIENT_REACH = Item(
    name="test_gradient_reach", target="gradient_reach", points=2, make_cases=_reach_cases,
    reference=gradient_reach_reference, forbidden=NO_TORCH,  # reason it out: the next cell runs autograd
    mistakes=(
        (N_("last is after loss_step: the output at step s depends on x_0 .. x_s only, so later inputs get no "
         "gradient from it"),
         lambda T, K, s, d: (_chunk_start(T, K, s, d), min(T, (s // K + 1) * K) - 1 if d else T - 1)),
        (N_("a sliding window of the last K steps: the chunks are fixed blocks [0, K), [K, 2K), ..., so the reach "
         "starts at the first step of loss_step's chunk, (loss_step // K) * K"),
         lambda T, K, s, d: (max(0, s - K + 1) if d else 0, s)),
        (N_("detach=False was treated like detach=True: without detach the gradient flows back through every chunk "
         "boundary, to step 0"),
         lambda T, K, s, d: ((s // K) * K, s)),
        (N_("detach was ignored: h.detach() between chunks stops the gradient at the boundary of loss_step's chunk"),
         lambda T, K, s, d: (0, s)),
        (N_("last is before loss_step: the output at step s reads x_s, so x_s gets a gradient"),
         lambda T, K, s, d: (_chunk_start(T, K, s, d), s - 1)),
        (N_("first is one step before the chunk: the detached state carries the values of x_(first - 1) but no path "
         "back to it"),
         lambda T, K, s, d: (max(0, (s // K) * K - 1) if d else 0, s)),
    ),
)

ITEMS = (GRU_PARAM_COUNT, LAST_VALID_OUTPUT, PREDICTED_SHAPES, GRU_CLASSIFIER, GRADIENT_REACH)
