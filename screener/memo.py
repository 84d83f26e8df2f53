"""Memo drafts: a typed template context, template lookup, and rendering to a file.

Templates are looked up in the user's folder first (``--templates DIR``), then among the
packaged ones, so a fund can override ``memo.md.j2`` or add its own. Rendering is sandboxed and
strict (see :mod:`screener.texts`): a misspelt variable fails loudly, naming the template line.
Templates see only :class:`MemoContext`, whose fields are the documented contract.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from screener import texts
from screener.errors import Location, TemplateError
from screener.profile import Profile
from screener.resources import packaged
from screener.result import Outcome, RuleResult, ScreeningResult

DEFAULT_TEMPLATE = "memo.md.j2"


@dataclass(frozen=True)
class KeyFact:
    label: str
    value: str


@dataclass(frozen=True)
class MemoContext:
    """Everything a memo template may use. A test checks templates use nothing else.

    Every field is plain data (strings, numbers, lists, dicts): templates never reach into
    ORM objects or Python internals.
    """

    company: dict[str, Any]  #: name, website, key
    profile: dict[str, Any]  #: the validated profile, as JSON-ready data
    derived: dict[str, Any]  #: the derived values (funding_per_head, benchmark_gap, ...)
    pack: dict[str, Any]  #: name, version, hash
    screened_on: str  #: the screening date, ISO format
    as_of: str | None  #: the date the facts were true, ISO format, if known
    score: float  #: 0-100
    verdict: str  #: strong-fit, review or pass
    coverage: float  #: share of the pack's weight that could be evaluated (0..1)
    notes: list[str]  #: why the verdict differs from the score alone
    categories: list[dict[str, Any]]  #: per category: category, points, best, worst, matched, evaluable, rules
    strengths: list[dict[str, Any]]  #: matched rules with positive points (id, title, points, rationale, ...)
    risks: list[dict[str, Any]]  #: matched rules with negative points
    knockouts: list[dict[str, Any]]  #: matched knockout rules
    questions: list[str]  #: open diligence questions from missing data
    key_facts: list[KeyFact]  #: label/value rows for the key facts table
    rules: list[dict[str, Any]]  #: every rule and its outcome, in pack order (the appendix)

    @classmethod
    def build(cls, result: ScreeningResult, profile: Profile, derived: dict[str, Any]) -> MemoContext:
        def dump(rules: list[RuleResult]) -> list[dict[str, Any]]:
            return [r.model_dump(mode="json") for r in rules]

        matched = result.by_outcome(Outcome.MATCHED)
        return cls(
            company=result.company.model_dump(mode="json"),
            profile=profile.model_dump(mode="json"),
            derived=derived,
            pack=result.pack.model_dump(mode="json"),
            screened_on=result.screened_on.isoformat(),
            as_of=profile.as_of.isoformat() if profile.as_of else None,
            score=result.score,
            verdict=result.verdict.value,
            coverage=result.coverage,
            notes=list(result.notes),
            categories=[c.model_dump(mode="json") for c in result.categories],
            strengths=dump([r for r in matched if r.points > 0]),
            risks=dump([r for r in matched if r.points < 0]),
            knockouts=dump([r for r in matched if r.knockout]),
            questions=list(result.questions),
            key_facts=key_facts(profile, derived),
            rules=dump(result.rules),
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def context_names() -> frozenset[str]:
    """The variable names a memo template may use."""
    return frozenset(f.name for f in dataclasses.fields(MemoContext))


def key_facts(profile: Profile, derived: dict[str, Any]) -> list[KeyFact]:
    from screener.units import format_money

    def pct(value: float | None) -> str | None:
        return None if value is None else f"{value * 100:.0f}%"

    team, funding, model = profile.team, profile.funding, profile.model
    rows = [
        ("Website", profile.website),
        ("Stage", profile.stage.value if profile.stage else None),
        ("Founded", str(profile.founded) if profile.founded else None),
        ("HQ", profile.hq_country),
        ("Sector", profile.sector),
        ("Team size", str(team.size) if team.size is not None else None),
        ("Founders", ", ".join(f.name or "?" for f in team.founders) or None),
        ("Total raised", format_money(funding.total_raised) if funding.total_raised is not None else None),
        ("Raised per head", format_money(derived.get("funding_per_head")) if derived.get("funding_per_head") else None),
        ("Base model", model.base),
        ("Open weights", None if model.open_weights is None else ("yes" if model.open_weights else "no")),
        ("Licence", model.license),
        ("Approach", model.approach.value if model.approach else None),
        ("GPU dependence", profile.compute.gpu_dependence.value if profile.compute.gpu_dependence else None),
        ("Training share of compute", pct(profile.compute.training_share)),
        ("ARR", format_money(profile.traction.arr) if profile.traction.arr is not None else None),
        ("Gross margin", pct(profile.traction.gross_margin)),
        ("Pricing", profile.traction.pricing.value if profile.traction.pricing else None),
        ("Benchmark gap to frontier", pct(derived.get("benchmark_gap"))),
    ]
    return [KeyFact(label, value if value is not None else "unknown") for label, value in rows]


class MemoRenderer:
    """Finds and renders memo templates; user templates override packaged ones by name."""

    def __init__(self, templates: Path | None = None, template: str = DEFAULT_TEMPLATE):
        if templates is not None and not templates.is_dir():
            raise TemplateError("templates folder not found", Location(str(templates)))
        folders = [str(templates)] if templates else []
        loader = jinja2.FileSystemLoader([*folders, str(packaged("templates"))])
        self.html = template.endswith((".html", ".html.j2", ".htm", ".htm.j2"))
        self.env = texts.environment(loader, html=self.html)
        try:
            self.template = self.env.get_template(template)
        except jinja2.TemplateNotFound:
            where = templates or packaged("templates")
            raise TemplateError(f"memo template {template!r} not found", Location(str(where))) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error: {exc.message}", Location(exc.filename or template, exc.lineno)
            ) from None

    @property
    def suffix(self) -> str:
        """The memo file's extension: what the template produces."""
        return ".html" if self.html else ".md"

    def render(self, context: MemoContext) -> str:
        try:
            return self.template.render(context.as_dict())
        except jinja2.TemplateError as exc:
            raise TemplateError(_template_problem(exc), _template_location(exc, self.template)) from None


def _template_problem(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return f"{exc.message} (memo templates may use: {', '.join(sorted(context_names()))})"
    return str(exc.message if hasattr(exc, "message") else exc)


def _template_location(exc: BaseException, template: jinja2.Template) -> Location:
    """The template line the error happened on, found in the traceback Jinja rewrites."""
    tb = exc.__traceback__
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == template.filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return Location(template.filename or template.name or "template", line)
