"""Hand-computed checks of every rule in bot/scoring.py, and the seed's first quarter.

Each expected figure is worked out in the comment next to it (and in docs/scoring.md), so a
failing test points at the rule, not at a snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.core.scheme_file import default_scheme
from bot.rules import scoring as sc
from bot.rules.scheme import Scheme

ROOT = Path(__file__).resolve().parents[2]
SEED_Q1 = ROOT / "tests" / "data" / "seed_q1.json"
SCORING_DOC = ROOT / "docs" / "scoring.md"

D = Decimal


@pytest.fixture(scope="module")
def scheme() -> Scheme:
    return default_scheme()


@pytest.fixture(scope="module")
def weights(scheme: Scheme) -> sc.SourceWeights:
    return scheme.source_weights()


@pytest.fixture(scope="module")
def policy(scheme: Scheme) -> sc.MissingPolicy:
    return scheme.missing_policy()


@pytest.fixture(scope="module")
def rules(scheme: Scheme) -> sc.DemocraticRules:
    return scheme.democratic_rules()


@pytest.fixture(scope="module")
def bands(scheme: Scheme) -> sc.GradeBands:
    return scheme.grade_bands()


# --- numbers and rounding -----------------------------------------------------------------------


def test_round_half_up_to_one_decimal_and_cents() -> None:
    assert sc.round_score(D("89.95")) == D("90.0")
    assert sc.round_score(D("89.949")) == D("89.9")
    assert sc.round_score(D("72.25")) == D("72.3")
    assert sc.round_money(D("1447.505")) == D("1447.51")
    assert str(sc.round_score(D("-0.04"))) == "0.0"


@pytest.mark.parametrize("value", [0.5, True, "90", D("NaN"), D("Infinity")])
def test_floats_booleans_strings_and_non_finite_numbers_are_refused(value: Any) -> None:
    with pytest.raises(sc.ScoringError):
        sc.to_decimal(value)


# --- items -------------------------------------------------------------------------------------


def test_judged_item_is_the_given_figure() -> None:
    result = sc.judged_item_score(87)
    assert result.score == D("87.0")
    assert result.method == "judged"
    with pytest.raises(sc.ScoringError):
        sc.judged_item_score(101)
    with pytest.raises(sc.ScoringError):
        sc.judged_item_score(-1)


def test_quantified_item_under_its_target() -> None:
    # 96 of 120 households verified: 96 / 120 = 0.8 -> 80.0
    result = sc.quantified_item_score(96, 120)
    assert result.score == D("80.0")
    assert result.ratio == D("0.8")
    assert result.flags == ()


def test_quantified_item_over_its_target_is_capped() -> None:
    # 130 of 120: min(130 / 120, 1) = 1 -> 100.0, flagged
    result = sc.quantified_item_score(130, 120)
    assert result.score == D("100.0")
    assert result.ratio == 1
    assert result.flags == (sc.Flag.TARGET_EXCEEDED,)


def test_quantified_item_rounds_half_up() -> None:
    # 2 of 3 = 0.6666... -> 66.666... -> 66.7
    assert sc.quantified_item_score(2, 3).score == D("66.7")
    # 1 of 8 = 0.125 -> 12.5 exactly
    assert sc.quantified_item_score(1, 8).score == D("12.5")


@pytest.mark.parametrize("target", [0, -5])
def test_quantified_item_refuses_a_target_of_zero_or_less(target: int) -> None:
    with pytest.raises(sc.ScoringError, match="target"):
        sc.quantified_item_score(10, target)


def test_quantified_item_refuses_a_negative_actual() -> None:
    with pytest.raises(sc.ScoringError):
        sc.quantified_item_score(-1, 10)


def test_weighted_rating_of_an_ordinary_cadre(scheme: Scheme) -> None:
    # (88 × 90 + 95 × 10) / 100 = (7920 + 950) / 100 = 88.7
    result = sc.weighted_rating({"duty": 88, "central": 95}, scheme.weights_for("ordinary"))
    assert result.score == D("88.7")
    assert result.weighted_sum == D(8870)
    assert result.weight_total == D(100)
    assert [(line.key, line.contribution) for line in result.lines] == [
        ("duty", D("79.20")),
        ("central", D("9.50")),
    ]


def test_weighted_rating_of_a_village_stationed_cadre(scheme: Scheme) -> None:
    # own duties 70, central work 10, village work 20:
    # (93 × 70 + 90 × 10 + 92 × 20) / 100 = (6510 + 900 + 1840) / 100 = 92.5
    result = sc.weighted_rating(
        {"duty": 93, "central": 90, "village": 92}, scheme.weights_for("village")
    )
    assert result.score == D("92.5")
    assert [line.weight for line in result.lines] == [D(70), D(10), D(20)]


def test_weighted_rating_mixes_judged_and_quantified_items(scheme: Scheme) -> None:
    # duty quantified: 96 / 120 -> 80.0; central judged 90: (80 × 90 + 90 × 10) / 100 = 81.0
    result = sc.weighted_rating(
        {"duty": sc.quantified_item_score(96, 120), "central": sc.judged_item_score(90)},
        scheme.weights_for("ordinary"),
    )
    assert result.score == D("81.0")


def test_weighted_rating_needs_exactly_the_category_items(scheme: Scheme) -> None:
    with pytest.raises(sc.ScoringError, match="missing"):
        sc.weighted_rating({"duty": 90}, scheme.weights_for("ordinary"))
    with pytest.raises(sc.ScoringError, match="unknown"):
        sc.weighted_rating({"duty": 90, "central": 90, "village": 90}, {"duty": 90, "central": 10})


def test_weighted_rating_breakdown_is_plain_data(scheme: Scheme) -> None:
    data = sc.weighted_rating({"duty": 88, "central": 95}, scheme.weights_for("ordinary")).as_dict()
    assert data["score"] == "88.7"
    assert data["lines"][0] == {
        "key": "duty",
        "score": "88",
        "weight": "90",
        "contribution": "79.20",
    }
    json.dumps(data)


# --- democratic evaluation ---------------------------------------------------------------------


def test_democratic_score_with_eleven_ballots_is_trimmed(rules: sc.DemocraticRules) -> None:
    # 6 × 95 + 5 × 85 = 995; drop one 95 and one 85: 815 / 9 = 90.555... -> 90.6
    result = sc.democratic_score({"excellent": 6, "good": 5}, rules)
    assert result.score == D("90.6")
    assert result.ballots == 11
    assert result.counted == 9
    assert result.dropped == (sc.Grade.EXCELLENT, sc.Grade.GOOD)
    assert result.points_total == D(815)


def test_democratic_trim_drops_the_extremes(rules: sc.DemocraticRules) -> None:
    # 95, 85, 85, 70, 50: drop 95 and 50 -> (85 + 85 + 70) / 3 = 80.0
    tally = sc.Tally(excellent=1, good=2, pass_=1, fail=1)
    result = sc.democratic_score(tally, rules)
    assert result.score == D("80.0")
    assert result.dropped == (sc.Grade.EXCELLENT, sc.Grade.FAIL)


def test_democratic_trim_when_all_ballots_agree(rules: sc.DemocraticRules) -> None:
    # five 85s: drop one 85 each end, (3 × 85) / 3 = 85.0
    result = sc.democratic_score(sc.Tally(good=5), rules)
    assert result.score == D("85.0")
    assert result.dropped == (sc.Grade.GOOD, sc.Grade.GOOD)


def test_democratic_score_below_trim_threshold_is_a_plain_mean(rules: sc.DemocraticRules) -> None:
    # 4 ballots, no trimming: (95 + 95 + 85 + 70) / 4 = 86.25 -> 86.3
    result = sc.democratic_score(sc.Tally(excellent=2, good=1, pass_=1), rules)
    assert result.score == D("86.3")
    assert result.dropped == ()
    assert result.counted == 4


def test_democratic_score_with_three_ballots_counts(rules: sc.DemocraticRules) -> None:
    # (85 + 70 + 50) / 3 = 68.333... -> 68.3
    assert sc.democratic_score(sc.Tally(good=1, pass_=1, fail=1), rules).score == D("68.3")


def test_democratic_score_needs_three_ballots(rules: sc.DemocraticRules) -> None:
    result = sc.democratic_score(sc.Tally(excellent=2), rules)
    assert result.score is None
    assert result.reason == sc.Flag.TOO_FEW_BALLOTS
    assert result.as_dict()["reason"] == "too_few_ballots"


def test_tally_from_individual_ballots_forgets_their_order() -> None:
    tally = sc.Tally.from_grades(["good", "excellent", sc.Grade.GOOD, "fail"])
    assert tally == sc.Tally(excellent=1, good=2, fail=1)
    assert tally.total == 4
    with pytest.raises(sc.ScoringError):
        sc.Tally.of({"superb": 1})
    with pytest.raises(sc.ScoringError):
        sc.Tally(good=-1)


# --- monthly score -----------------------------------------------------------------------------


def test_monthly_score_with_every_source(
    weights: sc.SourceWeights, policy: sc.MissingPolicy
) -> None:
    # 0.5 × 93.6 + 0.3 × 91.7 + 0.2 × 94.5 = 46.80 + 27.51 + 18.90 = 93.21 -> 93.2
    result = sc.monthly_score(D("93.6"), D("91.7"), D("94.5"), weights, policy)
    assert result.score == D("93.2")
    assert result.weighted_sum == D("93.21")
    assert result.weight_total == 1
    assert result.flags == ()
    assert not result.renormalised


def test_monthly_score_without_the_head_rating_renormalises(
    weights: sc.SourceWeights, policy: sc.MissingPolicy
) -> None:
    # head left out: (0.3 × 87.2 + 0.2 × 87.7) / 0.5 = (26.16 + 17.54) / 0.5 = 87.4
    result = sc.monthly_score(None, D("87.2"), D("87.7"), weights, policy)
    assert result.score == D("87.4")
    assert result.weight_total == D("0.5")
    assert result.flags == (sc.Flag.HEAD_MISSING,)
    assert result.renormalised
    head, democratic, self_ = result.lines
    assert head.counted is None and head.rule is sc.MissingRule.RENORMALISE
    assert head.weight_used == 0
    assert democratic.weight_used == D("0.6000")
    assert self_.weight_used == D("0.4000")


def test_monthly_score_without_the_self_score_counts_zero(
    weights: sc.SourceWeights, policy: sc.MissingPolicy
) -> None:
    # self counts 0: 0.5 × 90.9 + 0.3 × 89.4 + 0.2 × 0 = 45.45 + 26.82 = 72.27 -> 72.3
    result = sc.monthly_score(D("90.9"), D("89.4"), None, weights, policy)
    assert result.score == D("72.3")
    assert result.weight_total == 1
    assert result.flags == (sc.Flag.SELF_MISSING,)
    assert result.lines[2].counted == 0
    assert result.lines[2].rule is sc.MissingRule.ZERO


def test_monthly_score_with_too_few_ballots_renormalises(
    weights: sc.SourceWeights, policy: sc.MissingPolicy, rules: sc.DemocraticRules
) -> None:
    # democratic left out: (0.5 × 88 + 0.2 × 90) / 0.7 = 62 / 0.7 = 88.571... -> 88.6
    democratic = sc.democratic_score(sc.Tally(good=2), rules)
    result = sc.monthly_score(88, democratic, 90, weights, policy)
    assert result.score == D("88.6")
    assert result.flags == (sc.Flag.DEMOCRATIC_MISSING, sc.Flag.TOO_FEW_BALLOTS)


def test_monthly_score_takes_earlier_results(
    scheme: Scheme, weights: sc.SourceWeights, policy: sc.MissingPolicy, rules: sc.DemocraticRules
) -> None:
    head = sc.weighted_rating({"duty": 94, "central": 90}, scheme.weights_for("ordinary"))
    own = sc.weighted_rating({"duty": 95, "central": 90}, scheme.weights_for("ordinary"))
    democratic = sc.democratic_score(sc.Tally(excellent=7, good=4), rules)
    # head 93.6, democratic (665 + 340 - 95 - 85) / 9 = 91.666... -> 91.7, self 94.5 -> 93.2
    assert (head.score, democratic.score, own.score) == (D("93.6"), D("91.7"), D("94.5"))
    assert sc.monthly_score(head, democratic, own, weights, policy).score == D("93.2")


def test_monthly_score_with_nothing_submitted(
    weights: sc.SourceWeights, policy: sc.MissingPolicy
) -> None:
    # only the self-score stays in (as 0): 0.2 × 0 / 0.2 = 0
    result = sc.monthly_score(None, None, None, weights, policy)
    assert result.score == D("0.0")
    renormalise_all = sc.MissingPolicy(
        head=sc.MissingRule.RENORMALISE,
        democratic=sc.MissingRule.RENORMALISE,
        self_=sc.MissingRule.RENORMALISE,
    )
    empty = sc.monthly_score(None, None, None, weights, renormalise_all)
    assert empty.score is None
    assert sc.Flag.NO_SOURCES in empty.flags


def test_monthly_score_refuses_scores_outside_0_100(
    weights: sc.SourceWeights, policy: sc.MissingPolicy
) -> None:
    with pytest.raises(sc.ScoringError):
        sc.monthly_score(101, 90, 90, weights, policy)


def test_source_weights_must_add_up_to_one() -> None:
    with pytest.raises(sc.ScoringError):
        sc.SourceWeights(head=D("0.5"), democratic=D("0.3"), self_=D("0.3"))


# --- office rules ------------------------------------------------------------------------------


def test_office_rules_score_deducts_from_100(scheme: Scheme) -> None:
    # late twice (2 + 2) and a missed meeting (3): 100 - 7 = 93.0
    deductions = [
        scheme.deduction("late"),
        scheme.deduction("late"),
        scheme.deduction("missed_meeting"),
    ]
    result = sc.office_rules_score(deductions)
    assert result.score == D("93.0")
    assert result.deducted == D(7)
    assert [d["key"] for d in result.as_dict()["deductions"]] == ["late", "late", "missed_meeting"]


def test_office_rules_score_is_floored_at_zero() -> None:
    # 21 days absent at 5 points = 105: 100 - 105 -> floored at 0.0
    result = sc.office_rules_score([5] * 21)
    assert result.score == D("0.0")
    assert result.flags == (sc.Flag.FLOORED,)


def test_office_rules_score_without_deductions_is_the_base() -> None:
    assert sc.office_rules_score([]).score == D("100.0")


def test_office_rules_mean() -> None:
    # (100 + 93 + 96) / 3 = 96.333... -> 96.3
    assert sc.office_rules_mean([D(100), sc.office_rules_score([7]), 96]) == D("96.3")
    assert sc.office_rules_mean([]) is None


# --- quarter, half year, year ------------------------------------------------------------------


def test_quarterly_score_is_the_mean_of_the_months() -> None:
    # (93.2 + 93.0 + 93.8) / 3 = 280.0 / 3 = 93.333... -> 93.3
    result = sc.quarterly_score([D("93.2"), D("93.0"), D("93.8")])
    assert result.score == D("93.3")
    assert result.mean == D("93.3")
    assert result.flags == ()


def test_quarterly_score_with_a_leadership_adjustment() -> None:
    # (86.3 + 86.8 + 88.2) / 3 = 87.1, + 1.0 for a commendation = 88.1
    adjustment = sc.Adjustment(value=D("1.0"), reason="commended by the county")
    result = sc.quarterly_score([D("86.3"), D("86.8"), D("88.2")], [adjustment])
    assert result.mean == D("87.1")
    assert result.adjustment_total == D("1.0")
    assert result.score == D("88.1")
    assert result.as_dict()["adjustments"] == [
        {"value": "1.0", "reason": "commended by the county"}
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_adjustment_needs_a_written_reason(reason: str) -> None:
    with pytest.raises(sc.ScoringError, match="reason"):
        sc.Adjustment(value=D(2), reason=reason)


def test_quarterly_score_is_clamped_to_0_100() -> None:
    high = sc.quarterly_score([D(98), D(99), D(100)], [sc.Adjustment(D(5), "outstanding")])
    assert high.score == D("100.0")
    assert high.flags == (sc.Flag.CLAMPED,)
    low = sc.quarterly_score([D(2), D(3), D(1)], [sc.Adjustment(D(-10), "neglect of duty")])
    assert low.score == D("0.0")


def test_quarterly_score_skips_a_month_without_score() -> None:
    # joined in February: (84.0 + 86.0) / 2 = 85.0, flagged incomplete
    result = sc.quarterly_score([None, D(84), D(86)])
    assert result.score == D("85.0")
    assert result.flags == (sc.Flag.INCOMPLETE,)
    assert sc.quarterly_score([]).score is None
    with pytest.raises(sc.ScoringError):
        sc.quarterly_score([], [sc.Adjustment(D(1), "x")])
    with pytest.raises(sc.ScoringError):
        sc.quarterly_score([D(1)] * 4)


def test_half_year_and_annual_scores_are_means_of_quarters() -> None:
    # (93.3 + 92.5) / 2 = 92.9
    assert sc.half_year_score([D("93.3"), D("92.5")]).score == D("92.9")
    # (93.3 + 92.5 + 91.0 + 94.0) / 4 = 370.8 / 4 = 92.7
    year = sc.annual_score([D("93.3"), D("92.5"), D("91.0"), D("94.0")])
    assert year.score == D("92.7")
    assert year.kind == "year"
    # a quarter's adjustment carries into the year
    q1 = sc.quarterly_score([D(80), D(80), D(80)], [sc.Adjustment(D(4), "flood duty")])
    assert sc.annual_score([q1, D(80), D(80), D(80)]).score == D("81.0")


# --- grades ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (D("100"), sc.Grade.EXCELLENT),
        (D("90.0"), sc.Grade.EXCELLENT),
        (D("89.9"), sc.Grade.GOOD),
        (D("80"), sc.Grade.GOOD),
        (D("79.9"), sc.Grade.PASS),
        (D("60"), sc.Grade.PASS),
        (D("59.9"), sc.Grade.FAIL),
        (D("0"), sc.Grade.FAIL),
    ],
)
def test_grade_bands(score: Decimal, expected: sc.Grade, bands: sc.GradeBands) -> None:
    assert sc.grade(score, bands) is expected


def test_assign_grades_without_a_cap(bands: sc.GradeBands) -> None:
    result = sc.assign_grades({"a": D(95), "b": D(91), "c": D(85), "d": D(59)}, bands)
    assert result.grades == {
        "a": sc.Grade.EXCELLENT,
        "b": sc.Grade.EXCELLENT,
        "c": sc.Grade.GOOD,
        "d": sc.Grade.FAIL,
    }
    assert result.max_excellent is None


def test_excellent_cap_with_a_tie_at_the_edge(bands: sc.GradeBands) -> None:
    # 10 cadres, at most 30 %: floor(0.3 × 10) = 3 优秀. Five reach 90; A and B are clearly in,
    # C and D tie at 92 for the one place left: both are flagged, neither is picked at random.
    scores = {"A": D(95), "B": D(93), "C": D(92), "D": D(92), "E": D(91)}
    scores |= {f"x{i}": D(85) for i in range(5)}
    result = sc.assign_grades(scores, bands, D("0.30"))
    assert result.max_excellent == 3
    assert result.eligible == ("A", "B", "C", "D", "E")
    assert result.grades["A"] is result.grades["B"] is sc.Grade.EXCELLENT
    assert result.tied == ("C", "D")
    assert result.slots_for_tied == 1
    assert result.grades["C"] is result.grades["D"] is sc.Grade.GOOD
    assert result.flags["C"] == result.flags["D"] == (sc.Flag.TIE_AT_CAP,)
    assert result.capped == ("E",)
    assert result.flags["E"] == (sc.Flag.CAPPED,)
    assert result.count(sc.Grade.EXCELLENT) == 2 <= 3


def test_excellent_cap_without_a_tie(bands: sc.GradeBands) -> None:
    # 12 cadres, 25 %: floor(3.0) = 3; four reach 90 with distinct scores: the lowest is capped.
    scores = {"A": D(95), "B": D(93), "C": D(92), "D": D(90)} | {f"x{i}": D(85) for i in range(8)}
    result = sc.assign_grades(scores, bands, D("0.25"))
    assert result.count(sc.Grade.EXCELLENT) == 3
    assert result.tied == ()
    assert result.capped == ("D",)


def test_excellent_cap_rounds_down(bands: sc.GradeBands) -> None:
    # 3 cadres at 30 %: floor(0.9) = 0 places; nobody is 优秀, nobody is "tied"
    result = sc.assign_grades({"a": D(95), "b": D(95), "c": D(70)}, bands, D("0.3"))
    assert result.max_excellent == 0
    assert result.count(sc.Grade.EXCELLENT) == 0
    assert result.tied == ()
    assert result.capped == ("a", "b")


def test_cap_not_reached_changes_nothing(bands: sc.GradeBands) -> None:
    result = sc.assign_grades({"a": D(95), "b": D(80), "c": D(80)}, bands, D("0.5"))
    assert result.grades["a"] is sc.Grade.EXCELLENT
    assert result.flags == {"a": (), "b": (), "c": ()}


# --- year-end bonus ----------------------------------------------------------------------------


def test_year_end_bonus(scheme: Scheme) -> None:
    # 10000 × 0.15 × 96.5 / 100 = 1447.50; 10000 × 0.85 × 88.6 / 100 = 7531.00
    # 1447.50 + 7531.00 + 500 (reward) - 200 (deduction) = 9278.50
    result = sc.year_end_bonus(
        scheme.bonus.base,
        D("96.5"),
        D("88.6"),
        scheme.bonus.office_rules_share,
        rewards=[D(500)],
        deductions=[D(200)],
    )
    assert result.office_rules_part == D("1447.50")
    assert result.performance_part == D("7531.00")
    assert result.amount == D("9278.50")
    assert result.as_dict()["amount"] == "9278.50"


def test_year_end_bonus_rounds_each_part_to_the_cent() -> None:
    # 3333.33 × 0.15 × 0.913 = 456.4995... -> 456.50
    # 3333.33 × 0.85 × 0.877 = 2484.8308... -> 2484.83; 456.50 + 2484.83 = 2941.33
    result = sc.year_end_bonus(D("3333.33"), D("91.3"), D("87.7"), D("0.15"))
    assert result.office_rules_part == D("456.50")
    assert result.performance_part == D("2484.83")
    assert result.amount == D("2941.33")


def test_year_end_bonus_is_never_negative() -> None:
    result = sc.year_end_bonus(D(1000), D(50), D(50), D("0.15"), deductions=D(2000))
    assert result.amount == D("0.00")
    assert result.flags == (sc.Flag.FLOORED,)


def test_year_end_bonus_refuses_bad_inputs() -> None:
    with pytest.raises(sc.ScoringError):
        sc.year_end_bonus(D(1000), D(90), D(90), D("1.5"))
    with pytest.raises(sc.ScoringError):
        sc.year_end_bonus(D(1000), D(90), D(90), D("0.15"), rewards=[D(-1)])
    with pytest.raises(sc.ScoringError):
        sc.year_end_bonus(D(-1), D(90), D(90), D("0.15"))


# --- the seed's first quarter ------------------------------------------------------------------

GRADE_LABELS = {sc.Grade.EXCELLENT: "优秀", sc.Grade.GOOD: "良好", sc.Grade.PASS: "及格"}
MONTH_LABELS = ("1月", "2月", "3月")
DASH = "—"


@dataclass(frozen=True)
class SeedCadre:
    """One cadre of tests/data/seed_q1.json, computed through bot.rules.scoring."""

    id: str
    category: str
    raw_months: list[dict[str, Any]]
    heads: list[sc.WeightedRating | None]
    democratic: list[sc.DemocraticScore]
    selves: list[sc.WeightedRating | None]
    monthly: list[sc.MonthlyScore]
    quarter: sc.PeriodScore


def _rating(items: dict[str, int] | None, weights: dict[str, Decimal]) -> sc.WeightedRating | None:
    return None if items is None else sc.weighted_rating(items, weights)


def compute_seed(scheme: Scheme) -> tuple[list[SeedCadre], sc.GradeAssignment[str]]:
    """Run the seed's first quarter through the rules, exactly as the bot would."""
    data = json.loads(SEED_Q1.read_text(encoding="utf-8"))
    cadres = []
    for raw in data["cadres"]:
        weights = scheme.weights_for(raw["category"])
        heads = [_rating(m["head"], weights) for m in raw["months"]]
        selves = [_rating(m["self"], weights) for m in raw["months"]]
        democratic = [
            sc.democratic_score(m["ballots"], scheme.democratic_rules()) for m in raw["months"]
        ]
        monthly = [
            sc.monthly_score(h, d, s, scheme.source_weights(), scheme.missing_policy())
            for h, d, s in zip(heads, democratic, selves, strict=True)
        ]
        adjustments = [sc.Adjustment(D(a["value"]), a["reason"]) for a in raw["adjustments"]]
        quarter = sc.quarterly_score(monthly, adjustments)
        cadres.append(
            SeedCadre(
                raw["id"],
                raw["category"],
                raw["months"],
                heads,
                democratic,
                selves,
                monthly,
                quarter,
            )
        )
    scores = {c.id: c.quarter.score for c in cadres if c.quarter.score is not None}
    return cadres, sc.assign_grades(scores, scheme.grade_bands(), scheme.excellent_cap)


def _items(items: dict[str, int] | None) -> str:
    return DASH if items is None else " / ".join(str(v) for v in items.values())


def _fig(value: Decimal | None) -> str:
    return DASH if value is None else str(value)


def monthly_rows(cadre: SeedCadre) -> list[str]:
    """The cadre's rows of the monthly table in docs/scoring.md."""
    rows = []
    for i, raw in enumerate(cadre.raw_months):
        ballots = " / ".join(str(raw["ballots"][g]) for g in ("excellent", "good", "pass", "fail"))
        head, democratic, own = cadre.heads[i], cadre.democratic[i], cadre.selves[i]
        cells = [
            cadre.id,
            MONTH_LABELS[i],
            _items(raw["head"]),
            _fig(head.score if head else None),
            ballots,
            _fig(democratic.score),
            _items(raw["self"]),
            _fig(own.score if own else None),
            _fig(cadre.monthly[i].score),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def quarterly_row(cadre: SeedCadre, assignment: sc.GradeAssignment[str]) -> str:
    """The cadre's row of the quarterly table in docs/scoring.md."""
    adjustment = cadre.quarter.adjustment_total
    cells = [
        cadre.id,
        "village" if cadre.category == "village" else "ordinary",
        *(_fig(m.score) for m in cadre.monthly),
        _fig(cadre.quarter.mean),
        f"{adjustment:+}" if cadre.quarter.adjustments else DASH,
        _fig(cadre.quarter.score),
        GRADE_LABELS[assignment.grades[cadre.id]],
    ]
    return "| " + " | ".join(cells) + " |"


EXPECTED_Q1 = {
    "VV": "93.3",
    "CC": "92.0",
    "GG": "92.5",
    "EE": "84.1",
    "FF": "88.1",
    "HH": "85.6",
    "JJ": "85.5",
    "KK": "86.9",
    "LL": "83.6",
    "MM": "82.7",
    "NN": "86.1",
    "PP": "82.1",
}


def test_seed_first_quarter_gives_three_excellent_and_nine_good(scheme: Scheme) -> None:
    cadres, assignment = compute_seed(scheme)
    assert len(cadres) == 12
    assert {c.id: str(c.quarter.score) for c in cadres} == EXPECTED_Q1
    assert assignment.count(sc.Grade.EXCELLENT) == 3
    assert assignment.count(sc.Grade.GOOD) == 9
    excellent = {k for k, g in assignment.grades.items() if g is sc.Grade.EXCELLENT}
    assert excellent == {"VV", "CC", "GG"}


def test_seed_first_quarter_exercises_the_missing_rules(scheme: Scheme) -> None:
    cadres = {c.id: c for c in compute_seed(scheme)[0]}
    # KK's head did not rate February: renormalised, the head is flagged
    assert cadres["KK"].monthly[1].flags == (sc.Flag.HEAD_MISSING,)
    assert cadres["KK"].monthly[1].score == D("87.4")
    # EE forgot the March self-score: it counts 0 and costs EE the 优秀
    assert cadres["EE"].monthly[2].flags == (sc.Flag.SELF_MISSING,)
    assert cadres["EE"].monthly[2].score == D("72.3")
    # GG is village-stationed: three items, weights 70/10/20
    assert cadres["GG"].category == "village"
    assert cadres["GG"].heads[0] is not None and cadres["GG"].heads[0].score == D("92.5")


def test_scoring_doc_shows_the_computed_seed_figures(scheme: Scheme) -> None:
    """The tables in docs/scoring.md are the computed figures, row for row."""
    doc = SCORING_DOC.read_text(encoding="utf-8")
    cadres, assignment = compute_seed(scheme)
    for cadre in cadres:
        for row in monthly_rows(cadre):
            assert row in doc, row
        row = quarterly_row(cadre, assignment)
        assert row in doc, row
        assert str(cadre.quarter.score) in doc


def test_month_target_is_the_years_share_or_the_months_own_figure() -> None:
    assert sc.month_target(D(120), 3, "even") == D(10)
    assert sc.month_target(D(120), 3, "annual") == D(120)  # version 1 of the scheme
    own = [None] * 12
    own[6] = D(40)  # July: the campaign month
    assert sc.month_target(D(120), 7, "even", own) == D(40)
    assert sc.month_target(D(120), 8, "even", own) == D(10)
    # Exactly on pace is full points; half the pace is half.
    assert sc.quantified_item_score(D(10), sc.month_target(D(120), 11, "even")).score == D(100)
    assert sc.quantified_item_score(D(5), sc.month_target(D(120), 11, "even")).score == D(50)
    with pytest.raises(sc.ScoringError):
        sc.month_target(D(120), 13, "even")
