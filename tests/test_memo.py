"""Memo rendering: golden file, documented context only, strictness, escaping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2 import meta

from screener import texts
from screener.derived import derive
from screener.errors import TemplateError
from screener.memo import MemoContext, MemoRenderer, context_names
from screener.profile import load_profile
from screener.resources import packaged
from tests.conftest import FIXTURES, ON

GOLDEN = Path(__file__).parent / "golden"


def render(screener, path: Path, renderer: MemoRenderer | None = None) -> str:
    profile = load_profile(path, {"EUR": 1.08})
    result = screener.screen(profile, ON)
    context = MemoContext.build(result, profile, derive(profile, ON).model_dump(mode="json"))
    return (renderer or MemoRenderer()).render(context)


@pytest.mark.parametrize("name", ["tinyllama-legal"])
def test_memo_matches_the_golden_file(screener, name: str) -> None:
    text = render(screener, FIXTURES / f"{name}.yaml")
    golden = GOLDEN / f"{name}.md"
    if os.environ.get("SCREENER_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_memo_has_every_section(screener) -> None:
    text = render(screener, FIXTURES / "tinyllama-legal.yaml")
    for heading in (
        "## Verdict: STRONG-FIT",
        "## Thesis fit",
        "## Strengths",
        "## Risks and red flags",
        "## Knockouts",
        "## Open questions",
        "## Key facts",
        "## Appendix: every rule",
    ):
        assert heading in text


def test_packaged_templates_use_only_the_documented_context() -> None:
    env = texts.environment()  # the real environment, so the template's filters are known
    for template in packaged("templates").glob("memo*.j2"):
        used = meta.find_undeclared_variables(env.parse(template.read_text(encoding="utf-8")))
        assert used <= context_names(), f"{template.name} uses undocumented {sorted(used - context_names())}"


def test_readme_documents_every_context_variable() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name in context_names():
        assert f"`{name}`" in readme, name


def test_a_misspelt_variable_fails_loudly_with_its_line(screener, tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text("ok\n{{ verdict }}\n{{ scroe }}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"memo\.md\.j2:3: 'scroe' is undefined"):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))


def test_templates_are_sandboxed(screener, tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text("{{ company.__class__.__mro__ }}\n", encoding="utf-8")
    with pytest.raises(TemplateError):
        render(screener, FIXTURES / "tinyllama-legal.yaml", MemoRenderer(tmp_path))


def test_html_templates_autoescape(screener, tmp_path: Path, write) -> None:
    (tmp_path / "memo.html.j2").write_text("<h1>{{ company.name }}</h1>\n", encoding="utf-8")
    profile = write("x/evil.yaml", 'name: "<b>Bold & Co</b>"\n')
    text = render(screener, profile, MemoRenderer(tmp_path, "memo.html.j2"))
    assert text == "<h1>&lt;b&gt;Bold &amp; Co&lt;/b&gt;</h1>\n"


def test_missing_template_and_folder_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="memo template 'nope.md.j2' not found"):
        MemoRenderer(tmp_path, "nope.md.j2")
    with pytest.raises(TemplateError, match="templates folder not found"):
        MemoRenderer(tmp_path / "absent")
    (tmp_path / "memo.md.j2").write_text("{% if %}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="template syntax error"):
        MemoRenderer(tmp_path)
