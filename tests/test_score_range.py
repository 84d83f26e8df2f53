"""The score range the rules not evaluated allow, and open questions ordered by what is at stake (issue 12, item 3).

Every expectation is derived from the pack (its thresholds, points and weights) and the real engine's
outcomes, not written down as numbers.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.profile.derived import is_present
from screener.profile.model import Approach, Background, GpuDependence, Pricing, Profile, Stage, load_profile
from screener.screening.result import Outcome, ScreeningResult, Verdict
from screener.screening.screener import Screener
from tests.conftest import FIXTURES, ON, examples


def screened(screener: Screener, data: dict[str, Any]) -> ScreeningResult:
    return screener.screen(Profile.model_validate(data), ON)


def fixture(name: str) -> dict[str, Any]:
    return load_profile(FIXTURES / f"{name}.yaml", {}).model_dump(mode="json", exclude_none=True)


def without(data: dict[str, Any], *paths: str) -> dict[str, Any]:
    thinner = copy.deepcopy(data)
    for path in paths:
        *parents, last = path.split(".")
        section = thinner
        for part in parents:
            section = section[part]
        section.pop(last, None)
    return thinner


def between(verdict: Verdict, worst: Verdict, best: Verdict) -> bool:
    return best.rank <= verdict.rank <= worst.rank


def test_a_profile_without_unknowns_has_its_score_as_its_range(screener) -> None:
    complete = fixture("tinyllama-legal")
    result = screened(screener, complete)
    unknown = [r.id for r in result.rules if r.outcome is Outcome.NOT_EVALUABLE]
    assert unknown == []  # every rule of the pack could be evaluated (the thin-profile rule cannot swing either)
    span = result.score_range
    assert span is not None
    assert (span.worst, span.best) == (result.score, result.score)
    assert span.worst_verdict is span.best_verdict is result.verdict
    assert not any(n.startswith("verdict could change") for n in result.notes)
    assert result.questions == [] and result.question_stakes == []


def test_unknowns_that_span_a_threshold_say_so(screener) -> None:
    thresholds = screener.rulebook.spec.thresholds
    said = 0
    # Each key fact taken away in turn, then pairs of them: every range is checked against the thresholds.
    fields = ["team.size", "funding.total_raised", "model.approach", "traction.arr", "traction.gross_margin",
              "compute.gpu_dependence", "model.base", "stage", "benchmarks"]  # fmt: skip
    pairs = [(first, second) for number, first in enumerate(fields) for second in [None, *fields[number + 1 :]]]
    # Two complete profiles near a threshold: a review at 62.1 and a strong fit at 72.0.
    for complete, (first, second) in [(fixture(name), pair) for name in ("helixfold-bio", "larkspur-translate-2023")
                                      for pair in pairs]:  # fmt: skip
        if True:
            result = screened(screener, without(complete, first, *([second] if second else [])))
            span = result.score_range
            assert span is not None and span.worst <= result.score <= span.best
            crossed = [
                f"the {name} threshold {value:g}"
                for name, value in (("review", thresholds.review), ("strong-fit", thresholds.strong_fit))
                if span.worst < value <= span.best
            ]
            notes = [n for n in result.notes if n.startswith("verdict could change")]
            changes = not (span.worst_verdict is span.best_verdict is result.verdict)
            assert bool(notes) == changes
            if crossed:
                assert notes == [notes[0]]
                assert notes[0].startswith(f"verdict could change: {span.worst:.1f}\u2013{span.best:.1f} spans ")
                assert f"spans {' and '.join(crossed)}" in notes[0]
                said += 1
            else:
                assert all("spans" not in n for n in notes)
    assert said  # some of these ranges do cross a threshold


def test_an_unknown_knockout_can_make_the_worst_case_pass_never_the_best(screener) -> None:
    # A strong profile that does not say which model it builds on: licence-non-commercial (a knockout) is open.
    data = without(fixture("tinyllama-legal"), "model.base", "model.family", "model.license")
    result = screened(screener, data)
    knockouts = [r.id for r in result.rules if r.knockout and r.outcome is Outcome.NOT_EVALUABLE]
    assert knockouts
    span = result.score_range
    assert span is not None
    assert span.worst_verdict is Verdict.PASS
    assert span.best_verdict is not Verdict.PASS
    (note,) = [n for n in result.notes if n.startswith("verdict could change")]
    assert f"a knockout not evaluated ({', '.join(knockouts)}) would make it pass" in note
    # And the answer that brings the knockout does make it pass.
    knocked = screened(screener, answered(data, "model.license", "CC-BY-NC-4.0"))
    assert knocked.verdict is Verdict.PASS and knocked.knockouts == ["licence-non-commercial"]


def test_questions_are_ordered_by_the_points_at_stake(screener) -> None:
    """The issue's finding: an unknown total raised gates five rules and must not come second to a one-rule question."""
    book = screener.rulebook
    weight = dict(zip((r.id for r in book.rules), book.weights, strict=True))
    data = without(fixture("ondine-labs"), "as_of")
    result = screened(screener, data)
    stakes = result.question_stakes
    assert len(stakes) == len(result.questions) > 2
    assert [q.stake for q in stakes] == [sum(weight[r] for r in q.rules) for q in stakes]
    assert [q.stake for q in stakes] == sorted((q.stake for q in stakes), reverse=True)
    # Ties keep pack order: of two questions at one stake, the one whose first rule comes first.
    position = {r.id: r.index for r in book.rules}
    for one, other in itertools.pairwise(stakes):
        if one.stake == other.stake:
            assert position[one.rules[0]] < position[other.rules[0]]
    raised = next(q for q in stakes if q.fields == ["funding.total_raised"])
    assert len(raised.rules) >= 5
    one_rule = [q for q in stakes if len(q.rules) == 1]
    assert one_rule and all(stakes.index(raised) < stakes.index(q) for q in one_rule if q.stake < raised.stake)
    assert stakes[0].stake == max(q.stake for q in stakes)
    # Each question's text says its stake.
    for text, stake in zip(result.questions, stakes, strict=True):
        assert f"[{stake.stake} points at stake" in text


#: Values each field can take, to try every answer to a question (lists and free text left out).
ANSWERS: dict[str, list[Any]] = {
    "stage": [s.value for s in Stage],
    "team.size": [1, 4, 8, 15, 30, 80, 300, 2000],
    "funding.total_raised": [10**5, 10**6, 3 * 10**6, 10**7, 3 * 10**7, 10**8, 5 * 10**8, 2 * 10**9],
    "model.base": ["Llama 3.1 8B", "GPT-4 (API)", "Mistral Large", "Qwen2.5 72B", "own", "Zorblax"],
    "model.open_weights": [True, False],
    "model.license": ["Apache-2.0", "Llama 3.1 Community License", "CC-BY-NC-4.0", "proprietary", "MIT"],
    "model.approach": [a.value for a in Approach],
    "model.test_time_compute": [True, False],
    "compute.gpu_dependence": [g.value for g in GpuDependence],
    "compute.owned_gpus": [0, 8, 64, 512, 4096],
    "compute.monthly_compute": [0, 10**4, 10**5, 10**6, 10**7],
    "compute.training_share": [0.0, 0.2, 0.5, 0.8, 1.0],
    "traction.arr": [0, 10**5, 10**6, 10**7, 10**8],
    "traction.gross_margin": [0.05, 0.3, 0.5, 0.7, 0.9],
    "traction.pricing": [p.value for p in Pricing],
    "traction.customers": [0, 3, 40, 500],
}


def answered(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    filled = copy.deepcopy(data)
    *parents, last = path.split(".")
    section = filled
    for part in parents:
        section = section.setdefault(part, {})
    section[last] = value
    return filled


def test_a_question_is_marked_only_when_its_answer_alone_could_change_the_verdict(screener) -> None:
    marked = unmarked = 0
    base = fixture("tinyllama-legal")
    profiles = [
        fixture("ondine-labs"), fixture("mossgate"), fixture("promptpilot"),
        without(base, "model.approach"), without(base, "model.license", "model.base", "model.family"),
        without(base, "team.size", "funding.total_raised"), without(base, "traction.arr", "traction.gross_margin"),
    ]  # fmt: skip
    for data in profiles:
        result = screened(screener, data)
        for stake in result.question_stakes:
            if len(stake.fields) != 1 or stake.fields[0] not in ANSWERS:
                continue
            path = stake.fields[0]
            verdicts = set()
            for value in ANSWERS[path]:
                try:
                    verdicts.add(screened(screener, answered(data, path, value)).verdict)
                except ValueError:  # a value the profile model refuses with the rest of this profile
                    continue
            flips = verdicts - {result.verdict}
            if not stake.could_change_verdict:
                # Unmarked: no answer to it changes the verdict.
                assert not flips, (result.company.name, path, flips)
                unmarked += 1
            else:
                marked += 1
                assert f"{path}); needed by" in next(q for q in result.questions if f"({path})" in q)
    assert marked and unmarked
    # The marker is in the question's text exactly when its stake says so.
    for data in profiles:
        result = screened(screener, data)
        for text, stake in zip(result.questions, result.question_stakes, strict=True):
            assert ("could change the verdict" in text) is stake.could_change_verdict


def test_a_marked_question_can_really_flip_the_verdict(screener) -> None:
    data = without(fixture("tinyllama-legal"), "model.base", "model.family", "model.license")
    result = screened(screener, data)
    (licence,) = [q for q in result.question_stakes if q.fields == ["model.license"]]
    assert licence.could_change_verdict  # a non-commercial licence is a knockout
    assert screened(screener, answered(data, "model.license", "CC-BY-NC-4.0")).verdict is Verdict.PASS
    assert result.verdict is not Verdict.PASS


def test_the_range_and_the_questions_are_deterministic(screener) -> None:
    data = fixture("ondine-labs")
    assert screened(screener, data).to_json() == screened(screener, data).to_json()


# --- the strongest test: fill in what a thin profile lacks, and the score lands in its range ------------------


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


_FACTS = {
    "stage": st.sampled_from([s.value for s in Stage]),
    "founded": st.integers(min_value=2010, max_value=2026),
    "as_of": st.dates(min_value=ON.replace(year=2024), max_value=ON),
    "team.size": st.integers(min_value=1, max_value=3000),
    "team.founders": st.lists(
        st.fixed_dictionaries(
            {
                "background": st.lists(st.sampled_from([b.value for b in Background]), max_size=2),
                "prior_exit": st.booleans(),
            }
        ),
        min_size=1,
        max_size=3,
    ),
    "funding.total_raised": st.integers(min_value=10**5, max_value=3 * 10**9),
    "model.base": st.sampled_from(["Llama 3.1 8B", "GPT-4 (API)", "Mistral Large", "Qwen2.5 72B", "own", "Zorblax"]),
    "model.open_weights": st.booleans(),
    "model.license": st.sampled_from(["Apache-2.0", "Llama 3.1 Community License", "CC-BY-NC-4.0", "proprietary"]),
    "model.approach": st.sampled_from([a.value for a in Approach]),
    "model.test_time_compute": st.booleans(),
    "compute.gpu_dependence": st.sampled_from([g.value for g in GpuDependence]),
    "compute.owned_gpus": st.integers(min_value=0, max_value=5000),
    "compute.monthly_compute": st.integers(min_value=0, max_value=10**7),
    "compute.training_share": st.floats(min_value=0, max_value=1, allow_nan=False),
    "traction.arr": st.integers(min_value=0, max_value=10**9),
    "traction.gross_margin": st.floats(min_value=0, max_value=1, allow_nan=False),
    "traction.pricing": st.sampled_from([p.value for p in Pricing]),
    "traction.customers": st.integers(min_value=0, max_value=5000),
    "benchmarks": st.lists(
        st.fixed_dictionaries(
            {
                "name": st.just("b"),
                "score": st.floats(min_value=1, max_value=120, allow_nan=False),
                "frontier": st.just(100),
            }
        ),
        min_size=1,
        max_size=2,
    ),
}


@st.composite
def thin_and_filled(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A profile with some facts missing, and the same profile with what it misses filled in at random.

    What it misses is what the validated profile lacks: a value the registry fills in (a known base's
    licence) is known, as the screen takes it, and is not answered over.
    """
    thin: dict[str, Any] = {"name": "Generated"}
    drawn = {}
    for path, strategy in _FACTS.items():
        drawn[path] = draw(strategy)
        if draw(st.booleans()):
            thin = answered(thin, path, drawn[path])
    try:
        validated = Profile.model_validate(thin)
    except ValueError:
        return None
    filled = validated.model_dump(mode="json", exclude_none=True)
    for path, value in drawn.items():
        if not is_present(validated, path):
            filled = answered(filled, path, value)
    return thin, filled


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=thin_and_filled())
def test_filling_in_a_thin_profile_lands_inside_its_range(screener, pair: tuple[dict, dict] | None) -> None:
    if pair is None:
        return
    thin_data, filled_data = pair
    try:
        thin, filled = screened(screener, thin_data), screened(screener, filled_data)
    except ValueError:  # a combination the profile model refuses (both are validated the same way)
        return
    span = thin.score_range
    assert span is not None
    assert span.worst <= thin.score <= span.best
    assert span.worst <= filled.score <= span.best, (thin.score, filled.score, span)
    full = filled.score_range
    assert full is not None and span.worst <= full.worst <= full.best <= span.best
    if filled.coverage >= screener.rulebook.spec.min_coverage:
        assert between(filled.verdict, span.worst_verdict, span.best_verdict), (filled.verdict, span)
    if all(r.outcome is not Outcome.NOT_EVALUABLE for r in filled.rules):
        # Every rule known: the filled-in profile's range is its score.
        assert (full.worst, full.best) == (filled.score, filled.score)


# --- migration 0006 --------------------------------------------------------------------------------------------


def test_migration_0006_computes_the_range_and_orders_the_questions_of_stored_rows(db_url, screener, write) -> None:
    import sqlalchemy as sa

    from screener import store
    from screener.rules.rulebook import load_rulebook
    from tests.test_identity import PACK, before_0006, database_at_0002, screen
    from tests.test_store import _alembic

    own = load_rulebook(write("thesis.yaml", PACK))
    thin = Profile.model_validate(fixture("ondine-labs"))
    other = Profile.model_validate({"name": "Beta", "team": {"size": 500}})
    known = screener.screen(thin, ON).model_dump(mode="json")
    with Screener(own) as s:
        unknown = s.screen(other, ON).model_dump(mode="json")
    # As a release before 0006 wrote them: questions in pack order, no note on the range.
    older = before_0006(known)
    older["questions"] = list(reversed(known["questions"]))
    older["notes"] = [n for n in known["notes"] if not n.startswith("verdict could change")]
    assert older["questions"] != known["questions"] and older["notes"] != known["notes"]
    database_at_0002(db_url, [(older, thin.model_dump(mode="json")), (unknown, other.model_dump(mode="json"))])
    engine = sa.create_engine(db_url)
    try:
        _alembic(engine, "upgrade", "0004")  # which stores the packaged pack's content: Ondine can be computed again
    finally:
        engine.dispose()
    engine = store.connect(db_url)  # 0005 (batch records), 0006
    try:
        (row,) = store.history(engine, "Ondine Labs")
        assert row.result == known  # range, stakes, the questions' order and the note, as a screen now gives them
        span = known["score_range"]
        assert (row.score_worst, row.score_best, row.verdict_worst, row.verdict_best) == (
            span["worst"], span["best"], span["worst_verdict"], span["best_verdict"],
        )  # fmt: skip
        (beta,) = store.history(engine, "Beta")  # its pack's content is not stored: no range
        assert beta.score_worst is None and "score_range" not in beta.result
        (listed,) = [s for s in store.summaries(engine) if s.company_key == row.company_key]
        assert (listed.score_worst, listed.score_best) == (span["worst"], span["best"])
    finally:
        engine.dispose()
    code, stdout, _ = screen("verify", "--db", db_url)
    assert code == 0 and stdout.startswith("1 screening(s) computed again: 1 agree, 0 differ")
    # The downgrade drops the columns and the stakes.
    engine = sa.create_engine(db_url)
    try:
        _alembic(engine, "downgrade", "0004")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("screening")}
            details = [json_of(d) for (d,) in conn.exec_driver_sql("SELECT details FROM screening ORDER BY id")]
        assert not columns & {"score_worst", "score_best", "verdict_worst", "verdict_best"}
        assert all("stakes" not in d for d in details)
    finally:
        engine.dispose()


def json_of(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def test_the_range_is_stored_and_shown_by_screen_list_and_history(tmp_path) -> None:
    import json

    from tests.test_identity import screen

    db = f"sqlite:///{tmp_path / 's.db'}"
    code, stdout, _ = screen(str(FIXTURES / "ondine-labs.yaml"), "--db", db, "--on", str(ON), "--format", "json",
                             "--no-memo")  # fmt: skip
    assert code == 0
    result = json.loads(stdout)
    span = result["score_range"]
    code, stdout, _ = screen("list", "--db", db, "--format", "json")
    (listed,) = json.loads(stdout)
    assert (listed["score_worst"], listed["score_best"], listed["verdict_worst"], listed["verdict_best"]) == (
        span["worst"], span["best"], span["worst_verdict"], span["best_verdict"],
    )  # fmt: skip
    code, stdout, _ = screen("history", "Ondine Labs", "--db", db)
    assert code == 0 and f"{span['worst']:.1f}\u2013{span['best']:.1f} (could change)" in stdout
    code, stdout, _ = screen("verify", "--db", db)
    assert code == 0 and "1 agree, 0 differ" in stdout
