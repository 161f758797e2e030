"""Properties the rules must keep for any input, checked with hypothesis.

Hand-computed examples (tests/test_scoring.py) show the rules are right where someone looked;
these show they stay sane everywhere: scores within 0-100, more never scores less, the order of
secret ballots is irrelevant, the cap on 优秀 is never exceeded.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.scheme_file import default_scheme
from bot.rules import scoring as sc

FAST = settings(max_examples=200, deadline=None)

SCHEME = default_scheme()
WEIGHTS = SCHEME.source_weights()
POLICY = SCHEME.missing_policy()
RULES = SCHEME.democratic_rules()
BANDS = SCHEME.grade_bands()
ZERO, HUNDRED = Decimal(0), Decimal(100)

# Scores as people and earlier stages give them: 0.0 to 100.0 in steps of 0.1 ...
tenths = st.integers(min_value=0, max_value=1000).map(lambda n: Decimal(n) / 10)
# ... and finer ones, to make sure nothing depends on one decimal
scores = st.one_of(
    tenths,
    st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False),
)
maybe_scores = st.one_of(st.none(), scores)
grades = st.sampled_from(list(sc.Grade))
ballots = st.lists(grades, max_size=40)
categories = st.sampled_from(SCHEME.categories)


def within(value: Decimal | None) -> bool:
    return value is None or ZERO <= value <= HUNDRED


def better(grade: sc.Grade) -> sc.Grade:
    """The grade one step up (优秀 stays 优秀)."""
    index = sc.GRADE_ORDER.index(grade)
    return sc.GRADE_ORDER[max(index - 1, 0)]


# --- every score stays within 0-100 ------------------------------------------------------------


@FAST
@given(category=categories, data=st.data())
def test_weighted_rating_within_bounds(category: str, data: st.DataObject) -> None:
    weights = SCHEME.weights_for(category)
    items = {key: data.draw(scores, label=key) for key in weights}
    assert within(sc.weighted_rating(items, weights).score)


@FAST
@given(votes=ballots)
def test_democratic_score_within_bounds(votes: list[sc.Grade]) -> None:
    result = sc.democratic_score(sc.Tally.from_grades(votes), RULES)
    assert within(result.score)
    assert (result.score is None) == (len(votes) < RULES.min_ballots)
    if result.score is not None:
        assert RULES.points.fail <= result.score <= RULES.points.excellent


@FAST
@given(head=maybe_scores, democratic=maybe_scores, own=maybe_scores)
def test_monthly_score_within_bounds(
    head: Decimal | None, democratic: Decimal | None, own: Decimal | None
) -> None:
    assert within(sc.monthly_score(head, democratic, own, WEIGHTS, POLICY).score)


@FAST
@given(deductions=st.lists(st.integers(min_value=0, max_value=30), max_size=30))
def test_office_rules_score_within_bounds(deductions: list[int]) -> None:
    assert within(sc.office_rules_score(deductions).score)


@FAST
@given(
    months=st.lists(maybe_scores, max_size=3),
    adjustments=st.lists(st.integers(min_value=-300, max_value=300), max_size=3),
)
def test_period_scores_within_bounds(months: list[Decimal | None], adjustments: list[int]) -> None:
    quarter = sc.quarterly_score(months)
    assert within(quarter.score)
    if quarter.score is not None:
        adjusted = sc.quarterly_score(
            months, [sc.Adjustment(Decimal(a) / 10, "review") for a in adjustments]
        )
        assert within(adjusted.score)
    assert within(sc.annual_score([quarter, *months]).score)
    assert within(sc.half_year_score(months[:2]).score)


@FAST
@given(quarters=st.lists(maybe_scores, min_size=1, max_size=4))
def test_annual_score_lies_between_its_quarters(quarters: list[Decimal | None]) -> None:
    result = sc.annual_score(quarters)
    present = [q for q in quarters if q is not None]
    if present:
        assert result.score is not None
        assert sc.round_score(min(present)) <= result.score <= sc.round_score(max(present))


# --- raising any input never lowers the score --------------------------------------------------


@FAST
@given(category=categories, data=st.data())
def test_weighted_rating_is_monotone(category: str, data: st.DataObject) -> None:
    weights = SCHEME.weights_for(category)
    items = {key: data.draw(scores, label=key) for key in weights}
    key = data.draw(st.sampled_from(list(weights)), label="raised item")
    bump = data.draw(scores, label="bump")
    raised = dict(items, **{key: min(items[key] + bump, HUNDRED)})
    assert sc.weighted_rating(raised, weights).score >= sc.weighted_rating(items, weights).score


@FAST
@given(
    actual=st.integers(min_value=0, max_value=500),
    more=st.integers(0, 100),
    target=st.integers(1, 300),
)
def test_quantified_item_is_monotone(actual: int, more: int, target: int) -> None:
    low = sc.quantified_item_score(actual, target).score
    high = sc.quantified_item_score(actual + more, target).score
    assert ZERO <= low <= high <= HUNDRED


@FAST
@given(votes=ballots.filter(lambda v: len(v) >= 3), data=st.data())
def test_a_better_ballot_never_lowers_the_democratic_score(
    votes: list[sc.Grade], data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(votes) - 1), label="ballot")
    improved = [*votes[:index], better(votes[index]), *votes[index + 1 :]]
    before = sc.democratic_score(sc.Tally.from_grades(votes), RULES).score
    after = sc.democratic_score(sc.Tally.from_grades(improved), RULES).score
    assert before is not None and after is not None
    assert after >= before


@FAST
@given(
    head=maybe_scores,
    democratic=maybe_scores,
    own=maybe_scores,
    source=st.sampled_from(list(sc.Source)),
    bump=scores,
)
def test_monthly_score_is_monotone(
    head: Decimal | None,
    democratic: Decimal | None,
    own: Decimal | None,
    source: sc.Source,
    bump: Decimal,
) -> None:
    values = {sc.Source.HEAD: head, sc.Source.DEMOCRATIC: democratic, sc.Source.SELF: own}
    current = values[source]
    if current is None:
        return
    raised = dict(values, **{source: min(current + bump, HUNDRED)})
    before = sc.monthly_score(head, democratic, own, WEIGHTS, POLICY).score
    after = sc.monthly_score(
        raised[sc.Source.HEAD],
        raised[sc.Source.DEMOCRATIC],
        raised[sc.Source.SELF],
        WEIGHTS,
        POLICY,
    ).score
    assert before is not None and after is not None
    assert after >= before


@FAST
@given(
    months=st.lists(scores, min_size=1, max_size=3),
    data=st.data(),
    adjustment=st.integers(min_value=-200, max_value=200),
)
def test_quarterly_score_is_monotone(
    months: list[Decimal], data: st.DataObject, adjustment: int
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(months) - 1), label="month")
    raised = list(months)
    raised[index] = min(months[index] + data.draw(scores, label="bump"), HUNDRED)
    adjustments = [sc.Adjustment(Decimal(adjustment) / 10, "review")]
    before = sc.quarterly_score(months, adjustments).score
    after = sc.quarterly_score(raised, adjustments).score
    assert before is not None and after is not None
    assert after >= before


@FAST
@given(
    deductions=st.lists(st.integers(min_value=0, max_value=20), max_size=10),
    extra=st.integers(min_value=0, max_value=20),
)
def test_another_deduction_never_raises_the_office_rules_score(
    deductions: list[int], extra: int
) -> None:
    assert (
        sc.office_rules_score([*deductions, extra]).score <= sc.office_rules_score(deductions).score
    )


@FAST
@given(
    base=st.integers(min_value=0, max_value=100_000),
    office=scores,
    annual=scores,
    share=st.integers(min_value=10, max_value=20).map(lambda n: Decimal(n) / 100),
    more=scores,
    reward=st.integers(min_value=0, max_value=5000),
    deduction=st.integers(min_value=0, max_value=20_000),
)
def test_year_end_bonus_is_monotone_and_never_negative(
    base: int,
    office: Decimal,
    annual: Decimal,
    share: Decimal,
    more: Decimal,
    reward: int,
    deduction: int,
) -> None:
    def bonus(office_: Decimal, annual_: Decimal, reward_: int, deduction_: int) -> Decimal:
        return sc.year_end_bonus(base, office_, annual_, share, [reward_], [deduction_]).amount

    start = bonus(office, annual, reward, deduction)
    assert start >= 0
    assert start == start.quantize(Decimal("0.01"))
    assert bonus(min(office + more, HUNDRED), annual, reward, deduction) >= start
    assert bonus(office, min(annual + more, HUNDRED), reward, deduction) >= start
    assert bonus(office, annual, reward + 1, deduction) >= start
    assert bonus(office, annual, reward, deduction + 1) <= start


# --- the order of the ballots changes nothing --------------------------------------------------


@FAST
@given(votes=ballots, data=st.data())
def test_shuffling_ballots_changes_nothing(votes: list[sc.Grade], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(votes), label="shuffled")
    original = sc.democratic_score(sc.Tally.from_grades(votes), RULES)
    again = sc.democratic_score(sc.Tally.from_grades(shuffled), RULES)
    assert again == original
    assert again.as_dict() == original.as_dict()


# --- the cap on 优秀 ---------------------------------------------------------------------------


@FAST
@given(
    group=st.lists(st.integers(min_value=700, max_value=1000), min_size=1, max_size=60),
    cap_percent=st.integers(min_value=0, max_value=100),
)
def test_the_cap_on_excellent_is_never_exceeded(group: list[int], cap_percent: int) -> None:
    cadre_scores = {f"c{i}": Decimal(n) / 10 for i, n in enumerate(group)}
    cap = Decimal(cap_percent) / 100
    result = sc.assign_grades(cadre_scores, BANDS, cap)
    limit = int((cap * len(group)).to_integral_value(rounding=ROUND_FLOOR))
    excellent = [k for k, g in result.grades.items() if g is sc.Grade.EXCELLENT]
    assert len(excellent) <= limit
    # nobody scoring less than a cadre held back is 优秀 ...
    held_back = [*result.tied, *result.capped]
    for kept in excellent:
        for other in held_back:
            assert cadre_scores[kept] > cadre_scores[other]
    # ... the tied cadres share one score, and the open places are fewer than they are
    assert len({cadre_scores[k] for k in result.tied}) <= 1
    if result.tied:
        assert 0 < result.slots_for_tied < len(result.tied)
        assert all(result.flags[k] == (sc.Flag.TIE_AT_CAP,) for k in result.tied)
    # every grade other than 优秀 is the band's own
    for key, grade in result.grades.items():
        if key not in held_back:
            assert grade is sc.grade(cadre_scores[key], BANDS)


@FAST
@given(group=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=40))
def test_without_a_cap_the_bands_decide_alone(group: list[int]) -> None:
    cadre_scores = {i: Decimal(n) / 10 for i, n in enumerate(group)}
    result = sc.assign_grades(cadre_scores, BANDS)
    assert result.grades == {k: sc.grade(v, BANDS) for k, v in cadre_scores.items()}
    assert result.tied == result.capped == ()
