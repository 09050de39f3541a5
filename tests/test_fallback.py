"""coursekit.fallback: the cells after an exercise use the learner's function only when it passes its check."""

import numpy as np

from coursekit import i18n
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


def test_the_note_is_in_the_notebooks_language(capsys):
    i18n.set_language("zh_CN")  # as the grader does; in JupyterLab the notebook's metadata says it
    try:
        assert learner_or_reference("01-gru-concept", "test_sigmoid", lambda x: x, reference_sigmoid) is \
            reference_sigmoid
    finally:
        i18n.set_language(None)
    note = capsys.readouterr().out
    assert note.startswith("注意：你的 sigmoid 还没有通过检查（sigmoid 还不对：") and "参考实现" in note
    assert "。）" not in note  # the check's own first line is quoted without its period
