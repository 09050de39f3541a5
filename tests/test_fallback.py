"""coursekit.fallback: the cells after an exercise use the learner's function only when it passes its check."""

import numpy as np

from coursekit.fallback import learner_or_reference


def reference_sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def test_a_correct_function_is_kept_silently(capsys):
    def mine(x):
        return 0.5 * (1 + np.tanh(0.5 * x))

    assert learner_or_reference("01-gru-concept", "test_sigmoid", mine, reference_sigmoid) is mine
    assert capsys.readouterr().out == ""


def test_a_wrong_function_falls_back_with_a_note(capsys):
    def wrong(x):
        return x

    chosen = learner_or_reference("01-gru-concept", "test_sigmoid", wrong, reference_sigmoid)
    assert chosen is reference_sigmoid
    note = capsys.readouterr().out
    assert "your sigmoid does not pass its check" in note and "reference implementation" in note


def test_a_stub_that_raises_falls_back(capsys):
    def stub(x):
        raise NotImplementedError

    assert learner_or_reference("01-gru-concept", "test_sigmoid", stub, reference_sigmoid) is reference_sigmoid
    assert "reference implementation" in capsys.readouterr().out
