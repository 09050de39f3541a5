"""The graded items of notebook 08-tang-poems: right answers pass (public and hidden), wrong ones written the way a
learner would write them fail with their own diagnosis, stubs fail, and the references agree with torch."""


import numpy as np
import pytest

from coursekit.checking import check, cases_for
from coursekit.items import get
from coursekit.items import tang_poems as tp

torch = pytest.importorskip("torch")
F = torch.nn.functional

PERPLEXITY = get("08-tang-poems", "test_perplexity")
SAMPLE = get("08-tang-poems", "test_sample_next")
WIDTH = get("08-tang-poems", "test_line_width_fraction")


def failure(item, target, hidden=False):
    with pytest.raises(AssertionError) as info:
        check(item, target, hidden=hidden, quiet=True)
    return str(info.value)


def passes(item, target):
    check(item, target, quiet=True)
    check(item, target, hidden=True, quiet=True)


def diagnosis(item, start, mistakes=None):
    matches = [text for text, _ in (mistakes or item.mistakes) if text.startswith(start)]
    assert len(matches) == 1, start
    return matches[0]


# ----------------------------------------------------------------------------------------------------------------
# perplexity
# ----------------------------------------------------------------------------------------------------------------

def test_perplexity_reference_is_torch_cross_entropy():
    for case in cases_for(PERPLEXITY, 3, hidden=True):
        logits, targets = case.args
        expected = torch.exp(F.cross_entropy(torch.from_numpy(logits).double(), torch.from_numpy(targets))).item()
        assert tp.perplexity_reference(logits, targets) == pytest.approx(expected, rel=1e-12)


def test_perplexity_of_uniform_logits_is_the_vocabulary_size():
    assert tp.perplexity_reference(np.zeros((4, 37)), np.array([0, 5, 9, 36])) == pytest.approx(37.0)


def test_perplexity_right_answers_pass():
    def with_cross_entropy(logits, targets):
        return torch.exp(F.cross_entropy(logits, targets)).item()

    def with_log_softmax(logits, targets):
        log_p = torch.log_softmax(logits, dim=-1)
        return torch.exp(-log_p[torch.arange(len(targets)), targets].mean())  # a 0-d tensor is fine

    passes(PERPLEXITY, with_cross_entropy)
    passes(PERPLEXITY, with_log_softmax)


def _log_p(logits, dim=-1):
    return torch.log_softmax(logits, dim=dim)


@pytest.mark.parametrize("wrong, start", [
    (lambda x, t: F.cross_entropy(x, t).item(), "the mean cross-entropy was returned"),
    (lambda x, t: torch.exp(-x[torch.arange(len(t)), t].mean()).item(), "the raw logit"),
    (lambda x, t: torch.exp(F.cross_entropy(x, t, reduction="none")).mean().item(), "the per-step values"),
    (lambda x, t: torch.exp(F.cross_entropy(x, t, reduction="sum")).item(), "the cross-entropy was summed"),
    (lambda x, t: torch.exp(-_log_p(x, 0)[torch.arange(len(t)), t].mean()).item(), "the softmax was taken over"),
    (lambda x, t: torch.exp(-_log_p(x).max(dim=-1).values.mean()).item(), "the most probable token"),
])
def test_perplexity_mistakes_are_diagnosed(wrong, start):
    assert diagnosis(PERPLEXITY, start) in failure(PERPLEXITY, wrong)


def test_perplexity_with_a_naive_softmax_overflows_on_large_logits():
    def perplexity(logits, targets):
        p = torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True)
        return torch.exp(-torch.log(p[torch.arange(len(targets)), targets]).mean()).item()

    check(PERPLEXITY, perplexity, quiet=True)  # fine on ordinary logits
    message = failure(PERPLEXITY, perplexity, hidden=True)
    assert "large logits" in message and "nan or inf" in message


@pytest.mark.parametrize("stub", [lambda x, t: 1.0, lambda x, t: float(x.shape[1]), lambda x, t: x.mean()])
def test_perplexity_stubs_fail(stub):
    failure(PERPLEXITY, stub)


def test_perplexity_not_implemented_fails():
    def perplexity(logits, targets):
        raise NotImplementedError()
    assert "NotImplementedError" in failure(PERPLEXITY, perplexity)


# ----------------------------------------------------------------------------------------------------------------
# sample_next
# ----------------------------------------------------------------------------------------------------------------

def sample_with(transform, *, generator=True, squeeze=True):
    def sample_next(logits, temperature, seed):
        probs = transform(logits, temperature)
        g = torch.Generator().manual_seed(seed) if generator else None
        draws = torch.multinomial(probs, 1, generator=g)
        return draws[:, 0] if squeeze else draws
    return sample_next


RIGHT = lambda x, T: torch.softmax(x / T, dim=-1)  # noqa: E731


def test_sample_right_answers_pass():
    passes(SAMPLE, sample_with(RIGHT))
    # unnormalised weights give the same draws: torch.multinomial normalises them itself
    passes(SAMPLE, sample_with(lambda x, T: torch.exp(x / T - (x / T).max(dim=-1, keepdim=True).values)))


def test_sample_reference_draws_follow_the_tempered_distribution():
    rng = np.random.default_rng(0)
    logits = np.tile(rng.standard_normal(6), (40000, 1))
    draws = tp.sample_next_reference(logits, 0.7, 123)
    p = np.exp(logits[0] / 0.7) / np.exp(logits[0] / 0.7).sum()
    assert np.abs(np.bincount(draws, minlength=6) / len(draws) - p).max() < 0.01
    assert np.array_equal(draws, tp.sample_next_reference(logits, 0.7, 123))
    assert not np.array_equal(draws, tp.sample_next_reference(logits, 0.7, 124))


@pytest.mark.parametrize("transform, start", [
    (lambda x, T: torch.softmax(x, dim=-1), "the temperature had no effect"),
    (lambda x, T: torch.softmax(x, dim=-1) / T, "the temperature had no effect"),
    (lambda x, T: torch.softmax(x * T, dim=-1), "the logits were multiplied"),
    (lambda x, T: torch.softmax(x / T, dim=0), "the softmax was taken over the rows"),
])
def test_sample_mistakes_are_diagnosed(transform, start):
    assert diagnosis(SAMPLE, start, tp.SAMPLE_MISTAKES) in failure(SAMPLE, sample_with(transform))


def test_sample_greedy_decoding_is_named():
    assert "greedy decoding" in failure(SAMPLE, lambda logits, T, seed: logits.argmax(dim=-1))


def test_sample_without_the_generator_is_told_to_use_it():
    message = failure(SAMPLE, sample_with(RIGHT, generator=False))
    assert "follow softmax(logits / temperature), but they are not the draws of this seed" in message


def test_sample_numpy_sampler_with_the_right_distribution_is_told_to_use_the_generator():
    def sample_next(logits, temperature, seed):
        p = torch.softmax(logits / temperature, dim=-1).numpy()
        rng = np.random.default_rng(seed)
        return np.array([rng.choice(p.shape[1], p=row) for row in p])
    assert "not the draws of this seed" in failure(SAMPLE, sample_next)


def test_sample_unsqueezed_output_is_named():
    assert "squeeze the sample axis" in failure(SAMPLE, sample_with(RIGHT, squeeze=False))


def test_sample_naive_exp_fails_on_the_cold_hidden_case():
    def sample_next(logits, temperature, seed):
        weights = torch.exp(logits / temperature)
        probs = weights / weights.sum(dim=-1, keepdim=True)
        return torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed))[:, 0]

    check(SAMPLE, sample_next, quiet=True)
    assert "temperature 0.05" in failure(SAMPLE, sample_next, hidden=True)


@pytest.mark.parametrize("stub", [lambda x, T, s: torch.zeros(x.shape[0], dtype=torch.long),
                                  lambda x, T, s: torch.arange(x.shape[0]) % x.shape[1],
                                  lambda x, T, s: torch.softmax(x / T, dim=-1)])
def test_sample_stubs_fail(stub):
    failure(SAMPLE, stub)


# ----------------------------------------------------------------------------------------------------------------
# line_width_fraction
# ----------------------------------------------------------------------------------------------------------------

def widths_with(*, trailing=False, with_mark=False, skip_empty=False, first_mark_only=False, count=False):
    """A learner-style loop over the ids, with one knob turned wrong (written apart from the item's variants)."""
    def line_width_fraction(ids, punctuation_ids, width):
        marks = set(int(m) for m in (punctuation_ids[:1] if first_mark_only else punctuation_ids))
        lengths, current = [], 0
        for token in ids:
            if int(token) in marks:
                if not (skip_empty and current == 0):
                    lengths.append(current + (1 if with_mark else 0))
                current = 0
            else:
                current += 1
        if trailing and current:
            lengths.append(current)
        right = sum(length == width for length in lengths)
        if count:
            return float(right)
        return right / len(lengths) if lengths else 0.0
    return line_width_fraction


def test_line_width_reference_on_a_written_example():
    # 床前明月光，疑是地上霜。举头望明月，低头思故 (cut off): ids 5.. are characters, 2 = "，", 3 = "。"
    ids = np.array([5, 6, 7, 8, 9, 2, 10, 11, 12, 13, 14, 3, 15, 16, 17, 8, 9, 2, 18, 16, 19, 20])
    assert tp.line_width_fraction_reference(ids, np.array([2, 3]), 5) == 1.0
    assert tp.line_width_fraction_reference(ids, np.array([2, 3]), 7) == 0.0
    ids = np.array([5, 6, 7, 2, 3, 8, 9, 10, 11, 12, 2])  # a 3-character line, an empty line, a 5-character line
    assert tp.line_width_fraction_reference(ids, np.array([2, 3]), 5) == pytest.approx(1 / 3)
    assert tp.line_width_fraction_reference(np.array([5, 6]), np.array([2, 3]), 5) == 0.0


def test_line_width_reference_agrees_with_coursekit_verse():
    from coursekit import verse
    for case in cases_for(WIDTH, 5, hidden=True):
        assert verse.line_width_fraction(*case.args) == tp.line_width_fraction_reference(*case.args)


def test_line_width_right_answers_pass():
    passes(WIDTH, widths_with())
    passes(WIDTH, tp.line_width_fraction_reference)


@pytest.mark.parametrize("knobs, start", [
    ({"trailing": True}, "the characters after the last mark"), ({"with_mark": True}, "the mark was counted"),
    ({"skip_empty": True}, "two marks in a row"), ({"first_mark_only": True}, "only the first punctuation id"),
    ({"count": True}, "the number of right lines"),
])
def test_line_width_mistakes_are_diagnosed(knobs, start):
    assert diagnosis(WIDTH, start) in failure(WIDTH, widths_with(**knobs))


def test_line_width_integer_count_is_told_to_return_a_fraction_of_floats():
    assert "expected floating point numbers" in failure(WIDTH, lambda ids, m, w: int(np.isin(ids, m).sum()))


def test_line_width_absolute_columns_are_diagnosed():
    def line_width_fraction(ids, punctuation_ids, width):
        positions = [i for i, token in enumerate(ids) if token in punctuation_ids]
        return sum(1 for p in positions if p % (width + 1) == width) / len(positions) if positions else 0.0
    assert diagnosis(WIDTH, "marks were checked at fixed columns") in failure(WIDTH, line_width_fraction)


def test_line_width_division_by_zero_without_lines_fails_on_the_hidden_case():
    def line_width_fraction(ids, punctuation_ids, width):
        return widths_with(count=True)(ids, punctuation_ids, width) / int(np.isin(ids, punctuation_ids).sum())
    check(WIDTH, line_width_fraction, quiet=True)
    assert "no mark at all" in failure(WIDTH, line_width_fraction, hidden=True)


@pytest.mark.parametrize("stub", [lambda ids, m, w: 0.0, lambda ids, m, w: 1.0, lambda ids, m, w: len(ids) / w])
def test_line_width_stubs_fail(stub):
    failure(WIDTH, stub)


# ----------------------------------------------------------------------------------------------------------------
# Chinese notebooks: every message of this notebook's items is in the catalog
# ----------------------------------------------------------------------------------------------------------------

# (that every message of these items has a translation: tests/test_i18n_messages.py)


def test_built_messages_are_chinese_in_a_chinese_notebook():
    with pytest.raises(AssertionError) as info:
        check(SAMPLE, sample_with(lambda x, T: torch.softmax(x * T, dim=-1)), quiet=True, language="zh_CN")
    assert "抽样结果与预期的不同。\n最可能的原因：logits 乘以了温度" in str(info.value)
    with pytest.raises(AssertionError) as info:
        check(SAMPLE, sample_with(RIGHT, squeeze=False), quiet=True, language="zh_CN")
    assert "输出的形状是 (3000, 1)；应为 (3000,)" in str(info.value)
