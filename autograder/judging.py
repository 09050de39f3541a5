"""Judging in the grader's process (在评分进程中判分): a clean room's plain outputs against cases drawn here.

The room sends back one packed result per item (``coursekit.harness.evaluate``) as display data; it is decoded
strictly (``checkdata``), rebuilt with strict types, and judged by ``coursekit.checking.judge`` on the very cases
this process drew and kept. Nothing the room sends can name the cases, the reference or the verdict.
"""

import dataclasses
import math
import traceback

from autograder.checkdata import decode_payloads, read_packed
from autograder.outcomes import Flag
from coursekit.checking import judge
from coursekit.i18n import Text, render

MAX_TEXT = 2000


class MalformedResult(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Judgement:
    """The verdict on one item: passed or not, the message for the learner, and a flag for the instructor."""

    passed: bool
    message: str
    flag: str | None = None
    missing: bool = False  # the learner never defined the target (roomrun says where its cell stopped)


def _text(value, limit=MAX_TEXT):
    if not isinstance(value, str):
        raise MalformedResult(f"expected text, got {type(value).__name__}")
    return value[:limit]


def _measures(value):
    if not isinstance(value, dict) or len(value) > 16:
        raise MalformedResult("measures are not a small dict")
    clean = {}
    for key, number in value.items():
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
            raise MalformedResult("a measure is not a finite number")
        clean[_text(key, 100)] = number
    return clean


def clean_outcomes(data, n_cases):
    """The outcomes of ``coursekit.harness.evaluate`` rebuilt with strict types (they came from the room)."""
    if not isinstance(data, dict) or not isinstance(data.get("outcomes"), tuple):
        raise MalformedResult("not an evaluate() result")
    if len(data["outcomes"]) != n_cases:
        raise MalformedResult(f"{len(data['outcomes'])} outcomes for {n_cases} cases")
    outcomes = []
    for outcome in data["outcomes"]:
        if not isinstance(outcome, dict) or not {"output", "error", "modified_input"} <= outcome.keys():
            raise MalformedResult("an outcome lacks output/error/modified_input")
        warnings_ = outcome.get("warnings", ())
        if not isinstance(warnings_, tuple) or not isinstance(outcome["modified_input"], bool):
            raise MalformedResult("an outcome has fields of the wrong type")
        outcomes.append({"output": outcome["output"],
                         "error": None if outcome["error"] is None else _text(outcome["error"]),
                         "modified_input": outcome["modified_input"],
                         "warnings": tuple(_text(w) for w in warnings_[:20]),
                         "measures": _measures(outcome.get("measures", {}))})
    return outcomes


def judge_result(item, cases, payloads, max_bytes, explain=lambda error: error, language="en"):
    """The Judgement of ``item`` from what its room published (``payloads``: base64 texts). ``explain(error)``
    adds the reason to a learner's error message (e.g. "torch is not available to graded code in ..."). The
    message is in ``language``, the submission's."""
    def lost(message, flag=None, missing=False):
        return Judgement(False, render(message, language), flag, missing)

    packed, flag, problem = decode_payloads(payloads, max_bytes)
    if packed is None:
        return lost(Text("the check of {target} {problem}", target=item.target, problem=problem), flag)
    try:
        data = read_packed(packed, max_bytes)
        if isinstance(data, dict) and data.get("missing") is True:
            return lost(Text("{target} is not defined.", target=item.target), missing=True)
        if isinstance(data, dict) and data.get("crash") is not None:
            return lost(Text("the check of {target} failed: {crash}", target=item.target,
                             crash=_text(data["crash"])))
        outcomes = clean_outcomes(data, len(cases))
    except Exception as exc:  # whatever the room sent, it never crashes the grader
        return lost(Text("the check of {target} returned data the grader cannot read ({error})",
                         target=item.target, error=exc), Flag.BAD_RESULT)
    for outcome in outcomes:
        outcome["error"] = explain(outcome["error"])
    try:
        verdict = judge(item, cases, outcomes, language)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return lost(Text("{target}: the output could not be compared with the answer ({error})",
                         target=item.target, error=error))
    return Judgement(verdict.passed, verdict.message)
