"""The scheme file: the example's defaults, validation with key paths, freezing as JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.scheme_file import DEFAULT_SCHEME_PATH, default_scheme, load_scheme
from bot.rules import scoring as sc
from bot.rules.scheme import Scheme, SchemeError, parse_scheme

D = Decimal
SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE = DEFAULT_SCHEME_PATH.read_text(encoding="utf-8")


def edited(old: str, new: str, text: str = EXAMPLE) -> str:
    """The example with one line changed (and a check that the line was there)."""
    assert old in text, old
    return text.replace(old, new, 1)


def errors_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text)
    return caught.value.errors


# --- the defaults of the spec ------------------------------------------------------------------


def test_default_scheme_is_the_example_file() -> None:
    assert DEFAULT_SCHEME_PATH.name == "scheme.toml"
    assert DEFAULT_SCHEME_PATH.parent.name == "examples"
    assert default_scheme() == parse_scheme(EXAMPLE)


def test_default_items_and_weights() -> None:
    scheme = default_scheme()
    assert scheme.categories == ("ordinary", "village")
    assert scheme.weights_for("ordinary") == {"duty": D(90), "central": D(10)}
    assert scheme.weights_for("village") == {"duty": D(70), "central": D(10), "village": D(20)}
    village = scheme.item("village", "village")
    assert village.title_zh == "蹲点村党建行政和经济工作"
    assert village.title("en").startswith("Village")
    assert [i.key for i in scheme.items_for("village")] == ["duty", "central", "village"]
    assert all(not i.quantified for i in scheme.items_for("village"))
    assert scheme.category_for(has_village=True) == "village"
    assert scheme.category_for(has_village=False) == "ordinary"
    with pytest.raises(KeyError):
        scheme.items_for("leaders")


def test_default_sources_policy_and_democratic_rules() -> None:
    scheme = default_scheme()
    assert scheme.source_weights() == sc.SourceWeights(
        head=D("0.5"), democratic=D("0.3"), self_=D("0.2")
    )
    assert scheme.missing_policy() == sc.MissingPolicy(
        head=sc.MissingRule.RENORMALISE,
        democratic=sc.MissingRule.RENORMALISE,
        self_=sc.MissingRule.ZERO,
    )
    rules = scheme.democratic_rules()
    assert (rules.min_ballots, rules.trim_from) == (3, 5)
    assert [rules.points.of(g) for g in sc.GRADE_ORDER] == [D(95), D(85), D(70), D(50)]
    assert scheme.democratic.cadence == "monthly"
    assert scheme.democratic_in_month(2)


def test_default_grades_without_a_cap() -> None:
    scheme = default_scheme()
    assert scheme.grade_bands() == sc.GradeBands(excellent=D(90), good=D(80), pass_=D(60))
    assert scheme.excellent_cap is None
    assert scheme.grades.tie_rule == "flag"


def test_default_office_rules_and_bonus() -> None:
    scheme = default_scheme()
    assert scheme.office_rules.base == 100
    assert scheme.violation("late").points == 2
    assert scheme.violation("left_early").points == 2
    assert scheme.violation("absent").points == 5
    assert scheme.violation("missed_meeting").points == 3
    assert scheme.violation("absent").title_zh == "旷工"
    assert scheme.deduction("late") == sc.Deduction(points=D(2), key="late")
    assert len(scheme.violations) >= 4
    with pytest.raises(KeyError):
        scheme.violation("napping")
    assert scheme.bonus.base == D("10000.00")
    assert scheme.bonus.currency == "CNY"
    assert scheme.bonus.office_rules_share == D("0.15")


def test_default_quarterly_review_and_appeal_windows() -> None:
    assert default_scheme().quarterly.review_days == 5
    assert default_scheme().quarterly.appeal_days == 5


def test_monthly_window_opens_on_the_25th_and_closes_on_the_5th() -> None:
    window = default_scheme().monthly_window
    opens, closes = window.window(2024, 1)
    assert opens == datetime(2024, 1, 25, 9, 0, tzinfo=SHANGHAI)
    assert closes == datetime(2024, 2, 5, 18, 0, tzinfo=SHANGHAI)
    opens, closes = window.window(2024, 12)
    assert closes == datetime(2025, 1, 5, 18, 0, tzinfo=SHANGHAI)
    with pytest.raises(ValueError):
        window.window(2024, 13)


def test_reminders_at_opening_and_before_the_deadline() -> None:
    window = default_scheme().monthly_window
    assert window.reminder_offsets == (timedelta(days=3), timedelta(days=1), timedelta(hours=2))
    assert window.reminder_times(2024, 1) == (
        datetime(2024, 1, 25, 9, 0, tzinfo=SHANGHAI),
        datetime(2024, 2, 2, 18, 0, tzinfo=SHANGHAI),
        datetime(2024, 2, 4, 18, 0, tzinfo=SHANGHAI),
        datetime(2024, 2, 5, 16, 0, tzinfo=SHANGHAI),
    )


def test_democratic_scope_switches_to_department_above_the_threshold() -> None:
    scheme = default_scheme()
    assert scheme.democratic.scope_department_above == 40
    assert scheme.democratic_scope(12) == "unit"
    assert scheme.democratic_scope(40) == "unit"
    assert scheme.democratic_scope(41) == "department"
    by_department = parse_scheme(edited('scope = "unit"', 'scope = "department"'))
    assert by_department.democratic_scope(12) == "department"


def test_quarterly_democratic_cadence_runs_in_the_last_month_of_a_quarter() -> None:
    scheme = parse_scheme(edited('cadence = "monthly"', 'cadence = "quarterly"'))
    assert [m for m in range(1, 13) if scheme.democratic_in_month(m)] == [3, 6, 9, 12]


def test_an_excellent_cap_can_be_set() -> None:
    scheme = parse_scheme(edited("# excellent_cap = 0.30", "excellent_cap = 0.30"))
    assert scheme.excellent_cap == D("0.30")


def test_every_key_of_the_example_has_a_comment() -> None:
    """The clerk reads the file: each assignment line carries its explanation."""
    for number, line in enumerate(EXAMPLE.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "[")) and "=" in stripped:
            assert "#" in stripped.split("=", 1)[1], f"line {number} has no comment: {line}"


# --- validation with key paths -----------------------------------------------------------------


def test_weights_that_do_not_add_up_to_100() -> None:
    text = edited("weight = 20  #", "weight = 15  #")
    assert errors_of(text) == [
        ("items.village", "the weights of category 'village' add up to 95, not 100")
    ]


def test_office_rules_share_outside_10_to_20_percent() -> None:
    for share in ("0.25", "0.05"):
        text = edited("office_rules_share = 0.15", f"office_rules_share = {share}")
        assert errors_of(text) == [
            ("bonus.office_rules_share", f"must be between 0.10 and 0.20 (10%-20%), got {share}")
        ]
    assert parse_scheme(edited("office_rules_share = 0.15", "office_rules_share = 0.2"))


def test_unknown_keys_are_refused() -> None:
    text = edited("head = 0.5  #", "haed = 0.5  #")
    assert errors_of(text) == [("sources.head", "missing key"), ("sources.haed", "unknown key")]
    assert errors_of(EXAMPLE + "\n[extras]\nx = 1\n") == [("extras", "unknown key")]


def test_toml_syntax_error_has_line_and_column() -> None:
    text = edited("version = 2  #", "version = = 2  #")
    [(path, message)] = errors_of(text)
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if t.startswith("version"))
    assert path == ""
    assert message.startswith(f"TOML syntax error at line {line}, column ")


def test_every_problem_is_reported_at_once() -> None:
    text = edited("weight = 20  #", "weight = 15  #")
    text = edited("office_rules_share = 0.15", "office_rules_share = 0.3", text)
    text = edited("trim_from = 5", "trim_from = 2", text)
    text = edited('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', text)
    paths = [path for path, _ in errors_of(text)]
    assert paths == [
        "items.village",
        "democratic.trim_from",
        "monthly_window.timezone",
        "bonus.office_rules_share",
    ]


def test_source_weights_must_add_up_to_one() -> None:
    assert errors_of(edited("head = 0.5  #", "head = 0.6  #")) == [
        ("sources", "the source weights add up to 1.1, not 1")
    ]


def test_bad_item_key_and_method() -> None:
    text = edited("[items.ordinary.central]", "[items.ordinary.Central]")
    assert errors_of(text) == [
        (
            "items.ordinary.Central",
            "'Central' is not a valid key: "
            "use lowercase ASCII letters, digits and _, starting with a letter",
        )
    ]
    text = edited('method = "judged"  #', 'method = "guessed"  #')
    [(path, message)] = errors_of(text)
    assert path == "items.ordinary.duty.method"
    assert "judged" in message and "quantified" in message


def test_missing_category() -> None:
    start = EXAMPLE.index("[items.village.duty]")
    end = EXAMPLE.index("# ─── 月度得分来源权重")
    text = EXAMPLE[:start] + EXAMPLE[end:]
    assert errors_of(text) == [("items", "missing categories: village")]


def test_grade_bands_must_decrease() -> None:
    assert errors_of(edited("good = 80  #", "good = 95  #")) == [
        ("grades", "the bands must decrease: excellent > good > pass")
    ]


def test_excellent_cap_must_be_a_share() -> None:
    [(path, _)] = errors_of(edited("# excellent_cap = 0.30", "excellent_cap = 1.5"))
    assert path == "grades.excellent_cap"


def test_ballot_points_and_minimum() -> None:
    assert errors_of(edited("fail = 50", "fail = 75")) == [
        ("democratic.points", "the points must decrease: excellent > good > pass > fail")
    ]
    [(path, _)] = errors_of(edited("min_ballots = 3", "min_ballots = 0"))
    assert path == "democratic.min_ballots"


def test_window_days_and_reminders() -> None:
    [(path, _)] = errors_of(edited("open_day = 25", "open_day = 31"))
    assert path == "monthly_window.open_day"
    text = edited('["3d", "1d", "2h"]', '["3x"]')
    assert errors_of(text) == [
        (
            "monthly_window.remind_before_deadline.0",
            "write an offset as a number and d, h or m, e.g. '3d', '2h', '30m'",
        )
    ]
    [(path, message)] = errors_of(edited('["3d", "1d", "2h"]', '["20d"]'))
    assert path == "monthly_window"
    assert "before the window opens" in message
    [(path, message)] = errors_of(edited('["3d", "1d", "2h"]', '["1d", "24h"]'))
    assert "repeat" in message


def test_missing_policy_values() -> None:
    [(path, message)] = errors_of(edited('self = "zero"', 'self = "ignore"'))
    assert path == "missing.self"
    assert "zero" in message and "renormalise" in message


def test_bonus_base_is_money() -> None:
    [(path, message)] = errors_of(edited("base = 10000.00", "base = 10000.005"))
    assert (path, message) == ("bonus.base", "money has at most two decimals")


def test_scheme_error_lists_every_problem_in_its_message() -> None:
    with pytest.raises(SchemeError) as caught:
        parse_scheme(edited("weight = 20  #", "weight = 15  #"), source="town.toml")
    assert "town.toml" in str(caught.value)
    assert "items.village: the weights of category 'village' add up to 95, not 100" in str(
        caught.value
    )


def test_load_scheme_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "scheme.toml"
    path.write_text(edited("office_rules_share = 0.15", "office_rules_share = 0.12"), "utf-8")
    assert load_scheme(path).bonus.office_rules_share == D("0.12")
    with pytest.raises(SchemeError) as caught:
        load_scheme(tmp_path / "nowhere.toml")
    assert caught.value.errors[0][1].startswith("cannot read the file")


# --- freezing ----------------------------------------------------------------------------------


def test_json_round_trip_keeps_the_scheme_and_its_fingerprint() -> None:
    scheme = parse_scheme(edited("# excellent_cap = 0.30", "excellent_cap = 0.30"))
    frozen = scheme.to_json()
    assert json.loads(frozen)["sources"]["self"] == "0.2"
    back = Scheme.from_json(frozen)
    assert back == scheme
    assert back.fingerprint() == scheme.fingerprint()
    assert back.excellent_cap == D("0.30")


def test_fingerprint_is_stable_and_sees_real_changes() -> None:
    scheme = default_scheme()
    assert len(scheme.fingerprint()) == 64
    assert scheme.fingerprint() == parse_scheme(EXAMPLE).fingerprint()
    # the same rule written differently is the same scheme
    same = parse_scheme(edited("head = 0.5  #", "head = 0.50  #"))
    assert same.fingerprint() == scheme.fingerprint()
    changed = parse_scheme(edited("office_rules_share = 0.15", "office_rules_share = 0.16"))
    assert changed.fingerprint() != scheme.fingerprint()


def test_frozen_json_is_validated_too() -> None:
    data = json.loads(default_scheme().to_json())
    data["bonus"]["office_rules_share"] = "0.5"
    with pytest.raises(SchemeError) as caught:
        Scheme.from_json(json.dumps(data))
    assert caught.value.errors[0][0] == "bonus.office_rules_share"


def test_scheme_is_frozen() -> None:
    scheme = default_scheme()
    with pytest.raises(ValueError):
        scheme.version = 2  # type: ignore[misc]  # a frozen model changed on purpose, to test the check
