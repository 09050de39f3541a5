"""The graded items of notebook 04-torch-gru: right answers pass (public and hidden), each listed mistake fails with
its own diagnosis, trivial stubs fail, and the references agree with torch.nn.GRU itself."""

import json
from pathlib import Path

import numpy as np
import pytest

from coursekit import gru
from coursekit.checking import check, judge, pack, run_item, unpack, cases_for
from coursekit.items import get
from coursekit.items import torch_gru as tg

torch = pytest.importorskip("torch")
nn = torch.nn

COUNT = get("04-torch-gru", "test_gru_param_count")
LAST = get("04-torch-gru", "test_last_valid_output")
SHAPES = get("04-torch-gru", "test_predicted_shapes")
CLASSIFIER = get("04-torch-gru", "test_gru_classifier")


def diagnosis(item, start):
    """The full diagnosis text of the item's mistake whose text starts with `start` (so tests stay readable)."""
    matches = [text for text, _ in item.mistakes if text.startswith(start)]
    assert len(matches) == 1, start
    return matches[0]


# ----------------------------------------------------------------------------------------------------------------
# gru_param_count
# ----------------------------------------------------------------------------------------------------------------

def count_with(blocks=3, biases=2, upper="DH", directions="D", layers="L"):
    """A learner-style count with one knob turned wrong (written independently of the item's variants)."""
    def gru_param_count(input_size, hidden_size, num_layers=1, bidirectional=False):
        D = 2 if bidirectional else 1
        dirs = D if directions == "D" else 1
        total = 0
        for layer in range(num_layers if layers == "L" else 1):
            width = input_size if layer == 0 else {"DH": D * hidden_size, "I": input_size, "H": hidden_size}[upper]
            total += dirs * (blocks * hidden_size * width + blocks * hidden_size * hidden_size
                             + biases * blocks * hidden_size)
        return total
    return gru_param_count


@pytest.mark.parametrize("config", [(5, 6, 2, False), (10, 20, 3, True), (1, 1, 1, False), (7, 4, 4, True),
                                    (3, 9, 2, True)])
def test_param_count_reference_matches_torch(config):
    module = nn.GRU(*config[:3], bidirectional=config[3])
    assert tg.gru_param_count_reference(*config) == sum(p.numel() for p in module.parameters())


def test_param_count_right_answer_passes(expect_pass):
    expect_pass(COUNT, count_with())


@pytest.mark.parametrize("knobs, start", [
    ({"biases": 1}, "one bias vector"), ({"biases": 0}, "no biases"), ({"blocks": 4}, "4 gate blocks"),
    ({"blocks": 1}, "1 block"), ({"upper": "I"}, "layers above the first read"),
    ({"upper": "H"}, "with bidirectional=True, layers above"), ({"directions": 1}, "bidirectional=True doubles"),
    ({"layers": 1}, "num_layers was ignored"),
])
def test_param_count_mistakes_are_diagnosed(knobs, start, expect_failure):
    assert diagnosis(COUNT, start) in expect_failure(COUNT, count_with(**knobs))


@pytest.mark.parametrize("stub", [lambda i, h, l=1, b=False: 0, lambda i, h, l=1, b=False: i * h,
                                  lambda i, h, l=1, b=False: 3 * h * (i + h)])
def test_param_count_stubs_fail(stub, expect_failure):
    expect_failure(COUNT, stub)


def test_param_count_not_implemented_fails(expect_failure):
    def gru_param_count(input_size, hidden_size, num_layers=1, bidirectional=False):
        raise NotImplementedError()
    assert "NotImplementedError" in expect_failure(COUNT, gru_param_count)


def test_param_count_with_torch_is_refused(expect_failure):
    def gru_param_count(input_size, hidden_size, num_layers=1, bidirectional=False):
        module = torch.nn.GRU(input_size, hidden_size, num_layers, bidirectional=bidirectional)
        return sum(p.numel() for p in module.parameters())
    assert "must be written without" in expect_failure(COUNT, gru_param_count)


# ----------------------------------------------------------------------------------------------------------------
# last_valid_output
# ----------------------------------------------------------------------------------------------------------------

def last_valid_torch(output, lengths, batch_first=False):
    """The learner's right answer with torch.gather, for tensors or arrays."""
    output, lengths = torch.as_tensor(output), torch.as_tensor(lengths)
    if batch_first:
        output = output.transpose(0, 1)
    index = (lengths - 1).view(1, -1, 1).expand(1, output.shape[1], output.shape[2])
    return output.gather(0, index)[0]


def last_valid_with(select):
    """A learner-style function that converts to NumPy and picks steps with `select(out (T, B, F), lengths)`."""
    def last_valid_output(output, lengths, batch_first=False):
        out = np.asarray(output)
        out = np.swapaxes(out, 0, 1) if batch_first else out
        return select(out, np.asarray(lengths))
    return last_valid_output


def test_last_valid_reference_equals_h_n_of_a_packed_gru():
    """Independent check of the reference: with packing, h_n is the state at each sequence's last real step."""
    torch.manual_seed(0)
    module = nn.GRU(3, 4).double()
    lengths = torch.tensor([5, 2, 4, 1])
    xs = torch.randn(5, 4, 3, dtype=torch.float64)
    packed = nn.utils.rnn.pack_padded_sequence(xs, lengths, enforce_sorted=False)
    out_packed, h_n = module(packed)
    output, _ = nn.utils.rnn.pad_packed_sequence(out_packed)
    expected = h_n[0].detach().numpy()
    for batch_first in (False, True):
        out = output.transpose(0, 1) if batch_first else output
        got = tg.last_valid_output_reference(out.detach().numpy(), lengths.numpy(), batch_first)
        assert np.allclose(got, expected, rtol=0, atol=1e-14)
    # ... and output[-1] is not: the padded steps of the shorter sequences are zeros there.
    assert not np.allclose(output[-1].detach().numpy(), expected)


def test_last_valid_right_answers_pass(expect_pass):
    expect_pass(LAST, last_valid_torch)
    expect_pass(LAST, last_valid_with(lambda out, lengths: out[lengths - 1, np.arange(len(lengths))]))


def test_last_valid_cases_include_tensors_and_arrays():
    seen = set()
    check(LAST, lambda output, lengths, batch_first=False: seen.add(type(output).__module__.split(".")[0])
          or last_valid_torch(output, lengths, batch_first), quiet=True)
    assert seen == {"torch", "numpy"}


@pytest.mark.parametrize("select, start", [
    (lambda out, lengths: out[-1], "output[-1] is the last"),
    (lambda out, lengths: out[lengths, np.arange(len(lengths))], "off by one"),
    (lambda out, lengths: out[lengths - 1], "output[lengths - 1] picks"),
])
def test_last_valid_mistakes_are_diagnosed(select, start, expect_failure):
    assert diagnosis(LAST, start) in expect_failure(LAST, last_valid_with(select))


def test_last_valid_ignoring_batch_first_is_diagnosed(expect_failure):
    def last_valid_output(output, lengths, batch_first=False):
        out, lengths = np.asarray(output), np.asarray(lengths)
        return out[lengths - 1, np.arange(len(lengths))]
    assert diagnosis(LAST, "batch_first=True was ignored") in expect_failure(LAST, last_valid_output)


def test_last_valid_always_batch_first_is_diagnosed(expect_failure):
    def last_valid_output(output, lengths, batch_first=False):
        out, lengths = np.asarray(output), np.asarray(lengths)
        return out[np.arange(len(lengths)), lengths - 1]
    assert diagnosis(LAST, "the sequence axis was indexed") in expect_failure(LAST, last_valid_output)


def test_last_valid_last_nonzero_step_heuristic_fails(expect_failure):
    """Guessing the last real step as the last non-zero one works only when the padding is zeros."""
    def last_valid_output(output, lengths, batch_first=False):
        out = np.asarray(output)
        out = np.swapaxes(out, 0, 1) if batch_first else out
        nonzero = np.any(out != 0, axis=2)
        last = out.shape[0] - 1 - np.argmax(nonzero[::-1], axis=0)
        return out[last, np.arange(out.shape[1])]
    assert "padding steps hold values" in expect_failure(LAST, last_valid_output)


@pytest.mark.parametrize("stub", [lambda o, l, bf=False: np.zeros((len(l), np.shape(o)[-1])),
                                  lambda o, l, bf=False: o, lambda o, l, bf=False: np.asarray(o)[0]])
def test_last_valid_stubs_fail(stub, expect_failure):
    expect_failure(LAST, stub)


def test_last_valid_in_place_change_of_a_tensor_is_detected(expect_failure):
    def last_valid_output(output, lengths, batch_first=False):
        result = last_valid_torch(output, lengths, batch_first)
        output.mul_(0) if isinstance(output, torch.Tensor) else None
        return result
    assert "changed its inputs" in expect_failure(LAST, last_valid_output)


# ----------------------------------------------------------------------------------------------------------------
# predicted_shapes (value item)
# ----------------------------------------------------------------------------------------------------------------

# Worked out by hand from nn.GRU's documented shapes (D = 2 if bidirectional): output (T, B, D*H), or (B, T, D*H)
# with batch_first; h_n (num_layers*D, B, H) whatever batch_first says; unbatched input (T, I) drops the B axis.
BY_HAND = {
    "seed": {"output": (1, 3, 6), "h_n": (2, 3, 6)},
    "batch_first": {"output": (4, 7, 20), "h_n": (1, 4, 20)},
    "bidirectional": {"output": (12, 2, 32), "h_n": (6, 2, 16)},
    "bidirectional_batch_first": {"output": (5, 9, 8), "h_n": (4, 5, 4)},
    "unbatched": {"output": (9, 5), "h_n": (1, 5)},
}


def with_change(key, tensor, shape):
    answer = {k: dict(v) for k, v in BY_HAND.items()}
    answer[key][tensor] = shape
    return answer


def test_true_shapes_agree_with_the_documented_rules():
    assert tg.true_shapes() == BY_HAND


def test_predicted_shapes_right_answer_passes(expect_pass):
    expect_pass(SHAPES, BY_HAND)
    lists = {k: {t: list(s) for t, s in v.items()} for k, v in BY_HAND.items()}
    expect_pass(SHAPES, lists)  # lists are accepted as shapes, too


@pytest.mark.parametrize("key, tensor, shape, hint", [
    ("batch_first", "h_n", (4, 1, 20), "h_n is (num_layers * D, B, H) even with batch_first=True"),
    ("bidirectional", "output", (12, 2, 16), "concatenates both directions"),
    ("bidirectional", "h_n", (3, 2, 16), "one final state per layer *and* per direction"),
    ("unbatched", "output", (9, 1, 5), "unbatched input"),
    ("batch_first", "output", (7, 4, 20), "batch_first=True makes input and output (B, T, ...)"),
    ("seed", "h_n", (1, 3, 6), "final hidden state of every layer"),
])
def test_predicted_shapes_wrong_guesses_get_a_hint(key, tensor, shape, hint, expect_failure):
    message = expect_failure(SHAPES, with_change(key, tensor, shape))
    assert f"predicted_shapes[{key!r}][{tensor!r}]" in message and hint in message
    assert str(BY_HAND[key][tensor]) not in message.split("Hint:")[1]  # the hint does not give the answer away


@pytest.mark.parametrize("value, words", [
    ({}, "has keys"), (None, "NoneType"), ({k: {"output": (0,), "h_n": (0,)} for k in BY_HAND}, "10 of 10"),
    ({k: {"output": 1.5, "h_n": (1,)} for k in BY_HAND}, "tuple of ints"),
    ({k: (1, 2) for k in BY_HAND}, "should be a dict"),
    ({k: {"output": (), "h_n": ()} for k in BY_HAND}, "is still empty"),  # the notebook's template
])
def test_predicted_shapes_stubs_fail(value, words, expect_failure):
    assert words in expect_failure(SHAPES, value)


def test_predicted_shapes_messages_keep_their_templates():
    """The message of a wrong prediction is one Text (its hint a Text inside it), so it renders in the notebook's
    language: no part of it was joined into plain English."""
    from coursekit.i18n import Text
    message = tg._validate_shapes(None, with_change("batch_first", "h_n", (4, 1, 20)))
    assert isinstance(message, Text) and isinstance(message.values["first"], Text)
    assert isinstance(message.values["first"].values["hint"], Text)
    assert isinstance(tg._validate_shapes(None, None), Text)


# ----------------------------------------------------------------------------------------------------------------
# GRUClassifier
# ----------------------------------------------------------------------------------------------------------------

class GRUClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        _, h_n = self.gru(x)
        return self.head(h_n[-1])


class SeqFirstInside(nn.Module):
    """Also right: other names, sequence-first GRU, x transposed in forward, output[-1] instead of h_n."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.layers = nn.ModuleDict({"rec": nn.GRU(input_size, hidden_size), "out": nn.Linear(hidden_size,
                                                                                           num_classes)})

    def forward(self, x):
        output, _ = self.layers["rec"](x.transpose(0, 1))
        return self.layers["out"](output[-1])


def classifier_reading(read):
    class Wrong(GRUClassifier):
        def forward(self, x):
            output, _ = self.gru(x)
            return read(self.head, output)
    return Wrong


class NoBatchFirst(GRUClassifier):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__(input_size, hidden_size, num_classes)
        self.gru = nn.GRU(input_size, hidden_size)


def test_classifier_reference_equals_a_torch_model_with_those_weights():
    rng = np.random.default_rng(3)
    I, H, C, B, T = 3, 5, 4, 2, 6
    params, W, b = gru.init_params(I, H, rng=rng), rng.standard_normal((C, H)), rng.standard_normal(C)
    x = rng.standard_normal((B, T, I))
    model = GRUClassifier(I, H, C).double()
    gru.params_to_torch(params, model.gru)
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(W))
        model.head.bias.copy_(torch.from_numpy(b))
        expected = model(torch.from_numpy(x)).numpy()
    assert np.allclose(tg.classifier_reference(I, H, C, params, W, b, x), expected, rtol=0, atol=1e-12)


def test_classifier_right_answers_pass(expect_pass):
    expect_pass(CLASSIFIER, GRUClassifier)
    expect_pass(CLASSIFIER, SeqFirstInside)


@pytest.mark.parametrize("cls, start", [
    (classifier_reading(lambda head, out: head(out[:, 0])), "the logits come from the first time step"),
    (classifier_reading(lambda head, out: head(out.mean(dim=1))), "the hidden states were averaged"),
    (classifier_reading(lambda head, out: head(out)), "the linear layer was applied at every time step"),
    (NoBatchFirst, "nn.GRU was built without batch_first=True"),
    (classifier_reading(lambda head, out: torch.softmax(head(out[:, -1]), dim=-1)), "softmax probabilities"),
])
def test_classifier_mistakes_are_diagnosed(cls, start, expect_failure):
    assert diagnosis(CLASSIFIER, start) in expect_failure(CLASSIFIER, cls)


def test_classifier_stubs_fail(expect_failure):
    class Zeros(GRUClassifier):
        def forward(self, x):
            return torch.zeros(x.shape[0], self.head.out_features)

    class NotImplemented_(nn.Module):
        def __init__(self, input_size, hidden_size, num_classes):
            super().__init__()
            raise NotImplementedError()

    class Plain:
        def __init__(self, *args):
            pass

    expect_failure(CLASSIFIER, Zeros)
    assert "NotImplementedError" in expect_failure(CLASSIFIER, NotImplemented_)
    assert "should subclass nn.Module" in expect_failure(CLASSIFIER, Plain)


def test_classifier_architecture_errors_are_explained(expect_failure):
    class TwoHeads(GRUClassifier):
        def __init__(self, i, h, c):
            super().__init__(i, h, c)
            self.extra = nn.Linear(c, c)

    class ExtraParameter(GRUClassifier):
        def __init__(self, i, h, c):
            super().__init__(i, h, c)
            self.scale = nn.Parameter(torch.ones(1))

    class TwoLayers(GRUClassifier):
        def __init__(self, i, h, c):
            super().__init__(i, h, c)
            self.gru = nn.GRU(i, h, num_layers=2, batch_first=True)

    assert "exactly one nn.GRU and one nn.Linear" in expect_failure(CLASSIFIER, TwoHeads)
    assert "parameters besides" in expect_failure(CLASSIFIER, ExtraParameter)
    assert "(input_size, hidden_size, num_layers, bidirectional, bias)" in expect_failure(CLASSIFIER, TwoLayers)


def test_classifier_that_keeps_its_own_weights_fails(expect_failure):
    """Weights are loaded after construction: a model that copied its weights earlier cannot match."""
    class Frozen(GRUClassifier):
        def __init__(self, i, h, c):
            super().__init__(i, h, c)
            self.saved = {k: v.clone() for k, v in self.state_dict().items()}

        def forward(self, x):
            self.load_state_dict(self.saved, strict=False)
            return super().forward(x)

    expect_failure(CLASSIFIER, Frozen)


def test_classifier_check_keeps_the_learners_random_state():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    check(CLASSIFIER, GRUClassifier, quiet=True)
    assert torch.equal(torch.rand(3), expected)


def test_grader_path_for_the_classifier_and_shapes():
    """run_item in the learner's kernel, only packed plain data crossing over, judge on the trusted side."""
    namespace = {"GRUClassifier": GRUClassifier, "predicted_shapes": BY_HAND}
    for item in (CLASSIFIER, SHAPES):
        result = unpack(pack(run_item(item, namespace, seed=11)))
        assert not result["missing"]
        cases = cases_for(item, 11, True)
        outcomes = [dict(o, warnings=list(o["warnings"])) for o in result["outcomes"]]
        assert judge(item, cases, outcomes).passed
    wrong = {"GRUClassifier": classifier_reading(lambda head, out: head(out[:, 0]))}
    outcomes = unpack(pack(run_item(CLASSIFIER, wrong, seed=11)))["outcomes"]
    assert not judge(CLASSIFIER, cases_for(CLASSIFIER, 11, True), list(outcomes)).passed


# ----------------------------------------------------------------------------------------------------------------
# The notebook's cells: the model answers pass, the student version's stubs fail
# ----------------------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {"solution": ROOT / "solutions" / "04-torch-gru" / "torch_gru.ipynb",
             "student": ROOT / "course" / "04-torch-gru" / "torch_gru.ipynb"}
ANSWER_CELLS = ("predicted-shapes", "gru-param-count", "last-valid-output", "gru-classifier")


def notebook_namespace(path, cell_ids):
    """Run the code cells ``cell_ids`` of a notebook in a namespace holding what its setup cell imports for them.
    A cell that raises (a student stub) leaves what it defined before the error."""
    cells = {cell["id"]: "".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]}
    namespace = {"np": np, "torch": torch, "nn": nn, "SHAPE_QUESTIONS": tg.SHAPE_QUESTIONS}
    for cell_id in cell_ids:
        assert cell_id in cells, f"{path.name} has no cell {cell_id!r}"
        try:
            exec(compile(cells[cell_id], f"{path.name}:{cell_id}", "exec"), namespace)
        except NotImplementedError:
            pass
    return namespace


def test_the_notebooks_model_answers_pass(expect_pass):
    namespace = notebook_namespace(NOTEBOOKS["solution"], ANSWER_CELLS)
    for item in (COUNT, LAST, SHAPES, CLASSIFIER):
        expect_pass(item, namespace[item.target])


def test_the_student_notebooks_stubs_fail(expect_failure):
    namespace = notebook_namespace(NOTEBOOKS["student"], ANSWER_CELLS)
    assert "is still empty" in expect_failure(SHAPES, namespace["predicted_shapes"])
    for item in (COUNT, LAST, CLASSIFIER):
        assert "NotImplementedError" in expect_failure(item, namespace[item.target])
