"""Issue 11, items 13, 14, 19 and 21: rule packs and templates that would fail only while screening.

``screen rules check`` finds them first, at their line; screening turns what remains into a
located error with the documented exit code; rendering is bounded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from screener import texts
from screener.cli import main
from screener.errors import ExitCode
from tests.conftest import ON

HEAD = """\
name: test-pack
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
"""


def rule(rule_id: str, when: str, rationale: str = "fine", question: str | None = None) -> str:
    text = f"""  - id: {rule_id}
    title: {rule_id}
    category: team
    points: 5
    when: {when}
    rationale: "{rationale}"
"""
    return text + (f'    question: "{question}"\n' if question else "")


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def pack(tmp_path: Path, *rules: str) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(HEAD + "".join(rules), encoding="utf-8")
    return path


def profile(tmp_path: Path, text: str = "name: Acme\nteam:\n  size: 5\n") -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- item 13: rationales and questions that fail when rendered ---------------------------------------


@pytest.mark.parametrize(
    ("snippet", "reason"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
        ("{{ name | money }}", "TypeError: '<' not supported between instances of 'str' and 'int'"),
        (
            "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
            "a macro calls itself without end",
        ),
    ],
)
def test_a_rationale_that_fails_to_render_is_found_by_rules_check_and_is_a_rule_error_when_screening(
    tmp_path, snippet, reason
):
    path = pack(tmp_path, rule("lean", "team.size <= 15", snippet))
    checked = run("rules", "check", str(path))
    assert checked.exit_code == ExitCode.RULE_ERROR
    assert checked.stdout.splitlines()[0] == f"error: {path}:10:17: lean: rationale cannot be rendered: {reason}"
    screened = run(str(profile(tmp_path)), "--rules", str(path), "--no-db", "--no-memo", "--on", ON.isoformat())
    assert screened.exit_code == ExitCode.RULE_ERROR
    assert screened.stderr == f"error: {path}:10:17: lean: rationale cannot be rendered: {reason}\n"


def test_a_question_that_fails_only_when_a_field_is_missing_is_found(tmp_path):
    question = "What is {{ (traction.arr / team.size) | money }} per head?"
    path = pack(tmp_path, rule("lean", "team.size <= 15", question=question))
    checked = run("rules", "check", str(path))
    assert checked.exit_code == ExitCode.RULE_ERROR
    assert checked.stdout.splitlines()[0] == (
        f"error: {path}:11:16: lean: question cannot be rendered when team.size is missing: "
        "TypeError: unsupported operand type(s) for /: 'int' and 'NoneType'"
    )


def test_snippets_that_render_in_every_case_pass(tmp_path):
    safe = (
        "{{ name }} runs with {{ team.size }} people{% if traction.arr %}, ARR {{ traction.arr | money }}{% endif %}."
    )
    path = pack(tmp_path, rule("lean", "team.size <= 15", safe, question="How big is {{ name }}'s team?"))
    checked = run("rules", "check", str(path))
    assert checked.exit_code == ExitCode.OK, checked.output


def test_the_default_pack_renders_in_every_case():
    assert run("rules", "check").exit_code == ExitCode.OK


# --- item 14: a rule the engine cannot hold (durable-rules error 113) ------------------------------------


FOURTEEN = " and ".join(
    'stage in ["seed", "series-a"]' if i == 0 else f"team.size in [{i}, {i + 100}]" for i in range(14)
)


def test_rules_check_predicts_the_engines_expression_limit_at_the_rules_line(tmp_path):
    path = pack(tmp_path, rule("fine", "team.size <= 15"), rule("too-many", FOURTEEN))
    checked = run("rules", "check", str(path))
    assert checked.exit_code == ExitCode.RULE_ERROR
    assert checked.stdout.splitlines()[0] == (
        f"error: {path}:15:11: too-many: the condition has 15 and/or groups (each 'in [...]' list is one); the "
        "engine holds at most 14 in one rule (durable-rules error 113): split it into several rules"
    )


def test_screening_with_such_a_pack_is_a_rule_error_at_the_rule_not_an_engine_error(tmp_path):
    path = pack(tmp_path, rule("fine", "team.size <= 15"), rule("too-many", FOURTEEN))
    screened = run(str(profile(tmp_path)), "--rules", str(path), "--no-db", "--no-memo", "--on", ON.isoformat())
    assert screened.exit_code == ExitCode.RULE_ERROR
    assert screened.stderr.startswith(f"error: {path}:15:11: too-many: the condition has 15 and/or groups")


def test_thirteen_in_lists_are_within_the_limit(tmp_path):
    thirteen = " and ".join(f"team.size in [{i}, {i + 100}]" for i in range(13))
    path = pack(tmp_path, rule("many", thirteen))
    assert run("rules", "check", str(path)).exit_code == ExitCode.OK


def test_the_engine_finds_the_rule_it_refuses_by_bisecting(rulebook):
    """Whatever the engine refuses is traced to its rule, even a limit Screener does not predict."""
    import dataclasses

    from screener.errors import RuleError
    from screener.rules import conditions
    from screener.rules.engine import Engine

    book = rulebook
    victim = book.rules[7]
    # A condition past the expression limit, put in place of one rule's after loading (as an
    # unpredicted engine limit would be): the engine must name that rule.
    deep = conditions.parse(FOURTEEN.replace("stage in", "stage in"), book.schema.fields)
    rules = tuple(dataclasses.replace(r, condition=deep) if r is victim else r for r in book.rules)
    with pytest.raises(RuleError) as caught:
        Engine(dataclasses.replace(book, rules=rules))
    (problem,) = caught.value.problems
    assert (problem.subject, problem.location) == (victim.id, victim.where["when"])
    assert "durable-rules error 113" in problem.message


# --- item 19: user templates that would render for ever ----------------------------------------------------


def memo_with(tmp_path: Path, body: str) -> Result:
    templates = tmp_path / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "memo.md.j2").write_text(body, encoding="utf-8")
    return run(
        "memo", str(profile(tmp_path)), "--templates", str(templates), "--out", str(tmp_path / "memos"),
        "--no-db", "--on", ON.isoformat(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "rendering stopped: its range() loops went past 1,000,000 steps",
        ),
        (
            "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
            "rendering stopped: its output passed 5,000,000 characters",
        ),
        (
            "{{ 'x' * 10 ** 9 }}",
            "rendering stopped: a repetition of 1,000,000,000 would make more than 5,000,000 items",
        ),
        ("{{ 10 ** 100000 }}", "rendering stopped: 10 ** 100000 has more than 10,000 digits"),
        # Widths that padding would build a value of before any output bound could see it
        # ("x".ljust(10 ** 10) is 10 GB): refused before they are built.
        *(
            (body, "rendering stopped: a width of 10,000,000,000 is more than 5,000,000 characters")
            for body in (
                "{{ 'x'.ljust(10 ** 10) }}",
                "{{ 'x'.rjust(10 ** 10) }}",
                "{{ 'x'.center(10 ** 10) }}",
                "{{ 'x'.zfill(10 ** 10) }}",
                "{{ 'x' | center(10 ** 10) }}",
                "{{ 'x' | indent(10 ** 10, true) }}",
                "{{ '{:>10000000000}'.format('x') }}",
                "{{ '{0:>{1}}'.format('x', 10 ** 10) }}",
                "{{ '{a:^{w}}'.format_map({'a': 'x', 'w': 10 ** 10}) }}",
                "{{ '%10000000000s' % 'x' }}",
                "{{ '%*s' % (10 ** 10, 'x') }}",
                "{{ '%10000000000s' | format('x') }}",
                "{{ ('\t' * 100000).expandtabs(100000) }}",
            )
        ),
    ],
)
def test_a_memo_template_past_the_render_bounds_is_a_located_template_error(tmp_path, body, message):
    result = memo_with(tmp_path, body)
    assert result.exit_code == ExitCode.CONFIG_ERROR
    # The output bound is met outside any template line: it is located at the file.
    line = "" if "output" in message else ":1"
    assert result.stderr == f"error: {tmp_path / 'templates' / 'memo.md.j2'}{line}: {message}\n"
    assert not (tmp_path / "memos").exists() or list((tmp_path / "memos").iterdir()) == []


def test_widths_within_the_bound_render_as_python_renders_them(tmp_path):
    body = (
        "{{ 'x'.ljust(4) }}|{{ 'x'.rjust(4) }}|{{ 'x' | center(5) }}|{{ '{:>6}'.format('ok') }}|"
        "{{ '{0:>{1}}'.format('ok', 5) }}|{{ '%5s' % 'a' }}|{{ '%-4s' | format('b') }}|{{ '{:,}'.format(20000000) }}|"
        "{{ 7 % 3 }}\n"
    )
    result = memo_with(tmp_path, body)
    assert result.exit_code == ExitCode.OK, result.output
    (memo,) = (tmp_path / "memos").iterdir()
    expected = "|".join(
        ["x".ljust(4), "x".rjust(4), "x".center(5), "{:>6}".format("ok"), "{0:>{1}}".format("ok", 5), "    a",
         "b   ", f"{20000000:,}", str(7 % 3)]
    )  # fmt: skip
    assert memo.read_text(encoding="utf-8").startswith(expected + "\n")


def test_a_template_that_runs_past_the_time_bound_is_stopped(tmp_path, monkeypatch):
    # Loops over the context's own lists use no range(): only the clock stops these. The bound is
    # lowered for the test (it is 10 s); the render would take hours.
    monkeypatch.setattr(texts, "MAX_RENDER_SECONDS", 0.5)
    loops = "".join(f"{{% for r{i} in rules %}}" for i in range(6)) + "{% endfor %}" * 6
    result = memo_with(tmp_path, loops)
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert result.stderr.endswith("rendering stopped: it took longer than 0.5 s\n")


def test_a_rationale_past_the_render_bounds_is_a_rule_error(tmp_path):
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    path = pack(tmp_path, rule("lean", "team.size <= 15", loop))
    checked = run("rules", "check", str(path))
    assert checked.stdout.splitlines()[0] == (
        f"error: {path}:10:17: lean: rationale cannot be rendered: rendering stopped: its range() loops went past "
        "1,000,000 steps"
    )


def test_ordinary_templates_are_untouched_by_the_bounds(tmp_path):
    result = memo_with(tmp_path, "{% for i in range(10) %}{{ i }}{% endfor %} {{ range(5) | list | length }}\n")
    assert result.exit_code == ExitCode.OK, result.output
    (memo,) = (tmp_path / "memos").iterdir()
    assert memo.read_text(encoding="utf-8").startswith("0123456789 5\n")


# --- item 21: literals the fixed-point encoding rounds -----------------------------------------------------


def test_a_fraction_finer_than_a_basis_point_is_a_warning(tmp_path):
    path = pack(
        tmp_path, rule("margin", "traction.gross_margin > 1e-5"), rule("fine", 'traction.gross_margin > "0.05%"')
    )
    checked = run("rules", "check", str(path))
    assert checked.exit_code == ExitCode.OK
    assert checked.stdout.splitlines()[0] == (
        f"warning: {path}:9:11: margin: traction.gross_margin > 1e-05 compares as > 0%: fractions reach the engine "
        "in whole basis points (0.01%); write the limit in basis points' precision"
    )
    assert not any(": fine: " in line and "basis points" in line for line in checked.stdout.splitlines())


def test_money_with_cents_is_a_warning(tmp_path):
    # Money reaches the engine in whole dollars: a limit with cents would move to the dollar below
    # or above, and ">= $300,000,000.40" would admit a company at exactly $300,000,000.
    path = pack(
        tmp_path,
        rule("cents", 'funding.total_raised >= "$300,000,000.40"'),
        rule("float", "funding.total_raised > 15000000.5"),
        rule("whole", 'funding.total_raised > "$1.25M"'),
    )
    checked = run("rules", "check", str(path))
    assert checked.exit_code == ExitCode.OK
    money = [line for line in checked.stdout.splitlines() if "whole dollars" in line]
    assert money == [
        f"warning: {path}:9:11: cents: funding.total_raised >= $300,000,000.40 compares as >= $300,000,000: "
        "money reaches the engine in whole dollars; write the limit in whole dollars",
        f"warning: {path}:15:11: float: funding.total_raised > 15000000.5 compares as > $15,000,000: "
        "money reaches the engine in whole dollars; write the limit in whole dollars",
    ]
