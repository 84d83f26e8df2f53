"""Invariants of screening over generated profiles (Hypothesis), through the real engine."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.profile.model import Approach, Background, GpuDependence, Pricing, Profile, Stage
from screener.screening.result import Outcome, Verdict
from tests.conftest import ON, examples


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


fraction = st.floats(min_value=0, max_value=1, allow_nan=False)
money = st.integers(min_value=0, max_value=10**12)
profiles = st.builds(
    lambda **kw: Profile.model_validate(
        {
            "name": "Generated",
            "stage": kw["stage"],
            "as_of": kw["as_of"],
            "team": {
                "size": kw["size"],
                "founders": [{"background": b, "prior_exit": e} for b, e in kw["founders"]],
            },
            "funding": {"total_raised": kw["raised"]},
            "model": {"base": kw["base"], "approach": kw["approach"], "test_time_compute": kw["ttc"]},
            "compute": {"gpu_dependence": kw["gpu"], "training_share": kw["share"], "monthly_compute": kw["compute"]},
            "traction": {"arr": kw["arr"], "gross_margin": kw["margin"], "pricing": kw["pricing"]},
            "benchmarks": [{"name": "b", "score": s, "frontier": 100} for s in kw["scores"]],
        }
    ),
    stage=maybe(st.sampled_from(list(Stage))),
    as_of=maybe(st.dates(min_value=ON.replace(year=2020), max_value=ON)),
    size=maybe(st.integers(min_value=0, max_value=5000)),
    founders=st.lists(
        st.tuples(st.lists(st.sampled_from(list(Background)), max_size=2), maybe(st.booleans())), max_size=3
    ),
    raised=maybe(money),
    base=maybe(st.sampled_from(["Llama 3.1 8B", "GPT-4 (API)", "Mistral Large", "Qwen2.5 72B", "own", "Zorblax"])),
    approach=maybe(st.sampled_from(list(Approach))),
    ttc=maybe(st.booleans()),
    gpu=maybe(st.sampled_from(list(GpuDependence))),
    share=maybe(fraction),
    compute=maybe(money),
    arr=maybe(money),
    margin=maybe(fraction),
    pricing=maybe(st.sampled_from(list(Pricing))),
    scores=st.lists(st.floats(min_value=0, max_value=120, allow_nan=False), max_size=3),
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(profile=profiles)
def test_screening_invariants(screener, rulebook, profile: Profile) -> None:
    result = screener.screen(profile, ON)
    assert 0 <= result.score <= 100
    assert 0 <= result.coverage <= 1
    assert len(result.rules) == len(rulebook.rules)
    if result.knockouts:
        assert result.verdict is Verdict.PASS
    elif result.coverage < rulebook.spec.min_coverage:
        assert result.verdict is Verdict.REVIEW
    for rule in result.rules:
        assert (rule.outcome is Outcome.NOT_EVALUABLE) == bool(rule.missing)
        assert (rule.rationale is not None) == (rule.outcome is Outcome.MATCHED)
    assert screener.screen(profile, ON).to_json() == result.to_json()
