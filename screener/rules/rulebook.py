"""What a rule pack file looks like, and its validation into a compiled :class:`Rulebook`.

A rule pack is one YAML file: a name, a semantic version, verdict thresholds and a list of
rules. Each rule has an id, a title, a category, points (or ``knockout: true``), a condition
(``when``) in the condition language, a rationale sentence (a Jinja snippet over the profile)
and tags. Loading checks the file's shape with pydantic, every condition against the profile
schema, every rationale's Jinja syntax and variables, and the engine's per-fact match limit,
and reports every problem at once as ``file:line:col: rule-id: message``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from screener import texts
from screener.errors import Location, Problem, RuleError, ScreenerError
from screener.profile.declared import FieldDeclaration
from screener.profile.formulas import DerivedDeclaration
from screener.profile.sources import Document
from screener.profile.validation import located_problems
from screener.resources import packaged
from screener.rules import catalogue, conditions, packcache
from screener.rules.catalogue import PackSchema
from screener.rules.identity import as_written, content_hash, dev_label, locked_change, read_lock

DEFAULT_PACK = "small-team-open-model"
#: Variables a rationale or question may use besides the profile's own top-level fields.
EXTRA_TEMPLATE_NAMES = frozenset({"derived", "rule", "screened_on"})
#: The completeness figure's path: the one derived value that answering any key field changes.
COMPLETENESS = "derived.completeness"
_Entry = TypeVar("_Entry", FieldDeclaration, DerivedDeclaration)
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class RuleSpec(_Spec):
    """One rule as written in the pack file."""

    id: str = Field(description="unique, stable identifier (lower case, digits, '-', '_', '.')")
    title: str = Field(min_length=1, description="short title shown in tables and memos")
    category: str = Field(min_length=1, description="category for the score breakdown")
    when: str = Field(min_length=1, description="condition in the condition language")
    points: int | None = Field(None, ge=-100, le=100, description="points added when the rule matches")
    knockout: bool = Field(False, description="a match rules the company out whatever its score")
    reads: list[str] | None = Field(None, description="optional: the fields the rule reads, checked against 'when'")
    rationale: str = Field(min_length=1, description="Jinja sentence explaining a match, over the profile")
    question: str | None = Field(None, description="Jinja sentence to ask when the rule cannot be evaluated")
    tags: list[str] = Field(default_factory=list, description="free labels")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _RULE_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid rule id (lower case letters, digits, '-', '_', '.')")
        return value

    @model_validator(mode="after")
    def _points_or_knockout(self) -> RuleSpec:
        if self.knockout and self.points:
            raise ValueError("a knockout rule has no points; remove 'points' or 'knockout'")
        if not self.knockout and not self.points:
            raise ValueError("give the rule non-zero 'points', or 'knockout: true'")
        return self


class Thresholds(_Spec):
    """Score thresholds (0–100) of the verdicts; below ``review`` the verdict is pass."""

    strong_fit: float = Field(ge=0, le=100)
    review: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.strong_fit:
            raise ValueError("the 'review' threshold must not be above 'strong_fit'")
        return self


class PackSpec(_Spec):
    """A rule pack file."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    version: str
    description: str = ""
    thresholds: Thresholds
    min_coverage: float = Field(
        0.5, ge=0, le=1, description="below this share of evaluable weight a company cannot be a strong fit"
    )
    fields: dict[str, FieldDeclaration] = Field(
        default_factory=dict, description="profile fields the pack declares, by dotted name"
    )
    derived: dict[str, DerivedDeclaration] = Field(
        default_factory=dict, description="derived values the pack declares, read as derived.<name>"
    )
    rules: list[RuleSpec] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER.fullmatch(value):
            raise ValueError(f"{value!r} is not a semantic version such as 1.2.0")
        return value


@dataclass(frozen=True)
class Rule:
    """A validated, compiled rule."""

    spec: RuleSpec
    index: int
    condition: conditions.Node
    reads: tuple[str, ...]
    rationale: texts.Snippet
    question: texts.Snippet | None
    location: Location
    #: where the rule's ``when``, ``rationale`` and ``question`` are written (errors point there)
    where: dict[str, Location] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def points(self) -> int:
        return self.spec.points or 0

    @property
    def knockout(self) -> bool:
        return self.spec.knockout


@dataclass(frozen=True)
class Rulebook:
    """A validated rule pack, ready to compile into the engine."""

    spec: PackSpec
    path: Path
    hash: str  #: sha256 of the pack's canonical content
    rules: tuple[Rule, ...]
    categories: tuple[str, ...] = field(default=())
    schema: PackSchema = field(default_factory=catalogue.builtin)  #: the fields its profiles may carry
    content: str = (
        ""  #: the pack's JSON in its written key order (the database keeps it; ``hash`` is of its sorted form)
    )
    #: Why this content is a development version of ``spec.version`` (see :mod:`screener.rules.identity`);
    #: None for the released version.
    dev: str | None = None
    locked: bool = False  #: the pack's lock file records this content for its version

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        """The version label results carry: ``1.1.0``, or ``1.1.0+dev.fe40b0925a80`` for a development version."""
        return dev_label(self.spec.version, self.hash) if self.dev else self.spec.version

    def as_dev(self, why: str) -> Rulebook:
        """This pack as a development version of its version, for the reason given."""
        return dataclasses.replace(self, dev=why)

    def dev_warning(self) -> Problem | None:
        """The warning a screening with a development version gives (None for a released version)."""
        if self.dev is None:
            return None
        return Problem(
            f"{self.dev}: screened as the development version {self.name} {self.version}, kept apart from "
            f"{self.spec.version}'s screenings; bump the version, or run 'screen rules check --update-lock' to "
            f"make this content {self.spec.version}",
            Location(str(self.path)),
            level="warning",
        )

    @functools.cached_property
    def knockout_weight(self) -> int:
        """Weight of a knockout rule in the coverage figure: as much as the heaviest scored rule."""
        return max((abs(r.points) for r in self.rules), default=1) or 1

    def weight(self, rule: Rule) -> int:
        return self.knockout_weight if rule.knockout else abs(rule.points)

    @functools.cached_property
    def weights(self) -> tuple[int, ...]:
        """Each rule's weight in the coverage figure, in pack order."""
        return tuple(self.weight(r) for r in self.rules)

    @functools.cached_property
    def total_weight(self) -> int:
        return sum(self.weights)

    @functools.cached_property
    def reads(self) -> tuple[tuple[str, ...], ...]:
        """Per rule, in pack order: the fields its condition compares."""
        return tuple(r.reads for r in self.rules)

    @functools.cached_property
    def compared(self) -> frozenset[str]:
        """Every field some rule compares."""
        return frozenset(p for reads in self.reads for p in reads)

    @functools.cached_property
    def completeness_rules(self) -> tuple[int, ...]:
        """The rules that compare the completeness figure, which every missing field's answer raises."""
        return tuple(index for index, reads in enumerate(self.reads) if COMPLETENESS in reads)

    @functools.cached_property
    def completeness_others(self) -> dict[int, tuple[str, ...]]:
        """Per completeness rule, the other fields its condition names (what else decides it)."""
        return {
            index: tuple(p for p in conditions.mentions(self.rules[index].condition) if p != COMPLETENESS)
            for index in self.completeness_rules
        }

    @functools.cached_property
    def completeness_memo(self) -> dict[tuple[Any, ...], bool]:
        """Whether a completeness rule could flip, by what decides it (``screening.scoring.swinging``)."""
        return {}

    @functools.cached_property
    def table(self) -> tuple[tuple[str, str, int, bool, int], ...]:
        """Per rule, in pack order: id, category, points, knockout, weight (what scoring reads)."""
        return tuple(
            (r.id, r.spec.category, r.points, r.knockout, w) for r, w in zip(self.rules, self.weights, strict=True)
        )

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise RuleError(f"no rule {rule_id!r} in pack {self.name}")


def resolve_pack(path: str | Path | None) -> Path:
    """The pack file for ``--rules``: a file, a folder holding one pack, the name of a packaged pack
    (``generic-seed``), or None for the default."""
    if path is None:
        return packaged("rules") / f"{DEFAULT_PACK}.yaml"
    path = Path(path)
    if not path.exists() and not path.suffix and path.name == str(path):
        shipped = packaged("rules") / f"{path.name}.yaml"
        if shipped.is_file():
            return shipped
    if path.is_dir():
        packs = sorted(p for p in path.glob("*.y*ml") if not p.name.endswith((".tests.yaml", ".tests.yml")))
        if len(packs) == 1:
            return packs[0]
        if not packs:
            raise RuleError("no rule pack (*.yaml) in this folder", Location(str(path)))
        names = ", ".join(p.name for p in packs)
        raise RuleError(f"several rule packs here ({names}); pass one file with --rules", Location(str(path)))
    return path


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """Load and validate a rule pack (the default pack when ``path`` is None).

    A pack whose content differs from what its lock file records for its version is a
    development version (:mod:`screener.rules.identity`).
    """
    pack_path = resolve_pack(path)
    try:
        doc = packcache.load(pack_path)  # parsed once per pack text, then from the user's cache
    except ScreenerError as exc:
        raise RuleError(exc.problems) from None
    rulebook = compile_document(doc, pack_path)
    lock = read_lock(pack_path)
    locked = lock.versions.get(rulebook.spec.version) if lock else None
    if lock is None or locked is None:
        return rulebook
    if locked == rulebook.hash:
        return dataclasses.replace(rulebook, locked=True)
    return rulebook.as_dev(locked_change(lock, rulebook.spec.version, rulebook.hash))


def compile_document(doc: Document, path: Path) -> Rulebook:
    """Validate a parsed pack document and compile every rule, collecting every problem."""
    if not isinstance(doc.data, dict):
        raise RuleError("a rule pack must be a mapping with name, version, thresholds and rules", doc.locate(()))
    problems: list[Problem] = []
    spec: PackSpec | None = None
    try:
        spec = PackSpec.model_validate(doc.data)
        rule_specs: list[RuleSpec | None] = list(spec.rules)
    except ValidationError as exc:
        problems.extend(_name_rule(doc, p) for p in located_problems(doc, exc, PackSpec))
        # Keep going with the rules whose shape is fine, so their condition problems show up too.
        raw_rules = doc.data.get("rules")
        rule_specs = [_valid_rule(raw) for raw in raw_rules] if isinstance(raw_rules, list) else []
    schema = _schema(doc, spec, problems)
    compiler = _RuleCompiler(doc, problems, schema)
    first_use: dict[str, int] = {}
    rules = []
    for index, rule_spec in enumerate(rule_specs):
        if rule_spec is None:
            continue
        if rule_spec.id in first_use:
            message = f"duplicate rule id (first used by rule {first_use[rule_spec.id] + 1})"
            compiler.fail(index, rule_spec.id, "id", message)
        first_use.setdefault(rule_spec.id, index)
        rule = compiler.compile(index, rule_spec)
        if rule is not None:
            rules.append(rule)
    RuleError.collect(problems)
    assert spec is not None  # a shape error was collected above otherwise
    categories = tuple(dict.fromkeys(r.spec.category for r in rules))
    return Rulebook(spec, path, content_hash(doc.data), tuple(rules), categories, schema, as_written(doc.data))


def _schema(doc: Document, spec: PackSpec | None, problems: list[Problem]) -> PackSchema:
    """The pack's fields: built-in plus declared. Declarations whose own shape is wrong were already
    reported with the pack's shape; the rest are checked here, so that rules can use them."""
    data = doc.data if isinstance(doc.data, dict) else {}
    if spec is not None:
        declared_fields, declared_derived = spec.fields, spec.derived
    else:
        declared_fields = _valid_entries(data.get("fields"), FieldDeclaration)
        declared_derived = _valid_entries(data.get("derived"), DerivedDeclaration)
    schema, findings = catalogue.build(declared_fields, declared_derived)
    for path, message in findings:
        section, name, *rest = path
        subject = f"{section}.{name}" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)
        problems.append(Problem(message, doc.locate(tuple(path)), subject))
    return schema


def _valid_entries(raw: Any, model: type[_Entry]) -> dict[str, _Entry]:
    """The entries of a mapping section whose own shape is valid (the others were reported already)."""
    if not isinstance(raw, dict):
        return {}
    valid = {}
    for name, entry in raw.items():
        try:
            valid[str(name)] = model.model_validate(entry)
        except ValidationError:
            continue
    return valid


def _valid_rule(raw: Any) -> RuleSpec | None:
    """The rule, if its own shape is valid (its errors were already reported with the pack's)."""
    try:
        return RuleSpec.model_validate(raw)
    except ValidationError:
        return None


class _RuleCompiler:
    """Compiles one rule spec at a time, appending every problem it finds to a shared list."""

    def __init__(self, doc: Document, problems: list[Problem], schema: PackSchema):
        self.doc = doc
        self.problems = problems
        self.schema = schema
        self.env = texts.environment(escape=False)
        self.allowed_names = _template_names(schema)

    def fail(self, index: int, rule_id: str, key: str, message: str, column: int = 0) -> None:
        base = ("rules", index)
        line, col = self.doc.value_locations.get((*base, key), self.doc.locations.get(base, (0, 0)))
        self.problems.append(Problem(message, Location(self.doc.file, line, col + column), rule_id))

    def compile(self, index: int, spec: RuleSpec) -> Rule | None:
        before = len(self.problems)
        node = None
        try:
            node = conditions.parse(spec.when, self.schema.fields)
        except conditions.ConditionError as exc:
            for column, message in exc.problems:
                self.fail(index, spec.id, "when", message, column - 1)
        rationale = self.template(index, spec, "rationale", spec.rationale)
        question = self.template(index, spec, "question", spec.question) if spec.question else None
        if node is None:
            return None
        reads = conditions.reads(node)
        if not conditions.mentions(node):
            self.fail(index, spec.id, "when", "the condition reads no field")
        if spec.reads is not None and sorted(spec.reads) != sorted(reads):
            message = f"'reads' lists {sorted(spec.reads)} but the condition reads {sorted(reads)}"
            self.fail(index, spec.id, "reads", message)
        fires = conditions.max_matches(node)
        # One match per fact is reserved for the engine's sentinel rule (engine.SENTINEL).
        if fires > conditions.ENGINE_MATCH_LIMIT - 1:
            message = (
                f"the condition can match {fires} ways at once; the engine holds at most "
                f"{conditions.ENGINE_MATCH_LIMIT - 1} (split it into several rules)"
            )
            self.fail(index, spec.id, "when", message)
        refused = conditions.engine_limit(node)
        if refused is not None:
            self.fail(index, spec.id, "when", refused)
        if len(self.problems) > before or rationale is None:
            return None
        line, col = self.doc.locations.get(("rules", index), (0, 0))
        where = {
            key: Location(self.doc.file, *self.doc.value_locations[("rules", index, key)])
            for key in ("when", "rationale", "question")
            if ("rules", index, key) in self.doc.value_locations
        }
        return Rule(spec, index, node, reads, rationale, question, Location(self.doc.file, line, col), where)

    def template(self, index: int, spec: RuleSpec, key: str, source: str) -> texts.Snippet | None:
        try:
            names = packcache.undeclared(self.env, source)
        except jinja2.TemplateSyntaxError as exc:
            self.fail(index, spec.id, key, f"Jinja syntax error: {exc.message}")
            return None
        unknown = sorted(names - self.allowed_names)
        if unknown:
            self.fail(index, spec.id, key, f"unknown template variable(s): {', '.join(unknown)}")
            return None
        return texts.Snippet(self.env, source)


def _template_names(schema: PackSchema) -> frozenset[str]:
    return frozenset(schema.profile_model.model_fields) | EXTRA_TEMPLATE_NAMES


def _name_rule(doc: Document, problem: Problem) -> Problem:
    """Prefix a shape problem inside ``rules[i]`` with the rule's id, as users search by id."""
    match = re.match(r"rules\[(\d+)\]", problem.subject)
    if not match:
        return problem
    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    index = int(match.group(1))
    if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict) and "id" in rules[index]:
        field = problem.subject[match.end() :].lstrip(".")
        return Problem(
            problem.message, problem.location, f"{rules[index]['id']}: {field}" if field else rules[index]["id"]
        )
    return problem


def snippet_context(profile: Any, derived: dict[str, Any], on: Any) -> dict[str, Any]:
    """What a rationale or question sees: the profile's fields, ``derived`` and ``screened_on``."""
    return {**profile.model_dump(mode="json"), "derived": derived, "screened_on": on.isoformat()}


def render_snippet(rule: Rule, what: str, context: dict[str, Any]) -> str:
    """Render a rule's rationale or question; any failure is a RuleError at the snippet's own line.

    A snippet is a template the pack's author wrote: a division by zero, a filter given the wrong
    type, a macro that calls itself or a loop past the render bounds
    (:data:`screener.texts.MAX_RENDER_STEPS`) is the rule's problem, never a traceback.
    """
    template = rule.rationale if what == "rationale" else rule.question
    assert template is not None
    try:
        return " ".join(template.render({**context, "rule": rule.spec.model_dump()}).split())
    except RecursionError:
        reason = "a macro calls itself without end"
    except jinja2.TemplateError as exc:
        reason = str(exc.message or exc)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, texts.RenderLimit) else f"{type(exc).__name__}: {exc}"
    raise RuleError(Problem(f"{what} cannot be rendered: {reason}", rule.where.get(what, rule.location), rule.id))
