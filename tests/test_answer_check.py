"""The spec's check, for every workload, on the answers of a real dataset's manifest: the
manifest's own answer passes (also as the NumPy and pandas types engines return), and each way an
answer can be wrong is a mismatch naming it: a wrong value, a missing key, an unexpected key, a
value that is not an integer where the spec wants one (2.7 goals are not 2)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from workloads import spec
from workloads.data.dataset import Dataset
from workloads.runtime.errors import AnswerMismatch

KEYED = [w for w in spec.WORKLOADS if w.keyed]
SINGLE = [w for w in spec.WORKLOADS if not w.keyed]


@pytest.fixture(scope="module")
def small(dataset: Callable[[str], Dataset]) -> Dataset:
    return dataset("0.01")


def some_key(answer: dict[str, Any]) -> str:
    """The smallest key, so that the mismatch message (sorted keys) names it first."""
    return min(answer)


def nudged(workload: str, value: Any) -> Any:
    """`value` (the manifest's JSON form) changed beyond the workload's tolerance."""
    if workload == "team_records":
        return {**value, "goals_for": value["goals_for"] + 1}
    if workload == "top_scorers":
        return [value[0], value[1] + 1]
    if workload == "team_ratings":
        return value + 1e-5  # the tolerance is 1e-6
    if workload == "mean_home_score":
        return value * (1 + 1e-8)  # the tolerance is a relative 1e-9
    return value + 1


def mismatch(workload: spec.Workload, expected: Any, actual: Any) -> str:
    with pytest.raises(AnswerMismatch) as caught:
        workload.check(expected, actual)
    message = str(caught.value)
    assert message.startswith(f"{workload.name}: "), message
    return message


@pytest.mark.parametrize("workload", spec.WORKLOADS, ids=spec.NAMES)
def test_the_manifest_answer_passes(small: Dataset, workload: spec.Workload) -> None:
    expected = small.answer(workload.name)
    workload.check(expected, copy.deepcopy(expected))


@pytest.mark.parametrize("workload", spec.WORKLOADS, ids=spec.NAMES)
def test_a_wrong_value_is_a_mismatch(small: Dataset, workload: spec.Workload) -> None:
    expected = small.answer(workload.name)
    if workload.keyed:
        key = some_key(expected)
        wrong = {**expected, key: nudged(workload.name, expected[key])}
        message = mismatch(workload, expected, wrong)
        assert f"1 differ, first {key!r}: expected " in message
        assert "missing" not in message and "unexpected" not in message
    else:
        message = mismatch(workload, expected, nudged(workload.name, expected))
        assert f"expected {expected!r}, got " in message


@pytest.mark.parametrize("workload", KEYED, ids=[w.name for w in KEYED])
def test_a_missing_key_is_a_mismatch(small: Dataset, workload: spec.Workload) -> None:
    expected = small.answer(workload.name)
    key = some_key(expected)
    message = mismatch(workload, expected, {k: v for k, v in expected.items() if k != key})
    assert f"1 missing, first [{key!r}]" in message and " differ, " not in message


@pytest.mark.parametrize("workload", KEYED, ids=[w.name for w in KEYED])
def test_an_unexpected_key_is_a_mismatch(small: Dataset, workload: spec.Workload) -> None:
    expected = small.answer(workload.name)
    value = next(iter(expected.values()))
    message = mismatch(workload, expected, {**expected, "no such key": value})
    assert "1 unexpected, first ['no such key']" in message and "missing" not in message


@pytest.mark.parametrize("workload", SINGLE, ids=[w.name for w in SINGLE])
def test_no_answer_is_a_mismatch(small: Dataset, workload: spec.Workload) -> None:
    expected = small.answer(workload.name)
    assert f"expected {expected!r}, got None" in mismatch(workload, expected, None)


# --------------------------------------------------------------------------- integers


def _records_with_goals(expected: dict[str, Any], goals: Any) -> tuple[str, dict[str, Any]]:
    team = some_key(expected)
    return team, {**expected, team: {**expected[team], "goals_for": goals}}


@pytest.mark.parametrize("offset", [0.7, -0.3], ids=["truncates-to-it", "rounds-to-it"])
def test_a_team_record_with_fractional_goals_fails(small: Dataset, offset: float) -> None:
    """2.7 goals where 2 are expected (int() would truncate to 2), and where 3 are (round()
    would give 3): neither agrees."""
    w = spec.get("team_records")
    expected = small.answer(w.name)
    goals = expected[some_key(expected)]["goals_for"] + offset
    team, wrong = _records_with_goals(expected, goals)
    message = mismatch(w, expected, wrong)
    assert f"1 differ, first {team!r}: " in message and f"goals_for={goals!r}" in message


@pytest.mark.parametrize("workload", ["wordcount", "unbeaten_streaks", "top_scorers"])
@pytest.mark.parametrize("bad", [0.5, "text", True], ids=["fraction", "string", "bool"])
def test_a_count_that_is_not_an_integer_fails(small: Dataset, workload: str, bad: Any) -> None:
    """A count, a run or a goal total as n + 0.5 (int() would truncate it to n), as its digits
    in a string, or as the bool True where the count is 1 (in Python, True == 1)."""
    w = spec.get(workload)
    expected = small.answer(workload)
    key = some_key(expected)

    def with_count(answer: dict[str, Any], count: Any) -> dict[str, Any]:
        return {**answer, key: [answer[key][0], count] if workload == "top_scorers" else count}

    if bad is True:
        expected = with_count(expected, 1)
    count = expected[key][1] if workload == "top_scorers" else expected[key]
    value = True if bad is True else count + bad if bad == 0.5 else str(count)
    message = mismatch(w, expected, with_count(expected, value))
    assert f"1 differ, first {key!r}: expected " in message and repr(value) in message


@pytest.mark.parametrize("bad", [0.4, "8", True, np.True_, float("nan")])
def test_home_advantage_that_is_not_an_integer_fails(bad: Any) -> None:
    w = spec.get("home_advantage")
    expected = 1 if bad is True or bad is np.True_ else 8
    message = mismatch(w, expected, expected + bad if isinstance(bad, float) else bad)
    assert message.startswith(f"home_advantage: expected {expected}, got ")


@pytest.mark.parametrize("workload", ["mean_home_score", "team_ratings"])
def test_a_number_as_text_fails_where_a_float_is_wanted(small: Dataset, workload: str) -> None:
    w = spec.get(workload)
    expected = small.answer(workload)
    if w.keyed:
        key = some_key(expected)
        mismatch(w, expected, {**expected, key: str(expected[key])})
    else:
        mismatch(w, expected, str(expected))


def numpy_form(workload: str, answer: Any) -> Any:
    """The answer with the scalar types engines return: NumPy strings, integers and floats,
    integer counts among them as integral floats (a pandas column that went through a join with
    gaps turns to float64)."""
    if workload == "team_records":
        return {np.str_(t): tuple(np.float64(r[f]) if i % 2 else np.int32(r[f])
                                  for i, f in enumerate(spec.RECORD_FIELDS))
                for t, r in answer.items()}
    if workload == "top_scorers":
        return {np.str_(t): (np.str_(s), np.float64(g)) for t, (s, g) in answer.items()}
    if workload == "team_ratings":
        return {np.str_(k): np.float64(v) for k, v in answer.items()}
    if workload == "mean_home_score":
        return np.float64(answer)
    if isinstance(answer, dict):  # alternate float64 and int64 counts
        return {np.str_(k): np.float64(v) if i % 2 else np.int64(v)
                for i, (k, v) in enumerate(answer.items())}
    return np.int64(answer)


@pytest.mark.parametrize("workload", spec.WORKLOADS, ids=spec.NAMES)
def test_numpy_integers_and_integral_floats_pass(small: Dataset, workload: spec.Workload) -> None:
    expected = small.answer(workload.name)
    workload.check(expected, numpy_form(workload.name, expected))
    # the JSON form an engine's answer is printed in is the manifest's, not NumPy's
    assert spec.answer_to_json(workload.name, numpy_form(workload.name, expected)) == expected


@pytest.mark.parametrize(("answer", "written"), [
    ({"the": np.True_, "a": np.float64(2.7), "an": np.float64(3.0)}, '{"the": true, "a": 2.7, '
                                                                     '"an": 3}'),
    ({"the": "3"}, '{"the": "3"}'),
])
def test_a_wrong_count_keeps_a_json_form(answer: dict[str, Any], written: str) -> None:
    """`python -m workloads run --json` prints an engine's answer even when it fails the check:
    the wrong values as they are, not rounded."""
    assert json.dumps(spec.answer_to_json("wordcount", answer)) == written
