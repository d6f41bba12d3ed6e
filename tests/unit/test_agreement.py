"""Agreement statistics on hand-checked examples (kappa, alpha, acceptance, adjudication)."""

from __future__ import annotations

import math

import pytest

from annotation.agreement import ALL, cohen_kappa, compute, krippendorff_alpha
from annotation.pull import adjudicate

NAN = math.nan


def table(a: int, b: int, c: int, d: int) -> tuple[list[bool], list[bool]]:
    """Two raters' yes/no judgements from a 2x2 table: a both yes, b only rater 1, c only 2."""
    r1 = [True] * a + [True] * b + [False] * c + [False] * d
    r2 = [True] * a + [False] * b + [True] * c + [False] * d
    return r1, r2


def test_kappa_textbook_table() -> None:
    # 50 units: a=20, b=5, c=10, d=15 -> p_o = 35/50 = .7; p_yes1 = .5, p_yes2 = .6;
    # p_e = .5*.6 + .5*.4 = .5 -> kappa = (.7 - .5) / (1 - .5) = .4
    assert cohen_kappa(*table(20, 5, 10, 15)) == pytest.approx(0.4)


def test_kappa_small_table() -> None:
    # a=4, b=2, c=1, d=3 (N=10): p_o = .7; p_yes1 = .6, p_yes2 = .5; p_e = .3 + .2 = .5 -> .4
    assert cohen_kappa(*table(4, 2, 1, 3)) == pytest.approx(0.4)
    # chance-level: rater 2 always says no while rater 1 says yes on 10 of 40 -> kappa 0
    assert cohen_kappa(*table(0, 10, 0, 30)) == pytest.approx(0.0)


def test_kappa_extremes() -> None:
    assert cohen_kappa(*table(3, 0, 0, 7)) == pytest.approx(1.0)
    assert cohen_kappa(*table(0, 5, 5, 0)) == pytest.approx(-1.0)
    assert cohen_kappa(*table(0, 0, 0, 9)) is None  # both always "no": undefined
    assert cohen_kappa([], []) is None


def test_alpha_two_coders_binary_matches_closed_form() -> None:
    # 2 coders, binary, no missing: alpha = 1 - (n - 1) * disagreements / (n0 * n1) with n = 2N
    # table a=20, b=5, c=10, d=15: n = 100, n1 = 2*20 + 5 + 10 = 55, n0 = 45, 15 disagreements
    # alpha = 1 - 99 * 15 / (45 * 55) = 1 - 1485/2475 = 0.4
    r1, r2 = table(20, 5, 10, 15)
    matrix = [[float(x) for x in r1], [float(x) for x in r2]]
    assert krippendorff_alpha(matrix) == pytest.approx(0.4)


def test_alpha_krippendorff_reference_example_with_missing_values() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 0.743
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_alpha_undefined_cases() -> None:
    assert krippendorff_alpha([[1.0, 1.0], [1.0, 1.0]]) is None  # one value only
    assert krippendorff_alpha([[1.0, NAN], [NAN, 0.0]]) is None  # nothing pairable
    assert krippendorff_alpha([[1.0, 0.0]]) is None  # one coder


def test_acceptance_and_model_kappa() -> None:
    human = {"ann": {"s1": {"x", "y"}, "s2": set(), "s3": {"x"}, "s4": set()}}
    machine = {"s1": {"x"}, "s2": {"x"}, "s3": {"x", "y"}, "s4": set()}
    report = compute(human, machine, ["x", "y"])
    pooled = report.versus_model("ann", ALL)
    # predicted: s1 x, s2 x, s3 x, s3 y = 4; kept: s1 x, s3 x = 2; added: s1 y = 1
    assert (pooled.predicted, pooled.kept, pooled.added) == (4, 2, 1)
    assert pooled.acceptance == pytest.approx(0.5)
    x = report.versus_model("ann", "x")
    assert (x.predicted, x.kept, x.acceptance) == (3, 2, pytest.approx(2 / 3))
    # code x: human [1,0,1,0] vs machine [1,1,1,0]: p_o = .75, p_e = .5*.75 + .5*.25 = .5 -> .5
    assert x.kappa == pytest.approx(0.5)
    assert report.versus_model("ann", "y").acceptance == pytest.approx(0.0)


def test_two_annotators_kappa_and_alpha_per_code() -> None:
    human = {
        "a": {"s1": {"x"}, "s2": {"x"}, "s3": set(), "s4": set()},
        "b": {"s1": {"x"}, "s2": set(), "s3": set(), "s4": set(), "s5": {"x"}},
    }
    report = compute(human, {}, ["x"])
    x = report.code("x")
    # shared s1..s4: table a=1, b=1, c=0, d=2 -> p_o = .75, p_e = .5*.25 + .5*.75 = .5 -> .5
    assert x.kappa == pytest.approx(0.5)
    # alpha over pairable units only (s5 has one coder): n = 8, n1 = 3, n0 = 5, 1 disagreement
    # alpha = 1 - 7 * 1 / (5 * 3) = 8/15
    assert x.alpha == pytest.approx(8 / 15)
    assert report.shared_segments == 4 and report.segments == 5


def test_three_annotators_no_single_kappa_but_pairs_and_alpha() -> None:
    human = {
        "a": {"s1": {"x"}, "s2": set()},
        "b": {"s1": {"x"}, "s2": set()},
        "c": {"s1": {"x"}, "s2": {"x"}},
    }
    report = compute(human, {}, ["x"])
    x = report.code("x")
    assert x.kappa is None
    assert x.pairs["a | b"] == pytest.approx(1.0)
    assert x.alpha is not None
    assert report.to_csv().splitlines()[0].startswith("kind,code")


def test_adjudication_majority_and_ties() -> None:
    assert adjudicate([{"x": "positive"}, {}]) == {"x": "positive"}  # tie 1 of 2: kept
    assert adjudicate([{"x": "positive"}, {}, {}]) == {}  # 1 of 3: dropped
    assert adjudicate([{"x": "positive"}, {"x": "negative"}]) == {"x": "mixed"}
    assert adjudicate([{"x": "neutral"}, {"x": "negative"}]) == {"x": "negative"}
    assert adjudicate([{"x": "positive"}, {"x": "positive"}, {"x": "neutral"}]) == {"x": "positive"}
    assert adjudicate([]) == {}
