"""Learner implementations for notebook 04: gru_param_count, last_valid_output, predicted_shapes, GRUClassifier."""

import torch
from torch import nn

from learner_corpus import Entry

A = "04-torch-gru"


def count(I, H, L=1, bi=False, *, blocks=3, biases=2, upper=None, dirs=None, first_only_bi=False):
    D = 2 if bi else 1
    total = 0
    for layer in range(L):
        inp = I if layer == 0 else (upper(I, H) if upper else D * H)
        d = (1 if (first_only_bi and layer) else D) if dirs is None else dirs
        total += d * blocks * H * (inp + H + biases)
    return total


def count_loop(input_size, hidden_size, num_layers=1, bidirectional=False):
    D = 2 if bidirectional else 1
    total, inp = 0, input_size
    for _ in range(num_layers):
        for _ in range(D):
            total += 3 * hidden_size * inp + 3 * hidden_size * hidden_size + 2 * 3 * hidden_size
        inp = D * hidden_size
    return total


def count_closed(I, H, L=1, bidirectional=False):
    D = 1 + bool(bidirectional)
    return D * 3 * H * (I + H + 2) + (L - 1) * D * 3 * H * (D * H + H + 2)


def _time_major(output, batch_first):
    output = torch.as_tensor(output)
    return output.transpose(0, 1) if batch_first else output


def lvo_right(output, lengths, batch_first=False):
    out = _time_major(output, batch_first)
    lengths = torch.as_tensor(lengths)
    return out[lengths - 1, torch.arange(len(lengths))]


def lvo_gather(output, lengths, batch_first=False):
    out = torch.as_tensor(output)
    if not batch_first:
        out = out.permute(1, 0, 2)
    index = (torch.as_tensor(lengths) - 1).view(-1, 1, 1).expand(-1, 1, out.shape[2])
    return out.gather(1, index).squeeze(1).numpy()


def lvo_last(output, lengths, batch_first=False):
    return _time_major(output, batch_first)[-1]


def lvo_off_by_one(output, lengths, batch_first=False):
    out = _time_major(output, batch_first)
    lengths = torch.as_tensor(lengths)
    return out[torch.clamp(lengths, max=out.shape[0] - 1), torch.arange(len(lengths))]


def lvo_no_arange(output, lengths, batch_first=False):
    return _time_major(output, batch_first)[torch.as_tensor(lengths) - 1]


def lvo_ignores_batch_first(output, lengths, batch_first=False):
    return lvo_right(output, lengths, False)


def lvo_always_batch_first(output, lengths, batch_first=False):
    return lvo_right(output, lengths, True)


def lvo_squeezed(output, lengths, batch_first=False):
    return lvo_right(output, lengths, batch_first).squeeze()


def lvo_zeroes_padding(output, lengths, batch_first=False):
    out = _time_major(output, batch_first)
    lengths = torch.as_tensor(lengths)
    for b, n in enumerate(lengths):
        out[n:, b] = 0  # "clean" the padding first, in the caller's tensor
    return out[lengths - 1, torch.arange(len(lengths))]


def lvo_max_length(output, lengths, batch_first=False):
    out = _time_major(output, batch_first)
    lengths = torch.as_tensor(lengths)
    return out[int(lengths.max()) - 1]


def lvo_first_length(output, lengths, batch_first=False):
    out = _time_major(output, batch_first)
    return out[int(torch.as_tensor(lengths)[0]) - 1]


RIGHT_SHAPES = {"seed": {"output": (1, 3, 6), "h_n": (2, 3, 6)},
                "batch_first": {"output": (4, 7, 20), "h_n": (1, 4, 20)},
                "bidirectional": {"output": (12, 2, 32), "h_n": (6, 2, 16)},
                "bidirectional_batch_first": {"output": (5, 9, 8), "h_n": (4, 5, 4)},
                "unbatched": {"output": (9, 5), "h_n": (1, 5)}}


def shapes_with(key, tensor, shape):
    return {k: {**v, **({tensor: shape} if k == key else {})} for k, v in RIGHT_SHAPES.items()}


class Classifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, read="h_n", batch_first=True, layers=1):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers=layers, batch_first=batch_first)
        self.head = nn.Linear(hidden_size, num_classes)
        self.read = read

    def forward(self, x):
        output, h_n = self.gru(x)
        if self.read == "h_n":
            return self.head(h_n[-1])
        if self.read == "output[:, -1]":
            return self.head(output[:, -1])
        if self.read == "first step":
            return self.head(output[:, 0])
        if self.read == "mean":
            return self.head(output.mean(dim=1))
        if self.read == "every step":
            return self.head(output)
        if self.read == "softmax":
            return torch.softmax(self.head(h_n[-1]), dim=-1)
        if self.read == "squeeze":
            return self.head(h_n.squeeze())
        if self.read == "output[-1]":
            return self.head(output[-1])
        raise ValueError(self.read)


def classifier(read="h_n", **options):
    class Learner(Classifier):
        def __init__(self, input_size, hidden_size, num_classes):
            super().__init__(input_size, hidden_size, num_classes, read=read, **options)
    return Learner


class SequentialClassifier(nn.Module):
    """Right, written differently: an nn.Sequential-free module that names its parts freely."""

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.rnn = nn.GRU(input_size=input_size, hidden_size=hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.out(h.squeeze(0))


ENTRIES = [
    Entry(A, "test_gru_param_count", "one bias", lambda *a: count(*a, biases=1), "one bias vector"),
    Entry(A, "test_gru_param_count", "no bias", lambda *a: count(*a, biases=0), "no biases"),
    Entry(A, "test_gru_param_count", "LSTM's 4 blocks", lambda *a: count(*a, blocks=4), "like an LSTM"),
    Entry(A, "test_gru_param_count", "RNN's 1 block", lambda *a: count(*a, blocks=1), "plain RNN"),
    Entry(A, "test_gru_param_count", "upper layers read input_size", lambda *a: count(*a, upper=lambda I, H: I),
          "D * H features"),
    Entry(A, "test_gru_param_count", "upper bidirectional layers read H", lambda *a: count(*a, upper=lambda I, H: H),
          "2 * H features"),
    Entry(A, "test_gru_param_count", "bidirectional ignored", lambda *a: count(*a, dirs=1), "doubles every layer"),
    Entry(A, "test_gru_param_count", "num_layers ignored", lambda I, H, L=1, bi=False: count(I, H, 1, bi),
          "num_layers was ignored"),
    Entry(A, "test_gru_param_count", "only the first layer doubled", lambda *a: count(*a, first_only_bi=True),
          "bidirectional and stacked"),
    Entry(A, "test_gru_param_count", "one weight matrix per gate", lambda I, H, L=1, bi=False: count(I, H, L, bi)
          - (2 if bi else 1) * L * 3 * H * H, "W_h (H x H)"),
    Entry(A, "test_gru_param_count", "loops over layers and directions", count_loop),
    Entry(A, "test_gru_param_count", "closed form", count_closed),
    Entry(A, "test_last_valid_output", "output[-1]", lvo_last, "last *padded* step"),
    Entry(A, "test_last_valid_output", "off by one (clamped)", lvo_off_by_one, "off by one"),
    Entry(A, "test_last_valid_output", "no batch index", lvo_no_arange, "arange(B)"),
    Entry(A, "test_last_valid_output", "batch_first ignored", lvo_ignores_batch_first, "batch_first=True was ignored"),
    Entry(A, "test_last_valid_output", "always batch_first", lvo_always_batch_first, "as if batch_first"),
    Entry(A, "test_last_valid_output", "squeezes the result", lvo_squeezed, "shape"),
    Entry(A, "test_last_valid_output", "zeroes the padding in place", lvo_zeroes_padding, "changed its inputs"),
    Entry(A, "test_last_valid_output", "the longest length for every sequence", lvo_max_length, "its own step"),
    Entry(A, "test_last_valid_output", "the first sequence's length for all", lvo_first_length, "its own step"),
    Entry(A, "test_last_valid_output", "fancy indexing", lvo_right),
    Entry(A, "test_last_valid_output", "gather, NumPy out", lvo_gather),
    Entry(A, "test_predicted_shapes", "bidirectional output with H", shapes_with("bidirectional", "output",
          (12, 2, 16)), "D * H"),
    Entry(A, "test_predicted_shapes", "h_n batch first", shapes_with("batch_first", "h_n", (4, 1, 20)),
          "even with batch_first=True"),
    Entry(A, "test_predicted_shapes", "h_n one per layer", shapes_with("bidirectional", "h_n", (3, 2, 16)),
          "per layer *and* per direction"),
    Entry(A, "test_predicted_shapes", "unbatched with a batch", shapes_with("unbatched", "output", (9, 1, 5)),
          "without a batch dimension"),
    Entry(A, "test_predicted_shapes", "seed output from all layers", shapes_with("seed", "output", (2, 3, 6)),
          "top layer's hidden state"),
    Entry(A, "test_predicted_shapes", "batch_first output time-major", shapes_with("batch_first", "output",
          (7, 4, 20)), "(B, T, ...)"),
    Entry(A, "test_predicted_shapes", "unbatched h_n with a batch", shapes_with("unbatched", "h_n", (1, 1, 5)),
          "without a batch dimension"),
    Entry(A, "test_predicted_shapes", "seed h_n with T as the batch", shapes_with("seed", "h_n", (2, 1, 6)),
          "(num_layers * D, B, H)"),
    Entry(A, "test_predicted_shapes", "right, with lists", {k: {t: list(s) for t, s in v.items()}
                                                            for k, v in RIGHT_SHAPES.items()}),
    Entry(A, "test_predicted_shapes", "right", RIGHT_SHAPES),
    Entry(A, "test_predicted_shapes", "right, built with dict()", dict((k, dict(v)) for k, v in RIGHT_SHAPES.items())),
    Entry(A, "test_gru_classifier", "first step", classifier("first step"), "first time step"),
    Entry(A, "test_gru_classifier", "mean over time", classifier("mean"), "averaged"),
    Entry(A, "test_gru_classifier", "linear at every step", classifier("every step"), "every time step"),
    Entry(A, "test_gru_classifier", "without batch_first", classifier(batch_first=False), "batch_first"),
    Entry(A, "test_gru_classifier", "softmax", classifier("softmax"), "softmax"),
    Entry(A, "test_gru_classifier", "h_n.squeeze()", classifier("squeeze"), "squeeze"),
    Entry(A, "test_gru_classifier", "output[-1] (the last sequence)", classifier("output[-1]"), "last *sequence*"),
    Entry(A, "test_gru_classifier", "two GRU layers", classifier(layers=2), "num_layers"),
    Entry(A, "test_gru_classifier", "h_n[-1]", classifier()),
    Entry(A, "test_gru_classifier", "output[:, -1]", classifier("output[:, -1]")),
    Entry(A, "test_gru_classifier", "own names, h.squeeze(0)", SequentialClassifier),
]
