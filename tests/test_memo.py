"""Memo rendering: golden files for every shipped template, the documented context, strictness, escaping."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import meta, nodes

from screener import store, texts
from screener.errors import TemplateError
from screener.memo import MemoContext, MemoRenderer, comparables, context_names
from screener.memo.charts import coverage_gauge, score_chart
from screener.memo.context import CONTEXT_TYPES, questions
from screener.memo.questions import ask, phrased
from screener.memo.render import catalogue, loader, template_file
from screener.profile.derived import INPUTS, Derived, derive
from screener.profile.model import Profile, load_profile
from screener.resources import packaged
from tests.conftest import FIXTURES, ON

GOLDEN = Path(__file__).parent / "golden"
#: fit, miss, incomplete, knockout
GOLDEN_FIXTURES = ["tinyllama-legal", "titanforge-ai", "ondine-labs", "promptpilot"]
SHIPPED = [(t.name, t.format) for t in catalogue()]


def context(screener, path: Path, found=()) -> MemoContext:
    profile = load_profile(path, {"EUR": 1.08})
    result = screener.screen(profile, ON)
    derived = derive(profile, ON).model_dump(mode="json")
    return MemoContext.build(
        result, profile, derived, comparables=found, description=screener.rulebook.spec.description
    )


def render(screener, path: Path, renderer: MemoRenderer | None = None) -> str:
    return (renderer or MemoRenderer()).render(context(screener, path))


@pytest.fixture(scope="module")
def pipeline_db(tmp_path_factory, screener) -> str:
    """A real SQLite screening database holding every valid fixture, for the comparables."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'screener.db'}"
    engine = store.connect(url)
    items = []
    for path in sorted(FIXTURES.glob("*.yaml")) + sorted(FIXTURES.glob("*.json")):
        profile = load_profile(path, {"EUR": 1.08})
        items.append((screener.screen(profile, ON), profile.model_dump(mode="json")))
    store.save(engine, screener.rulebook, items)
    engine.dispose()
    return url


def test_every_purpose_ships_in_both_formats() -> None:
    assert sorted(SHIPPED) == sorted((name, fmt) for name in ("memo", "summary", "pass-note") for fmt in ("md", "html"))


@pytest.mark.parametrize("fixture", GOLDEN_FIXTURES)
@pytest.mark.parametrize(("name", "fmt"), SHIPPED)
def test_shipped_templates_match_their_golden_files(screener, pipeline_db, fixture: str, name: str, fmt: str) -> None:
    engine = store.connect(pipeline_db)
    profile = load_profile(FIXTURES / f"{fixture}.yaml", {})
    result = screener.screen(profile, ON)
    found = comparables.find(engine, profile, result.company.key, result.pack.name)
    engine.dispose()
    text = MemoRenderer(None, name, fmt).render(context(screener, FIXTURES / f"{fixture}.yaml", found))
    golden = GOLDEN / f"{fixture}.{name}.{fmt}"
    if os.environ.get("SCREENER_UPDATE_GOLDEN"):
        # Updating is not checking: the run that rewrites a golden file cannot also pass it.
        changed = not golden.exists() or golden.read_text(encoding="utf-8") != text
        golden.write_text(text, encoding="utf-8")
        pytest.skip(
            f"{golden.name} {'rewritten' if changed else 'unchanged'}; run again without SCREENER_UPDATE_GOLDEN"
        )
    assert text == golden.read_text(encoding="utf-8")


def test_the_memo_reads_as_prose_grouped_by_theme(screener) -> None:
    text = render(screener, FIXTURES / "tinyllama-legal.yaml")
    for heading in (
        "## Recommendation: Strong fit",
        "## Thesis fit by theme",
        "### Team (+26; range -13 to +30)",
        "## Risks and red flags",
        "## Open questions for diligence",
        "## What we do not know",
        "## Comparables",
        "## Key facts",
        "## Appendix: every rule",
    ):
        assert heading in text
    assert "The strongest support comes from team (+26), economics (+20) and compute (+18)." in text
    # People's numbers, not raw ones.
    assert "| Total raised | $6M |" in text and "| Gross margin | 72% |" in text
    assert "6000000" not in text


def test_every_number_comes_from_the_profile_or_the_result(screener) -> None:
    ctx = context(screener, FIXTURES / "tinyllama-legal.yaml")
    text = MemoRenderer().render(ctx)
    # Dollar figures are the ones a reader could take for research: each is the profile's
    # (raised, last round, compute, ARR) or derived from it (per head).
    dollars = set(re.findall(r"\$[\d.]+[KMBT]?", text))
    assert dollars == {"$6M", "$4.5M", "$750K", "$40K", "$2.4M", "$300K"}


def test_an_incomplete_profile_says_what_is_unknown_and_asks_questions(screener) -> None:
    text = render(screener, FIXTURES / "ondine-labs.yaml")
    assert "too little to rely on the score" in text
    assert "The profile does not give these key facts: Website, Stage, Founded" in text
    assert "| Total raised | unknown |" in text
    section = text.split("## Open questions for diligence")[1].split("##")[0]
    asked = [line.split(". ", 1)[1] for line in section.strip().splitlines()]
    # Each a question, then what its answer puts at stake, the most first.
    stakes = [
        re.fullmatch(r".+\? \((\d+) points at stake(; the answer alone could change the verdict)?\)", q) for q in asked
    ]
    assert asked and all(stakes), asked
    assert [int(m[1]) for m in stakes] == sorted((int(m[1]) for m in stakes), reverse=True)  # type: ignore[index]
    assert not any(re.search(r"[a-z]+-[a-z]+-", q) for q in asked), "rule ids leaked into the questions"


def test_a_knockout_is_named_and_the_pass_note_gives_the_reasons(screener) -> None:
    memo = render(screener, FIXTURES / "promptpilot.yaml")
    assert "The screen rules the company out: A thin layer over GPT-4o (API)" in memo
    note = render(screener, FIXTURES / "promptpilot.yaml", MemoRenderer(None, "pass-note"))
    assert note.startswith("Subject: PromptPilot: our decision\n\nDear Kyle Brandt,\n")
    assert "- A thin layer over GPT-4o (API): the platform owner can take the market." in note
    assert "thin-api-wrapper" not in note


def test_memo_questions_are_questions_for_every_field_the_pack_can_miss(rulebook) -> None:
    from screener.rules import conditions

    asked_fields = set()
    for rule in rulebook.rules:
        for path in conditions.mentions(rule.condition):
            name = path.removeprefix("derived.")
            asked_fields.update(INPUTS.get(name, ()) if path.startswith("derived.") else (path,))
    assert asked_fields <= phrased(), sorted(asked_fields - phrased())
    assert all(ask(path).endswith("?") for path in asked_fields)
    assert ask("funding.last_round.lead") == "Who led the last round?"


def test_memo_questions_group_rules_and_skip_fields_that_are_given(screener) -> None:
    profile = load_profile(FIXTURES / "ondine-labs.yaml", {})
    result = screener.screen(profile, ON)
    found = {q.text: q for q in questions(profile, result)}
    founders = found[ask("team.founders")]
    assert founders.fields == ["team.founders"]
    assert "founders-frontier-lab" in founders.rules and len(set(founders.rules)) == len(founders.rules)
    assert ask("team.size") not in found  # the profile gives the team size


# --- the documented context ---------------------------------------------------------------------

_LOOP = {"index", "index0", "revindex", "revindex0", "first", "last", "length", "cycle", "previtem", "nextitem"}


def _model_fields(model: type) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        names.add(name)
        for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
            for inner in (arg, *getattr(arg, "__args__", ())):
                if isinstance(inner, type) and hasattr(inner, "model_fields"):
                    names |= _model_fields(inner)
    return names


def documented_attributes() -> set[str]:
    fields = {f.name for t in CONTEXT_TYPES for f in dataclasses.fields(t)}
    return fields | _model_fields(Profile) | _model_fields(Derived) | _LOOP


def _templates() -> list[Path]:
    return sorted(packaged("templates").glob("*.j2"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: p.name)
def test_packaged_templates_use_only_the_documented_context(path: Path) -> None:
    env = texts.environment(loader(None))
    tree = env.parse(path.read_text(encoding="utf-8"))
    imported = {node.target for node in tree.find_all(nodes.Import)}
    if not path.name.startswith("_"):  # partials only see what their macros are given
        used = meta.find_undeclared_variables(tree) - imported
        assert used <= context_names(), f"{path.name} uses undocumented {sorted(used - context_names())}"
    attributes = {
        node.attr
        for node in tree.find_all(nodes.Getattr)
        if not (isinstance(node.node, nodes.Name) and node.node.name in imported)  # a macro of a partial
    }
    assert attributes <= documented_attributes(), sorted(attributes - documented_attributes())


def test_the_context_is_plain_typed_data(screener) -> None:
    ctx = context(screener, FIXTURES / "tinyllama-legal.yaml")
    assert all(dataclasses.is_dataclass(value) or isinstance(value, str | int | float | list | dict | type(None))
               for value in ctx.as_dict().values())  # fmt: skip
    assert isinstance(ctx.themes[0].strengths[0].points, int)
    assert ctx.verdict_label == "Strong fit"
    assert [f.label for f in ctx.key_facts if not f.known] == ctx.unknown_facts


def test_readme_documents_every_context_variable_and_attribute() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name in context_names():
        assert f"`{name}`" in readme, name
    for kind in CONTEXT_TYPES[1:]:
        for field in dataclasses.fields(kind):
            assert f"`{field.name}`" in readme, f"{kind.__name__}.{field.name}"


# --- charts -------------------------------------------------------------------------------------


def test_chart_bars_share_one_scale_and_gauge_draws_the_coverage() -> None:
    chart = score_chart([("Team", 26, 3), ("Capital", 13, 0), ("Data", 0, 0)])
    team, capital, data = chart.rows
    assert chart.scale == 26
    assert team.gain_width == 170 and capital.gain_width == pytest.approx(85, abs=0.1)
    assert team.loss_x + team.loss_width == pytest.approx(chart.centre)
    assert data.gain_width == data.loss_width == 0
    assert score_chart([("Empty", 0, 0)]).scale == 1  # no division by zero
    gauge = coverage_gauge(0.25)
    assert gauge.dash == pytest.approx(gauge.circumference / 4, abs=0.1)
    assert (gauge.percent, gauge.level) == ("25%", "thin")
    assert coverage_gauge(1.2).coverage == 1.0


# --- lookup, strictness, sandbox, escaping ------------------------------------------------------


def test_template_names_and_files() -> None:
    assert template_file("memo") == "memo.md.j2"
    assert template_file("summary", "html") == "summary.html.j2"
    assert template_file("memo.html.j2") == "memo.html.j2"
    with pytest.raises(TemplateError, match="not a template name"):
        template_file("../etc/passwd")
    with pytest.raises(TemplateError, match="is not a md template"):
        template_file("memo.html.j2", "md")
    assert MemoRenderer(None, "memo").suffix == ".md"
    assert MemoRenderer(None, "pass-note", "html").suffix == ".pass-note.html"


def test_a_user_template_extends_the_packaged_one(screener, tmp_path: Path) -> None:
    (tmp_path / "memo.html.j2").write_text(
        '{% extends "default:memo.html.j2" %}\n{% block title %}FUND X: {{ company.name }}{% endblock %}\n',
        encoding="utf-8",
    )
    text = render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path, "memo", "html"))
    assert "<title>FUND X: Tinyllama Legal</title>" in text
    assert '<svg class="chart"' in text  # the rest is the packaged memo
    (listed,) = [t for t in catalogue(tmp_path) if t.path.parent == tmp_path]
    assert (listed.name, listed.source, listed.overrides) == ("memo", "user", True)


def test_a_misspelt_variable_fails_loudly_with_its_line(screener, tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text("ok\n{{ verdict }}\n{{ scroe }}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"memo\.md\.j2:3: 'scroe' is undefined"):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))


def test_a_misspelt_attribute_fails_loudly_too(screener, tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text("{% for t in themes %}{{ t.titel }}{% endfor %}\n", encoding="utf-8")
    with pytest.raises(
        TemplateError, match=r"memo\.md\.j2:1: Theme has no attribute 'titel' \(it has: category, title,"
    ):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))


def test_templates_are_sandboxed(screener, tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text("{{ company.__class__.__mro__ }}\n", encoding="utf-8")
    with pytest.raises(TemplateError):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))
    (tmp_path / "memo.md.j2").write_text("{{ chart.rows.__class__ }}\n", encoding="utf-8")
    with pytest.raises(TemplateError):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))


def test_html_memos_escape_company_text(screener, write) -> None:
    profile = write(
        "x/evil.yaml",
        """
        name: "<script>alert(1)</script> & Co"
        sector: "<img src=x onerror=alert(2)>"
        team: {size: 5, founders: [{name: "<b>Eve</b>"}]}
        """,
    )
    for name in ("memo", "summary", "pass-note"):
        text = render(screener, profile, MemoRenderer(None, name, "html"))
        assert "<script" not in text and "<img" not in text and "<b>Eve" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
        markdown = render(screener, profile, MemoRenderer(None, name, "md"))
        assert "<script" not in markdown and "&lt;script&gt;" in markdown


def test_html_memos_are_self_contained() -> None:
    for template in packaged("templates").glob("*.html.j2"):
        source = template.read_text(encoding="utf-8")
        assert not re.search(r"\b(src|href)\s*=|url\(|@import|<script|<link", source), template.name


def test_missing_template_and_folder_are_clear_errors(screener, tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"memo template 'nope.md.j2' not found; available: memo \(html\)"):
        MemoRenderer(tmp_path, "nope")
    with pytest.raises(TemplateError, match="templates folder not found"):
        MemoRenderer(tmp_path / "absent")
    (tmp_path / "memo.md.j2").write_text("{% if %}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="template syntax error"):
        MemoRenderer(tmp_path)
    (tmp_path / "board.md.j2").write_text('{% extends "default:board.md.j2" %}\n', encoding="utf-8")
    with pytest.raises(TemplateError, match=r"board\.md\.j2:1: template 'default:board.md.j2' not found"):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path, "board"))


def test_markdown_escaping_is_idempotent_for_nested_macros() -> None:
    env = texts.environment(jinja2.DictLoader({}))
    source = "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(name) }}"
    assert env.from_string(source).render(name="R&D <b> | AI") == "R&amp;D &lt;b&gt; \\| AI"


def test_a_pipe_in_company_text_does_not_break_markdown_tables(screener, write) -> None:
    profile = write("x/pipe.yaml", 'name: "Acme | AI"\nsector: "legal | tax"\nteam: {size: 5}\n')
    text = render(screener, profile)
    row = next(line for line in text.splitlines() if line.startswith("| Sector |"))
    assert row == "| Sector | legal \\| tax |"
    assert text.startswith("# Acme \\| AI: investment committee memo")


# --- what the review of the first version found ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ 1/0 }}", r"memo\.md\.j2:2: ZeroDivisionError: division by zero"),
        ('{{ "x" | money }}', r"memo\.md\.j2:2: TypeError"),
        ("{{ range(10**8) | length }}", r"memo\.md\.j2:2: OverflowError: Range too big"),
        ('{% extends "memo.md.j2" %}', r"extends or includes itself; the packaged one is 'default:memo\.md\.j2'"),
    ],
)
def test_any_error_in_a_user_template_is_a_template_error(screener, tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "memo.md.j2").write_text(f"ok\n{body}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=message):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))


def test_a_template_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_bytes(b"caf\xe9\n")
    with pytest.raises(TemplateError, match=r"memo\.md\.j2: the template is not UTF-8 text"):
        MemoRenderer(tmp_path)


def test_only_memo_templates_can_be_chosen() -> None:
    for name in ("_layout.html.j2", "default:memo.md.j2", "memo.txt.j2"):
        with pytest.raises(TemplateError, match="not a memo template file"):
            template_file(name)


def test_knockouts_lead_the_reasons_and_data_rules_are_not_reasons(screener, write) -> None:
    profile = write(
        "x/ko.yaml",
        """
        name: Hollow Wrapper
        stage: series-b
        team: {size: 400, founders: [{name: Jo Bloggs}]}
        funding: {total_raised: "$900M"}
        model: {base: GPT-4o (API), open_weights: false, approach: api-wrapper}
        """,
    )
    ctx = context(screener, profile)
    assert ctx.reasons[0].knockout and ctx.reasons[0].id == "thin-api-wrapper"
    assert not any("data" in r.tags for r in ctx.reasons)
    assert [r.points for r in ctx.reasons[1:]] == sorted(r.points for r in ctx.reasons[1:])
    note = MemoRenderer(None, "pass-note").render(ctx)
    assert note.index("A thin layer over GPT-4o (API)") < note.index("$900M")
    summary = MemoRenderer(None, "summary").render(ctx)
    assert summary.split("**Against**")[1].strip().startswith("- A thin layer over GPT-4o (API)")


def test_a_knockout_alone_is_never_called_no_red_flags(screener) -> None:
    for name in ("memo", "summary"):
        text = MemoRenderer(None, name).render(context(screener, FIXTURES / "verbatim-research.yaml"))
        assert "rules the company out" in text or "Ruled out" in text
        assert "no red flags" not in text


def test_markdown_syntax_in_company_text_stays_text(screener, write) -> None:
    profile = write("x/md.yaml", 'name: "# [Click](http://evil.example) *now* `x`"\nteam: {size: 3}\n')
    text = render(screener, profile)
    assert text.startswith("# \\# \\[Click\\](http://evil.example) \\*now\\* \\`x\\`: investment committee memo")
    assert "[Click](" not in text


def test_facts_use_words_and_one_percent_format(screener) -> None:
    ctx = context(screener, FIXTURES / "promptpilot.yaml")
    facts = {f.label: f.value for f in ctx.key_facts}
    assert facts["Approach"] == "a wrapper over a closed API" and facts["Pricing"] == "per seat"
    tiny = {f.label: f.value for f in context(screener, FIXTURES / "tinyllama-legal.yaml").key_facts}
    assert tiny["Benchmark gap to frontier"] == "2.5%"  # as the rationale says, not "2%"


def test_user_templates_replace_single_sections_through_blocks(screener, tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text(
        '{% extends "default:memo.md.j2" %}\n{% block comparables %}{% endblock %}\n'
        "{% block appendix %}## Appendix\n\nSee the data room.\n{% endblock %}\n",
        encoding="utf-8",
    )
    (tmp_path / "pass-note.md.j2").write_text(
        '{% extends "default:pass-note.md.j2" %}\n{% block signature %}Ada, Fund X\n{% endblock %}\n', encoding="utf-8"
    )
    text = render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))
    packaged_text = render(screener, FIXTURES / "tinyllama-legal.yaml")
    assert "## Comparables" not in text and text.endswith("## Appendix\n\nSee the data room.\n")
    assert text.startswith(packaged_text.split("## Comparables")[0])
    note = render(screener, FIXTURES / "titanforge-ai.yaml", MemoRenderer(tmp_path, "pass-note"))
    assert note.endswith("We wish you and the team every success.\n\nAda, Fund X\n")


@pytest.mark.parametrize("path", [p for p in _templates() if not p.name.startswith("_")], ids=lambda p: p.name)
def test_readme_lists_the_blocks_of_every_template(path: Path) -> None:
    env = texts.environment(loader(None))
    blocks = [node.name for node in env.parse(path.read_text(encoding="utf-8")).find_all(nodes.Block)]
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{path.name}` |"))
    assert [b for b in re.findall(r"`(\w+)`", row.split("|")[2])] == blocks
