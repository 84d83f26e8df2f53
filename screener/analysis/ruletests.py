"""``screen rules test``: example companies with expected outcomes, run through the real engine.

A pack ``rules/x.yaml`` is tested by ``rules/x.tests.yaml``::

    on: 2026-11-27                 # default screening date of every test
    fx: {EUR: 1.08}                # optional exchange rates for the profiles
    tests:
      - name: team-lean fires at 15 people
        profile: {name: Acme, team: {size: 15}}    # an inline profile, or
        # fixture: ../fixtures/acme.yaml           # a profile file (relative to this file)
        overrides: {team.size: 15}                 # dotted paths; null removes a value
        on: 2026-06-30                             # optional, overrides the default date
        fired: [team-lean]                         # matched
        not_fired: [team-compact]                  # evaluated and not matched
        not_evaluable: [capital-efficient]         # a compared field is missing
        reasons: {team-lean: "Acme runs with 15 full-time people: ..."}   # matched, with this rationale
        verdict: review

YAML anchors (``&base`` / ``*base``) let tests share a profile. A rule is *exercised* when some
test expects it fired or not_fired; rules no test exercises are listed as uncovered.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from screener.errors import Location, Problem, ProfileError, RuleError, ScreenerError, did_you_mean
from screener.profile.model import Profile, load_profile
from screener.profile.sources import Document, load_document
from screener.profile.validation import located_problems
from screener.rules.rulebook import Rulebook, load_rulebook
from screener.screening.result import Outcome, ScreeningResult, Verdict
from screener.screening.screener import Screener

TESTS_SUFFIX = ".tests.yaml"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class RuleTest(_Spec):
    """One example company and what the pack should decide about it."""

    name: str = Field(min_length=1)
    profile: dict[str, Any] | None = Field(None, description="the company, inline")
    fixture: str | None = Field(None, description="a profile file, relative to the tests file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path → value; null removes it")
    on: dt.date | None = None
    fired: list[str] = Field(default_factory=list)
    not_fired: list[str] = Field(default_factory=list)
    not_evaluable: list[str] = Field(default_factory=list)
    reasons: dict[str, str] = Field(
        default_factory=dict, description="rule id → the rationale it must give (the rule must match)"
    )
    verdict: Verdict | None = None

    @model_validator(mode="after")
    def _one_source(self) -> RuleTest:
        if (self.profile is None) == (self.fixture is None):
            raise ValueError("give either 'profile' (inline) or 'fixture' (a file), not both or neither")
        if not (self.fired or self.not_fired or self.not_evaluable or self.reasons or self.verdict):
            raise ValueError("expect something: fired, not_fired, not_evaluable, reasons or verdict")
        lists = {"fired": self.fired, "not_fired": self.not_fired, "not_evaluable": self.not_evaluable}
        for rule_id in self.reasons:
            if rule_id in self.not_fired or rule_id in self.not_evaluable:
                raise ValueError(f"rule {rule_id!r} is expected to give a reason, so it must match")
        seen: dict[str, str] = {}
        for key, ids in lists.items():
            for rule_id in ids:
                if rule_id in seen and seen[rule_id] != key:
                    raise ValueError(f"rule {rule_id!r} is expected both {seen[rule_id]} and {key}")
                seen[rule_id] = key
        return self

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict(cls, value: Any) -> Any:
        return value.strip().lower().replace(" ", "-").replace("_", "-") if isinstance(value, str) else value


class TestFile(_Spec):
    on: dt.date | None = Field(None, description="default screening date (default: today)")
    fx: dict[str, float] = Field(default_factory=dict, description="USD per unit of each currency")
    tests: list[RuleTest] = Field(min_length=1)

    @field_validator("tests")
    @classmethod
    def _unique_names(cls, tests: list[RuleTest]) -> list[RuleTest]:
        names = [t.name for t in tests]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"test names must be unique; repeated: {', '.join(duplicates)}")
        return tests


@dataclass(frozen=True)
class TestResult:
    name: str
    location: Location
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class RunReport:
    pack: Rulebook
    tests_file: Path
    results: list[TestResult] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)

    @property
    def failed(self) -> list[TestResult]:
        return [r for r in self.results if not r.passed]

    @property
    def uncovered(self) -> list[str]:
        return [r.id for r in self.pack.rules if r.id not in self.exercised]

    @property
    def coverage(self) -> float:
        total = len(self.pack.rules)
        return (total - len(self.uncovered)) / total if total else 1.0


def tests_path(pack: Path) -> Path:
    return pack.with_name(pack.stem + TESTS_SUFFIX)


def run_pack_tests(pack: Path, tests_file: Path | None = None) -> RunReport:
    """Load a pack and its tests file, check every test against the pack, run them all."""
    rulebook = load_rulebook(pack)
    tests_file = tests_file or tests_path(rulebook.path)
    doc = load_document(tests_file)
    if not isinstance(doc.data, dict):
        raise RuleError("a tests file must be a mapping with 'tests'", doc.locate(()))
    try:
        spec = TestFile.model_validate(doc.data)
    except ValidationError as exc:
        raise RuleError(_name_tests(doc, located_problems(doc, exc, TestFile))) from None
    _check_rule_ids(doc, spec, rulebook)
    profiles = _build_profiles(doc, spec, tests_file, rulebook.schema.profile_model)
    report = RunReport(rulebook, tests_file)
    with Screener(rulebook) as screener:
        for index, (test, profile) in enumerate(zip(spec.tests, profiles, strict=True)):
            on = test.on or spec.on or dt.date.today()
            result = screener.screen(profile, on, explain=bool(test.reasons))
            failures = _compare(test, result, screener, profile, on)
            report.results.append(TestResult(test.name, doc.locate(("tests", index)), failures))
            report.exercised.update(test.fired, test.not_fired, test.reasons)
    return report


def _name_tests(doc: Document, problems: list[Problem]) -> list[Problem]:
    """Prefix ``tests[i]`` subjects with the test's name, which is what people search for."""
    import re

    named = []
    tests = doc.data.get("tests") if isinstance(doc.data, dict) else None
    for problem in problems:
        match = re.match(r"tests\[(\d+)\]", problem.subject)
        index = int(match.group(1)) if match else -1
        if match and isinstance(tests, list) and index < len(tests) and isinstance(tests[index], dict):
            name = tests[index].get("name")
            rest = problem.subject[match.end() :].lstrip(".")
            if isinstance(name, str):
                subject = f"{name}: {rest}" if rest else name
                problem = Problem(problem.message, problem.location, subject, problem.level)
        named.append(problem)
    return named


def _check_rule_ids(doc: Document, spec: TestFile, rulebook: Rulebook) -> None:
    known = [r.id for r in rulebook.rules]
    problems = []
    for index, test in enumerate(spec.tests):
        for key in ("fired", "not_fired", "not_evaluable", "reasons"):
            for position, rule_id in enumerate(getattr(test, key)):
                if rule_id in known:
                    continue
                message = f"no rule {rule_id!r} in pack {rulebook.name}{did_you_mean(rule_id, known)}"
                where = ("tests", index, key, rule_id if key == "reasons" else position)
                problems.append(Problem(message, doc.locate(where), test.name))
    RuleError.collect(problems)


def _build_profiles(doc: Document, spec: TestFile, tests_file: Path, model: type[Profile]) -> list[Profile]:
    profiles: list[Profile] = []
    problems: list[Problem] = []
    for index, test in enumerate(spec.tests):
        try:
            profiles.append(_profile(doc, index, test, spec.fx, tests_file, model))
        except ScreenerError as exc:
            problems.extend(
                Problem(p.message, p.location, f"{test.name}: {p.subject}" if p.subject else test.name, p.level)
                for p in exc.problems
            )
    if problems:
        raise ProfileError(problems)
    return profiles


def _profile(
    doc: Document, index: int, test: RuleTest, rates: Mapping[str, float], tests_file: Path, model: type[Profile]
) -> Profile:
    base_path: tuple[str | int, ...]
    if test.fixture is not None:
        fixture = (tests_file.parent / test.fixture).resolve()
        if not test.overrides:
            return load_profile(fixture, rates, model)
        source = load_document(fixture)
        data = source.data
        base_doc, base_path = source, ()
    else:
        data = test.profile
        base_doc, base_path = doc, ("tests", index, "profile")
    merged = copy.deepcopy(data)
    for key, value in test.overrides.items():
        try:
            _set(merged, key, value)
        except (KeyError, IndexError, TypeError) as exc:
            raise RuleError(f"cannot override {key!r}: {exc}", doc.locate(("tests", index, "overrides", key))) from None
    view = Document(merged, base_doc.file)
    for path, where in base_doc.locations.items():
        if path[: len(base_path)] == base_path:
            view.locations[path[len(base_path) :]] = where
    if base_doc is doc:
        for key in test.overrides:
            found = doc.locations.get(("tests", index, "overrides", key))
            if found:
                view.locations[tuple(_parts(key))] = found
    try:
        return model.model_validate(merged, context={"rates": dict(rates)})
    except ValidationError as exc:
        raise ProfileError(located_problems(view, exc, model)) from None


def _parts(key: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in key.split(".")]


def _set(data: Any, key: str, value: Any) -> None:
    """Set a dotted path in nested dicts/lists, creating mappings on the way; None removes the key."""
    parts = _parts(key)
    target = data
    for part in parts[:-1]:
        if isinstance(part, int):
            target = target[part]
        else:
            if target.get(part) is None:
                target[part] = {}
            target = target[part]
    last = parts[-1]
    if value is None and isinstance(target, dict):
        target.pop(last, None)
    else:
        target[last] = copy.deepcopy(value)


def _compare(test: RuleTest, result: ScreeningResult, screener: Screener, profile: Profile, on: dt.date) -> list[str]:
    outcomes = {r.id: r for r in result.rules}
    failures: list[str] = []
    expected = [(i, Outcome.MATCHED) for i in dict.fromkeys([*test.fired, *test.reasons])]
    expected += [(i, Outcome.NOT_MATCHED) for i in test.not_fired]
    expected += [(i, Outcome.NOT_EVALUABLE) for i in test.not_evaluable]
    fact: dict[str, Any] | None = None
    for rule_id, want in expected:
        got = outcomes[rule_id]
        if got.outcome is want:
            continue
        if fact is None:
            fact, _ = screener.fact(profile, on)
        failures.append(
            f"{rule_id}: expected {want.value}, got {got.outcome.value} ({_values(screener, rule_id, fact)})"
        )
    for rule_id, reason in test.reasons.items():
        got = outcomes[rule_id]
        if got.outcome is Outcome.MATCHED and got.rationale != reason:
            failures.append(f"{rule_id}: expected the reason {reason!r}, got {got.rationale!r}")
    if test.verdict is not None and result.verdict is not test.verdict:
        failures.append(
            f"verdict: expected {test.verdict.value}, got {result.verdict.value} (score {result.score:.1f})"
        )
    return failures


def _values(screener: Screener, rule_id: str, fact: Mapping[str, Any]) -> str:
    """What the rule read, e.g. ``team.size = 16; team.size <= 15``."""
    from screener.analysis.explain import show
    from screener.rules import conditions

    rule = screener.rulebook.rule(rule_id)
    read = []
    for path in conditions.mentions(rule.condition):
        spec = next(a.field for a in conditions.walk(rule.condition) if a.field.path == path)
        value = spec.decode(fact[path]) if path in fact else None
        read.append(f"{path} = {show(spec, value)}")
    return f"{', '.join(read)}; when {conditions.render(rule.condition)}"
