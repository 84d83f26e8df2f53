"""Every durable-rules edge that screener.engine guards, checked against the real C extension.

Most tests go through :class:`screener.engine.Engine`; a few "canary" tests call the extension
directly to show the edge still exists in the installed durable-rules (so the guard still
matters). Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from screener.errors import EngineError, RuleError
from screener.rules import conditions, engine
from screener.rules.engine import ANCHOR, SENTINEL, Engine, load_extension
from screener.rules.rulebook import Rulebook, load_rulebook
from screener.rules.schema import Kind, fields

Write = Callable[[str, str], Path]


def pack_text(conditions_: Sequence[str], name: str = "engine-test") -> str:
    """A rule pack with one rule ``r<i>`` per condition (conditions JSON-quoted: JSON is YAML)."""
    lines = [f"name: {name}", "version: 1.0.0", "thresholds: {strong_fit: 70, review: 40}", "rules:"]
    for i, when in enumerate(conditions_):
        lines += [
            f"  - id: r{i}",
            f"    title: Rule {i}",
            "    category: test",
            "    points: 1",
            f"    when: {json.dumps(when, ensure_ascii=False)}",
            '    rationale: "x"',
        ]
    return "\n".join(lines) + "\n"


def make_pack(write: Write, conditions_: Sequence[str], name: str = "engine-test") -> Rulebook:
    return load_rulebook(write(f"{name}.yaml", pack_text(conditions_, name)))


@pytest.fixture
def build(write: Write) -> Iterator[Callable[..., Engine]]:
    """Build Engines from condition lists; every Engine built is closed after the test."""
    built: list[Engine] = []

    def _build(conditions_: Sequence[str], name: str = "engine-test") -> Engine:
        built.append(Engine(make_pack(write, conditions_, name)))
        return built[-1]

    yield _build
    for e in built:
        e.close()


def expected(rulebook: Rulebook, fact: Mapping[str, Any]) -> frozenset[int]:
    """What the Python evaluator says should match."""
    return frozenset(r.index for r in rulebook.rules if conditions.evaluate(r.condition, fact))


def encoded(**values: Any) -> dict[str, Any]:
    """A fact by dotted path (``team__size=3`` → ``{"team.size": 3}``), encoded like the screener does."""
    catalogue = fields()
    fact = {}
    for key, value in values.items():
        path = key.replace("__", ".")
        fact[path] = catalogue[path].encode(value)
    return fact


def raw_fire(definition: dict[str, Any], fact: dict[str, Any]) -> list[str]:
    """Run one fact through a raw durable-rules ruleset; return every fired rule name, in order.

    The ruleset's first state is warmed up with a matching fact first, as the Engine's sentinel
    rule does (see "the first state of a ruleset" below for why).
    """
    ext = load_extension()
    handle = ext.create_ruleset(f"raw-{os.getpid()}-{next(_raw_names)}", json.dumps({**definition, **_WARM_RULE}))
    try:
        assert _drain(ext, handle, {"warm_up": 1}, "0") == ["warm"]
        return _drain(ext, handle, fact, "1")
    finally:
        ext.delete_ruleset(handle)


_WARM_RULE = {"warm": {"all": [{"m": {"warm_up": 1}}]}}
_raw_names = itertools.count()


def _drain(ext: Any, handle: int, fact: dict[str, Any], sid: str) -> list[str]:
    try:
        code, state = ext.assert_fact(handle, json.dumps({"sid": sid, "id": sid, **fact}))
        fired: list[str] = []
        if code == 0:
            result = ext.start_action_for_state(handle, state)
            message = result[1] if result else None
            while message:
                fired.append(next(iter(json.loads(message))))
                message = ext.complete_and_start_action(handle, state)
        return fired
    finally:
        with contextlib.suppress(ext.error):
            ext.delete_state(handle, sid)


# --- assert_fact fires every matching rule ------------------------------------------------------


def test_every_matching_rule_fires_not_only_the_first(build) -> None:
    e = build(["team.size > 1", "team.size < 10", "stage == 'seed'", "team.size > 100", "model.open_weights"])
    assert e.rulesets == 1
    assert e.matches(encoded(team__size=5, stage="seed", model__open_weights=False)) == {0, 1, 2}
    assert e.matches(encoded(team__size=500, model__open_weights=True)) == {0, 3, 4}
    assert e.matches(encoded(team__size=5)) == {0, 1}


def test_fact_keys_the_pack_does_not_read_are_ignored(build) -> None:
    e = build(["team.size > 1"])
    # A float in a field no rule reads is dropped before the engine, so it cannot break it.
    assert e.matches({"team.size": 5, "traction.gross_margin": 0.5, "unknown.field": 1.5}) == {0}


def test_the_engine_starts_no_threads(build) -> None:
    # durable-rules' Python Host starts timer threads that steal results; the Engine never uses it.
    before = threading.active_count()
    e = build(["team.size > 1"])
    assert e.matches({"team.size": 2}) == {0}
    e.close()
    assert threading.active_count() == before
    assert "durable.engine" not in sys.modules


# --- at most 64 matches per fact in one ruleset ------------------------------------------------


def test_canary_durable_rules_fails_the_whole_assert_at_65_matches() -> None:
    definition = {f"r{i}": {"all": [{"m": {"$gt": {"n": -i - 1}}}]} for i in range(65)}
    with pytest.raises(load_extension().error):
        raw_fire(definition, {"n": 1})
    del definition["r64"]
    assert len(raw_fire(definition, {"n": 1})) == 64


def test_150_rules_matching_one_fact_all_fire(build) -> None:
    e = build([f"team.size > {-i - 1}" for i in range(150)], name="many-rules")
    assert e.rulesets == 3  # 62 + 62 + 26
    assert e.matches(encoded(team__size=0)) == frozenset(range(150))
    assert e.matches(encoded(team__size=-75)) == frozenset(range(75, 150))
    assert e.matches({}) == frozenset()


def test_a_rule_matching_63_ways_at_once_fires_once_in_a_ruleset_of_its_own(build) -> None:
    # (3 ways) * (3 ways) * (7 ways) = 63 true branches, the most the rulebook accepts: with the
    # sentinel that is 64 matches, exactly the engine's limit.
    big = " and ".join("(" + " or ".join(f"team.size > {i}" for i in range(ways)) + ")" for ways in (3, 3, 7))
    e = build([big, "team.size > 0", "team.size > 1"])
    assert conditions.max_matches(e.rulebook.rules[0].condition) == 63
    assert e.rulesets == 2
    assert e.matches(encoded(team__size=100)) == {0, 1, 2}
    assert e.matches(encoded(team__size=1)) == {0, 1}
    assert e.matches(encoded(team__size=0)) == frozenset()


def test_a_rule_matching_64_ways_is_refused_by_the_rulebook(write) -> None:
    big = " and ".join(f"(team.size > {i} or team.size > {i + 1})" for i in range(6))
    with pytest.raises(RuleError, match="64 ways"):
        make_pack(write, [big])


def test_partition_keeps_every_group_below_the_limit_with_the_sentinel() -> None:
    weights = [40, 30, 1, 63, 62, 1, 1, *([1] * 130), 20, 42, 43]
    groups = engine.partition(enumerate(weights))
    assert [i for g in groups for i in g] == list(range(len(weights)))  # every rule, in order
    for group in groups:
        # A group of several rules keeps one match of margin below 64, the sentinel's included.
        assert len(group) == 1 or sum(weights[i] for i in group) + 1 < conditions.ENGINE_MATCH_LIMIT
    assert engine.partition([(i, 1) for i in range(124)]) == [list(range(62)), list(range(62, 124))]
    assert engine.partition([]) == []


# --- at most 1024 live states per ruleset ------------------------------------------------------


def test_3000_profiles_through_one_engine_states_are_freed(build) -> None:
    e = build(["team.size <= 15", "stage in ['seed', 'series-a']", "missing(compute.owned_gpus)"])
    stages = ["seed", "series-a", "growth"]
    for i in range(3000):
        fact: dict[str, Any] = {"team.size": i % 40, "stage": stages[i % 3]}
        if i % 5:
            fact["compute.owned_gpus"] = i  # then large growth-stage teams match no rule at all
        assert e.matches(fact) == expected(e.rulebook, fact), fact
    # Profiles that match no rule (only the hidden sentinel) also free their state.
    for i in range(1500):
        assert e.matches({"team.size": 100 + i, "stage": "growth", "compute.owned_gpus": 1}) == frozenset()
    assert e.matches({"team.size": 3}) == {0, 2}


# --- one state per ruleset, reused ------------------------------------------------------------


def test_each_ruleset_keeps_one_state_emptied_after_every_fact(build) -> None:
    e = build([f"team.size > {i}" for i in range(70)] + ["stage == 'seed'"])
    assert e.rulesets == 2
    ext = load_extension()
    for i in range(2000):
        fact = {"team.size": i % 80, "stage": "seed" if i % 3 else "growth"}
        assert e.matches(fact) == expected(e.rulebook, fact), fact
    # One live state per ruleset, the same since the first fact, and it holds no fact.
    assert e._states == ["1", "2"]
    for handle, sid in zip(e._handles, e._states, strict=True):
        assert json.loads(ext.get_facts(handle, sid)) == []


def test_the_same_fact_twice_in_a_row_matches_twice(build) -> None:
    # A fact left in the state would make the second assert of identical content fail
    # (MessageObservedException): the fact is retracted after its actions are drained.
    e = build(["team.size > 1", "stage == 'seed'"])
    fact = encoded(team__size=5, stage="seed")
    assert [e.matches(fact) for _ in range(3)] == [{0, 1}] * 3


def test_a_state_whose_assert_failed_is_replaced_and_the_engine_goes_on(build) -> None:
    e = build(["team.size > 1", "team.size < 10"])
    assert e.matches({"team.size": 5}) == {0, 1}
    handle, sid = e._handles[0], e._states[0]
    ext = load_extension()
    # A fact the extension refuses (error 302: more than 255 properties) after the state exists.
    refused = json.dumps({"sid": sid, "id": sid, ANCHOR: 1, **{f"x{i}": i for i in range(300)}})
    with pytest.raises(EngineError, match="durable-rules failed on a profile"):
        e._assert(0, handle, sid, refused)
    assert e._states == [""]  # deleted: the next fact starts a fresh state
    with pytest.raises(ext.error):
        ext.get_facts(handle, sid)
    assert e.matches({"team.size": 0}) == {1}
    assert e.matches({"team.size": 50}) == {0}
    assert e._states == ["2"]


def test_fact_keys_are_short_and_never_the_engines_own_names() -> None:
    keys = list(itertools.islice(engine.short_keys(), 800))
    assert keys[:3] == ["a", "b", "c"]
    assert len(set(keys)) == 800
    assert not {"sid", "id", ANCHOR} & set(keys)
    assert "ic" in keys and "ie" in keys  # neighbours of "id" are kept


# --- a rule whose only condition is $nex -------------------------------------------------------

_MISSING_ONLY = """
import json, sys
from screener.rules.engine import Engine
from screener.rules.rulebook import load_rulebook

with Engine(load_rulebook(sys.argv[1])) as e:
    print(json.dumps([sorted(e.matches({})), sorted(e.matches({"team.size": 3})),
                      sorted(e.matches({"stage": "seed"}))]))
"""


def test_a_rule_whose_only_condition_is_missing_terminates_and_matches(write) -> None:
    # Unanchored, such a rule loops forever inside the C extension (holding the GIL), so a
    # thread cannot time it out: run it in a child process that is killed after a timeout.
    path = write("missing-only.yaml", pack_text(["missing(team.size)", "missing(stage)"]))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _MISSING_ONLY, str(path)], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a rule with only missing(...) hung the engine: the anchor is gone")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[0, 1], [1], [0]]


def test_every_rule_is_anchored_on_the_marker_field(build) -> None:
    e = build(["missing(team.size)"])
    assert e.matches({}) == {0}
    assert e._keys == {"team.size": "a"}
    assert ANCHOR not in {s.key for s in fields().values()}


# --- only strings, booleans and integers reach the engine --------------------------------------


@pytest.mark.parametrize(
    "value", [1.5, 5.0, float("nan"), float("inf"), -float("inf"), 1e16, 2**53, -(2**53), 10**20, 10**400]
)
def test_floats_and_huge_integers_are_refused(build, value: Any) -> None:
    e = build(["team.size > 1", "team.size != 3"])
    with pytest.raises(EngineError, match="team.size"):
        e.matches({"team.size": value})
    assert e.matches({"team.size": 5}) == {0, 1}  # the engine still works afterwards


def test_the_largest_safe_integers_and_booleans_pass(build) -> None:
    e = build(["team.size > 1", "team.size < 0", "model.open_weights", "not model.open_weights"])
    assert e.matches({"team.size": 2**53 - 1}) == {0}
    assert e.matches({"team.size": -(2**53) + 1}) == {1}
    assert e.matches({"model.open_weights": True}) == {2}
    assert e.matches({"model.open_weights": False}) == {3}


# --- $or fires once per true branch ------------------------------------------------------------


def test_canary_durable_rules_fires_an_or_rule_once_per_true_branch() -> None:
    definition = {"r0": {"all": [{"m": {"$or": [{"$gt": {"n": 1}}, {"$gt": {"n": 2}}]}}]}}
    assert raw_fire(definition, {"n": 5}) == ["r0", "r0"]


def test_or_branches_firing_twice_are_reported_once(build) -> None:
    e = build(
        [
            "team.size > 1 or team.size > 2",
            "stage in ['seed', 'seed']",
            "(team.size > 1 or team.size > 2) and (stage == 'seed' or present(stage))",
            "team.size > 100",
        ]
    )
    assert e.matches(encoded(team__size=5, stage="seed")) == {0, 1, 2}
    assert e.matches(encoded(team__size=2)) == {0}


# --- missing fields ----------------------------------------------------------------------------

_ON_TEAM_SIZE = [
    "team.size == 3",
    "team.size != 3",
    "team.size < 3",
    "team.size <= 3",
    "team.size > 3",
    "team.size >= 3",
    "not (team.size == 3)",
    "team.size not in [1, 2]",
    "stage != 'seed'",
    "stage not in ['seed', 'growth']",
    "model.open_weights != true",
    "not model.open_weights",
    "model.license != 'mit'",
]


def test_every_comparison_on_a_missing_field_is_false_including_not_equal(build) -> None:
    e = build([*_ON_TEAM_SIZE, "missing(team.size)", "present(team.size)"])
    missing, present = len(_ON_TEAM_SIZE), len(_ON_TEAM_SIZE) + 1
    assert e.matches({}) == {missing}
    assert e.matches({"compute.owned_gpus": 4}) == {missing}
    assert e.matches(encoded(team__size=3)) == {0, 3, 5, 7, present}
    assert e.matches(encoded(team__size=4)) == {1, 4, 5, 6, 7, present}
    others = encoded(stage="growth", model__open_weights=False, model__license="Apache-2.0")
    assert e.matches(others) == {8, 10, 11, 12, missing}  # growth is in ['seed', 'growth']
    for fact in ({}, encoded(team__size=3), encoded(team__size=4), others):
        assert e.matches(fact) == expected(e.rulebook, fact)


def test_canary_durable_rules_neq_on_a_missing_field_is_false() -> None:
    definition = {"ne": {"all": [{"m": {"$neq": {"n": 3}}}]}, "ex": {"all": [{"m": {"$ex": {"k": 1}}}]}}
    assert raw_fire(definition, {"k": 1}) == ["ex"]


# --- freeing rulesets --------------------------------------------------------------------------


def test_close_frees_the_rulesets_and_is_idempotent(write) -> None:
    rb = make_pack(write, [f"team.size > {i}" for i in range(70)])
    e = Engine(rb)
    assert e.rulesets == 2
    handles = list(e._handles)
    e.close()
    assert e.rulesets == 0
    ext = load_extension()
    for handle in handles:  # really deleted in the extension: deleting again fails (error 111)
        with pytest.raises(ext.error):
            ext.delete_ruleset(handle)
    e.close()  # a second close is a no-op
    assert e.rulesets == 0


def test_context_manager_and_garbage_collection_free_the_rulesets(write) -> None:
    rb = make_pack(write, ["team.size > 1"])
    ext = load_extension()
    with Engine(rb) as e:
        assert e.matches({"team.size": 2}) == {0}
        handles = list(e._handles)
    assert e.rulesets == 0
    with pytest.raises(ext.error):
        ext.delete_ruleset(handles[0])
    e = Engine(rb)
    handles = list(e._handles)
    del e  # CPython frees it at once: the finalizer deletes the ruleset
    with pytest.raises(ext.error):
        ext.delete_ruleset(handles[0])


def test_200_engines_created_and_closed_free_every_ruleset(rulebook) -> None:
    # What leaked before close() existed: each engine's rulesets (~0.35 MB each for the default
    # pack). Memory itself is measured in benchmarks/bench_engine_memory.py, not asserted here.
    fact = encoded(team__size=8, stage="seed", model__open_weights=True)
    ext = load_extension()
    with Engine(rulebook) as e:
        first = e.matches(fact)
    handles: list[int] = []
    for _ in range(200):
        e = Engine(rulebook)
        assert e.matches(fact) == first
        handles.extend(e._handles)
        e.close()
        assert e.rulesets == 0
    assert len(handles) >= 200
    for handle in handles:
        with pytest.raises(ext.error):
            ext.delete_ruleset(handle)  # already deleted by close()


# --- no global registry ------------------------------------------------------------------------


def test_two_engines_for_the_same_pack_coexist(write) -> None:
    rb = make_pack(write, ["team.size <= 15", "team.size > 15"], name="same-name")
    with Engine(rb) as a, Engine(rb) as b, Engine(make_pack(write, ["stage == 'seed'"], name="same-name")) as c:
        for size in (3, 30, 7):
            assert a.matches({"team.size": size}) == b.matches({"team.size": size}) == ({0} if size <= 15 else {1})
        assert c.matches({"stage": "seed", "team.size": 3}) == {0}
        b.close()
        assert a.matches({"team.size": 3}) == {0}
        assert c.matches({"stage": "seed"}) == {0}


# --- Python 3.13 -------------------------------------------------------------------------------


def test_the_extension_imports_on_this_python() -> None:
    # CI runs the suite on 3.11 and 3.13: on 3.13 this holds only for a build with BUILD_FLAGS.
    assert load_extension().__name__ == "durable_rules_engine"


def test_a_build_without_the_313_flag_is_explained_with_the_rebuild_command() -> None:
    # The import error a 3.13 build without the define raises (measured on 3.13.0).
    failure = ImportError(
        "/venv/lib/python3.13/site-packages/durable_rules_engine.cpython-313-x86_64-linux-gnu.so: "
        "undefined symbol: PyEval_CallObject"
    )
    message = engine.import_failure(failure)
    assert "without the flag it needs" in message
    assert (
        "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject pip install --no-cache-dir --force-reinstall "
        "durable-rules==2.0.28" in message
    )
    other = engine.import_failure(ImportError("No module named 'durable_rules_engine'"))
    assert other.startswith("the durable-rules engine cannot be loaded (No module named 'durable_rules_engine')")


# --- text --------------------------------------------------------------------------------------


def test_strings_with_quotes_and_non_ascii_compare_correctly(build) -> None:
    e = build(
        [
            'model.license == "Apache-2.0 \\"é\\""',
            'model.license != "Apache-2.0 \\"é\\""',
            "model.license == '日本語 ünï 🚀'",
            "model.license == 'back\\\\slash'",
            'model.license in ["it\'s", \'say "hi"\']',
        ]
    )
    assert e.rulebook.rules[0].condition.encoded == 'apache-2.0 "é"'
    cases = {
        'Apache-2.0 "é"': {0},
        'APACHE-2.0 "É"': {0},  # text compares case-insensitively
        'Apache-2.0 "e"': {1},
        'Apache-2.0 "é': {1},
        "Apache-2.0 é": {1},
        "日本語 ünï 🚀": {1, 2},
        "back\\slash": {1, 3},
        "backslash": {1},
        "It's": {1, 4},
        'say "hi"': {1, 4},
        "": {1},
    }
    for value, want in cases.items():
        fact = encoded(model__license=value)
        assert e.matches(fact) == want, value
        assert expected(e.rulebook, fact) == want, value


def test_the_default_pack_agrees_with_the_python_evaluator(rulebook) -> None:
    catalogue = fields()
    facts = [  # the first fact matches something: see the first-state bug below
        encoded(team__size=8, stage="seed", model__open_weights=True, model__approach="fine-tune"),
        encoded(team__size=400, stage="growth", funding__total_raised=2_000_000_000, model__approach="pretrain"),
        {path: spec.encode(0) for path, spec in catalogue.items() if spec.kind in {Kind.INTEGER, Kind.MONEY}},
        {},
    ]
    with Engine(rulebook) as e:
        for fact in facts:
            assert e.matches(fact) == expected(rulebook, fact)


# --- the first state of a ruleset --------------------------------------------------------------
#
# Root cause, read from the C sources: durable-rules allocates its state pool with malloc() and
# never initialises a new state's action context (context.messages / context.stateFact), which
# delete_state() frees. Only starting and draining an action sets them (then back to NULL). So
# deleting a fresh state whose assert matched nothing (code 1) frees garbage: SIGSEGV or SIGABRT
# whenever the pool came from recycled heap memory. The Engine's sentinel rule (every fact
# matches it) means no assert matches nothing. MALLOC_PERTURB_ makes every malloc() return
# non-zero memory, so without the sentinel these tests crash deterministically.

_FIRST_PROFILE = """
import json, sys
from screener.rules.engine import Engine
from screener.rules.rulebook import load_rulebook

with Engine(load_rulebook(sys.argv[1])) as e:
    print(json.dumps([sorted(e.matches(json.loads(fact))) for fact in sys.argv[2:]]), flush=True)
"""


def _run_first_profiles(path: Path, *facts: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    args = [sys.executable, "-c", _FIRST_PROFILE, str(path), *map(json.dumps, facts)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)


def test_canary_deleting_a_fresh_unmatched_state_crashes_durable_rules() -> None:
    script = """
import json, durable_rules_engine as ext
h = ext.create_ruleset("canary", json.dumps({"a": {"all": [{"m": {"$gt": {"n": 1}}}]}}))
code, state = ext.assert_fact(h, json.dumps({"sid": "1", "id": "1", "n": 0}))
assert code == 1
ext.delete_state(h, "1")
"""
    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode < 0, "durable-rules no longer crashes here: the sentinel rule may be unnecessary"


def test_the_first_profile_of_an_engine_may_match_nothing(write) -> None:
    path = write("first-miss.yaml", pack_text(["team.size > 100"]))
    done = _run_first_profiles(path, {"team.size": 1}, {}, {"team.size": 500}, {"team.size": 2})
    assert done.returncode == 0, f"engine crashed with code {done.returncode}: {done.stderr[-500:]}"
    assert json.loads(done.stdout) == [[], [], [0], []]


def test_the_first_profile_may_match_in_only_some_rulesets(write) -> None:
    path = write("first-split.yaml", pack_text([*(f"team.size > {i}" for i in range(62)), "stage == 'seed'"]))
    done = _run_first_profiles(path, {"team.size": 100}, {"stage": "seed"}, {})
    assert done.returncode == 0, f"engine crashed with code {done.returncode}: {done.stderr[-500:]}"
    assert json.loads(done.stdout) == [list(range(62)), [62], []]


def test_the_sentinel_is_never_reported(build) -> None:
    e = build(["team.size > 100"])
    assert e.matches({"team.size": 101}) == {0}  # first a match, so a regression fails, not crashes
    assert e.matches({}) == frozenset()
    assert e.matches({"team.size": 1}) == frozenset()
    assert not SENTINEL.startswith("r")  # cannot be mistaken for a rule "r<index>"


# --- what the engine refuses, and the messages it is explained by ------------------------------------


def test_the_import_failures_are_explained_in_full() -> None:
    rebuild = (
        "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject pip install --no-cache-dir --force-reinstall "
        "durable-rules==2.0.28 (it compiles C: gcc and the Python headers are needed)"
    )
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert engine.import_failure(ImportError("undefined symbol: PyEval_CallObject")) == (
        f"the durable-rules engine was built for Python {version} without the flag it needs there (it calls "
        f"PyEval_CallObject, which Python 3.13 removed); rebuild it with: {rebuild}"
    )
    assert engine.import_failure(ImportError("No module named 'durable_rules_engine'")) == (
        f"the durable-rules engine cannot be loaded (No module named 'durable_rules_engine'); rebuild it with: {rebuild}"
    )


def test_a_closed_engine_says_so() -> None:
    e = Engine(load_rulebook())
    e.close()
    with pytest.raises(EngineError) as caught:
        e.matches({})
    assert str(caught.value) == "this engine is closed; its rulesets were freed"


def test_every_rule_the_engine_refuses_is_named_at_its_condition(rulebook) -> None:
    import dataclasses

    # Past the engine's expression limit (15 and/or groups): put in place of two rules' conditions
    # after loading, as a limit Screener did not check for would be; the engine must name both.
    deep = conditions.parse(" and ".join(f"team.size in [{i}, {i + 100}]" for i in range(14)), rulebook.schema.fields)
    victims = {rulebook.rules[2].id, rulebook.rules[5].id}
    rules = tuple(dataclasses.replace(r, condition=deep) if r.id in victims else r for r in rulebook.rules)
    with pytest.raises(RuleError) as caught:
        Engine(dataclasses.replace(rulebook, rules=rules))
    limit = conditions.engine_limit(deep)
    assert limit is not None
    assert [(p.subject, p.location, p.message) for p in caught.value.problems] == [
        (r.id, r.where["when"], limit) for r in rulebook.rules if r.id in victims
    ]


def test_close_after_matching_frees_every_state_and_ruleset(write) -> None:
    rb = make_pack(write, [f"team.size > {i}" for i in range(70)])
    e = Engine(rb)
    assert e.matches({"team.size": 5}) == frozenset(range(5))  # each ruleset now holds a live state
    handles = list(e._handles)
    e.close()
    ext = load_extension()
    for handle in handles:  # every ruleset deleted, after its state: deleting again fails (error 111)
        with pytest.raises(ext.error):
            ext.delete_ruleset(handle)
