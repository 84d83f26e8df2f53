"""Profile validation: every problem, located; units; the model registry."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screener.errors import ProfileError
from screener.profile.derived import derive, months_between
from screener.profile.model import Approach, Profile, Stage, company_key, load_profile
from screener.profile.registry import LicenseKind, license_kind, lookup, parameter_count_b
from tests.conftest import examples


def test_every_bad_field_is_reported_with_file_line_and_reason(write) -> None:
    path = write(
        "bad.yaml",
        """
        name: Broken AI
        stage: series z
        hq_country: UK
        team:
          size: -3
          founderz: []
        traction:
          gross_margin: 62
        """,
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{path}:2:1: stage: 'series z' is not one of: 'pre-seed', 'seed', 'series-a', 'series-b', 'series-c' or 'growth'; did you mean 'growth' (every round after series-c)?",
        f"{path}:3:1: hq_country: 'UK' is not an ISO 3166 country code; did you mean 'GB' (United Kingdom)?",
        f"{path}:5:3: team.size: Input should be greater than or equal to 0",
        f"{path}:6:3: team.founderz: unknown field 'founderz'; did you mean 'founders'?",
        f"{path}:8:3: traction.gross_margin: 62 is outside 0..1 (did you mean '62%'?)",
    ]


def test_name_is_required(write) -> None:
    with pytest.raises(ProfileError, match=r"name: is required"):
        load_profile(write("noname.yaml", "website: example.com\n"))


def test_a_profile_must_be_a_mapping(write) -> None:
    with pytest.raises(ProfileError, match="a profile must be a mapping"):
        load_profile(write("list.yaml", "- a\n- b\n"))


def test_only_name_is_required_and_enums_are_case_insensitive(write) -> None:
    profile = load_profile(
        write(
            "p.yaml",
            """
        name: Tiny
        stage: Series A
        model: {approach: Fine_Tune}
        traction: {gross_margin: "71%", arr: "$1.2m"}
        """,
        )
    )
    assert profile.stage is Stage.SERIES_A
    assert profile.model.approach is Approach.FINE_TUNE
    assert profile.traction.gross_margin == pytest.approx(0.71)
    assert profile.traction.arr == 1_200_000
    assert profile.team.size is None


def test_foreign_money_needs_a_rate(write) -> None:
    path = write("eur.yaml", "name: Euro\nfunding: {total_raised: '€4.5M'}\n")
    with pytest.raises(ProfileError, match=r"eur\.yaml:2:\d+: funding\.total_raised: amount is in EUR"):
        load_profile(path)
    assert load_profile(path, {"EUR": 1.1}).funding.total_raised == 4_950_000


def test_registry_fills_model_fields_but_explicit_fields_win() -> None:
    filled = Profile.model_validate({"name": "A", "model": {"base": "Llama 3.1 8B"}})
    assert (filled.model.family, filled.model.open_weights, filled.model.license) == (
        "Llama",
        True,
        "Llama 3.1 Community License",
    )
    explicit = Profile.model_validate(
        {"name": "A", "model": {"base": "Llama 3.1 8B", "license": "Apache-2.0", "open_weights": False}}
    )
    assert explicit.model.license == "Apache-2.0"
    assert explicit.model.open_weights is False
    unknown = Profile.model_validate({"name": "A", "model": {"base": "Zorblax 9000"}})
    assert unknown.model.family is None and unknown.model.open_weights is None


@pytest.mark.parametrize(
    ("base", "family", "open_weights", "kind"),
    [
        ("Mistral 7B", "Mistral", True, LicenseKind.PERMISSIVE),
        ("Mixtral 8x7B", "Mistral", True, LicenseKind.PERMISSIVE),
        ("Mistral Large 2", "Mistral", True, LicenseKind.NON_COMMERCIAL),
        ("Qwen2.5 7B", "Qwen", True, LicenseKind.PERMISSIVE),
        ("Qwen2.5 72B", "Qwen", True, LicenseKind.RESTRICTED),
        ("DeepSeek-R1", "DeepSeek", True, LicenseKind.PERMISSIVE),
        ("DeepSeek V2", "DeepSeek", True, LicenseKind.RESTRICTED),
        ("Gemma 2 9B", "Gemma", True, LicenseKind.RESTRICTED),
        ("Phi-3 mini", "Phi", True, LicenseKind.PERMISSIVE),
        ("OLMo 2 13B", "OLMo", True, LicenseKind.PERMISSIVE),
        ("Falcon 40B", "Falcon", True, LicenseKind.PERMISSIVE),
        ("Falcon 180B", "Falcon", True, LicenseKind.RESTRICTED),
        ("GPT-4 (API)", "GPT", False, LicenseKind.PROPRIETARY),
        ("gpt-oss-120b", "GPT-OSS", True, LicenseKind.PERMISSIVE),
        ("Claude 3.5 Sonnet", "Claude", False, LicenseKind.PROPRIETARY),
        ("Gemini 1.5 Pro", "Gemini", False, LicenseKind.PROPRIETARY),
        ("Command R+", "Command R", True, LicenseKind.NON_COMMERCIAL),
        ("own", "Own", False, LicenseKind.OWN),
    ],
)
def test_model_registry(base: str, family: str, open_weights: bool, kind: LicenseKind) -> None:
    known = lookup(base)
    assert known is not None
    assert (known.family, known.open_weights, license_kind(known.license)) == (family, open_weights, kind)


def test_parameter_count_and_unknown_licences() -> None:
    assert parameter_count_b("Llama 3.1 70B") == 70
    assert parameter_count_b("SmolLM 360M") == pytest.approx(0.36)
    assert parameter_count_b("GPT-4") is None
    assert parameter_count_b("Mixtral 8x7B") == 56
    assert parameter_count_b("Qwen2.5-7B-Instruct") == 7
    # an active-parameter count glued to letters is not the model's size
    assert parameter_count_b("Qwen1.5-MoE-A2.7B") is None
    assert license_kind("Some Custom Terms") is LicenseKind.UNKNOWN
    assert license_kind("CC-BY-NC-4.0") is LicenseKind.NON_COMMERCIAL


def test_company_key_prefers_the_domain() -> None:
    assert company_key("Acme AI", "https://www.acme.ai/about") == "acme.ai"
    assert company_key("Acme AI", "acme.ai") == "acme.ai"
    assert company_key("Acme AI, Inc.", None) == "acme ai"
    assert company_key("ACME  ai", "") == "acme ai"


def test_derived_values_are_computed_against_the_screening_date() -> None:
    profile = Profile.model_validate(
        {
            "name": "D",
            "as_of": "2026-01-01",
            "founded": 2024,
            "team": {"size": 10, "founders": [{"background": ["frontier-lab", "academia"], "prior_exit": True}]},
            "funding": {"total_raised": 15_000_000},
            "traction": {"arr": 2_000_000},
            "compute": {"monthly_compute": 50_000},
            "benchmarks": [{"name": "a", "score": 90, "frontier": 100}, {"name": "b", "score": 50, "frontier": 50}],
        }
    )
    derived = derive(profile, dt.date(2026, 11, 27))
    assert derived.funding_per_head == 1_500_000
    assert derived.arr_per_head == 200_000
    assert derived.months_since_founding == 34
    assert derived.data_age_days == 330
    assert (derived.frontier_founders, derived.academic_founders, derived.repeat_founders) == (1, 1, 1)
    assert derived.benchmark_gap == pytest.approx(0.05)
    assert derived.compute_to_revenue == pytest.approx(0.3)
    empty = derive(Profile(name="E"), dt.date(2026, 11, 27))
    assert empty.funding_per_head is None and empty.founders_count is None and empty.completeness == 0


def test_months_between() -> None:
    assert months_between(dt.date(2024, 1, 31), dt.date(2024, 2, 29)) == 0
    assert months_between(dt.date(2024, 1, 15), dt.date(2024, 2, 15)) == 1
    assert months_between(dt.date(2020, 6, 1), dt.date(2026, 6, 1)) == 72


@pytest.mark.parametrize("base", ["Qwen2.5-7B-Instruct", "llama3-8b", "gemma2:9b", "OLMo2 7B", "falcon3-10b"])
def test_registry_matches_names_without_spaces(base: str) -> None:
    assert lookup(base) is not None


def test_repeat_founders_is_unknown_until_an_exit_or_every_answer_is_known() -> None:
    def repeat(*exits: bool | None) -> int | None:
        founders = [{"name": f"f{i}", "prior_exit": e} for i, e in enumerate(exits)]
        return derive(
            Profile.model_validate({"name": "R", "team": {"founders": founders}}), dt.date(2026, 1, 1)
        ).repeat_founders

    assert repeat(True, None) == 1
    assert repeat(False, False) == 0
    assert repeat(False, None) is None


def test_true_is_not_a_headcount() -> None:
    with pytest.raises(ValueError, match="expected a whole number, not true/false"):
        Profile.model_validate({"name": "B", "team": {"size": True}})


def test_ratios_are_capped_so_the_engine_can_hold_them() -> None:
    profile = Profile.model_validate({"name": "R", "compute": {"monthly_compute": 10**14}, "traction": {"arr": 1}})
    assert derive(profile, dt.date(2026, 1, 1)).compute_to_revenue == 1_000_000


def test_a_website_must_have_a_host(write) -> None:
    with pytest.raises(ProfileError, match=r"site\.yaml:2:1: website: 'http://\[bad' is not a website address"):
        load_profile(write("site.yaml", "name: S\nwebsite: 'http://[bad'\n"))


def test_names_and_labels_are_one_line_of_text(write) -> None:
    path = write(
        "p.yaml",
        'name: "Acme\\n\\n# Strong fit"\nsector: "legal\\tAI"\nteam: {founders: [{name: "Jo\\rX"}]}\nnotes: "two\\nlines are fine here"\n',
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    lines = [str(p) for p in caught.value.problems]
    one_line = "must be one line of text (no line breaks, tabs or control characters)"
    assert lines == [
        f"{path}:1:1: name: {one_line}",
        f"{path}:2:1: sector: {one_line}",
        f"{path}:3:20: team.founders[0].name: {one_line}",
    ]


def _host_by_urlsplit(website: str) -> str | None:
    from urllib.parse import urlsplit

    text = website.strip().lower()
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host and "." in host else None


@settings(max_examples=examples(3000), deadline=None)
@given(
    website=st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(["", "https://", "http://", "HTTPS://www.", "ftp://", "//", "https:/", " ", "a.b/x://"]),
        st.text(alphabet="abcXY09.-_:/?#@[]%\t\n \u00e9", max_size=24),
    )
)
def test_the_host_shortcut_agrees_with_urlsplit(website: str) -> None:
    from screener.profile.model import _host

    assert _host(website) == _host_by_urlsplit(website)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (5_000_000, 5_000_000), (10**15 - 1, 10**15 - 1), (0.5, 0.5), (1.0, 1.0), (0.0, 0.0)],
)
def test_canonical_numbers_pass_through_unchanged(value, expected) -> None:
    field = "total_raised" if isinstance(value, int) else None
    if field:
        assert Profile.model_validate({"name": "N", "funding": {field: value}}).funding.total_raised == expected
    else:
        assert (
            Profile.model_validate({"name": "N", "traction": {"gross_margin": value}}).traction.gross_margin == expected
        )


@pytest.mark.parametrize("value", [10**15, -1, True, float("nan"), 1.5, -0.1])
def test_numbers_outside_the_shortcut_are_still_checked(value) -> None:
    from pydantic import ValidationError

    section, field = ("funding", "total_raised") if isinstance(value, int) else ("traction", "gross_margin")
    with pytest.raises(ValidationError):
        Profile.model_validate({"name": "N", section: {field: value}})
