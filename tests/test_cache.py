"""The start-up caches (screener.cache): parsed rule packs and compiled templates.

What is checked: a cached run gives exactly what an uncached one gives (rule packs, their
errors, memos in every format), an edit is never served stale, a damaged or foreign entry is
ignored and replaced, and a folder another user could write is not used at all.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from screener import cache, texts
from screener.cli import main
from screener.errors import RuleError
from screener.rules import packcache
from screener.rules.rulebook import load_rulebook, resolve_pack
from tests.conftest import FIXTURES, ON, REPO

PACK = """\
name: cache-test
version: 1.0.0
thresholds: {strong_fit: 70, review: 40}
rules:
  - id: small-team
    title: Small team
    category: team
    points: 10
    when: team.size <= 15
    rationale: "A team of {{ team.size }}."
  - id: seeded
    title: Seed stage
    category: stage
    points: 5
    when: stage == 'seed'
    rationale: "At {{ stage }}."
"""


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCREENER_CACHE_DIR", str(folder))
    monkeypatch.delenv("SCREENER_CACHE", raising=False)
    return folder


def entries(folder: Path, kind: str) -> list[Path]:
    return sorted((folder / kind).glob("*")) if (folder / kind).is_dir() else []


def summary(path: Path) -> tuple[object, ...]:
    book = load_rulebook(path)
    return (
        book.hash, book.name, book.version, [(r.id, r.points, r.location, r.spec.when) for r in book.rules],
        book.categories,
    )  # fmt: skip


# --- rule packs --------------------------------------------------------------------------------


def test_a_pack_is_parsed_once_then_read_from_the_cache(cache_dir: Path, write) -> None:
    path = write("pack.yaml", PACK)
    first = summary(path)
    [entry] = entries(cache_dir, "packs")
    assert summary(path) == first
    assert entries(cache_dir, "packs") == [entry]
    # In a fresh process the cached pack is read without the YAML parser being imported at all.
    script = "import sys; from screener.rules.rulebook import load_rulebook; b = load_rulebook(sys.argv[1]); "
    script += "print(b.hash, 'ruamel.yaml' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True,
        env={**os.environ, "SCREENER_CACHE_DIR": str(cache_dir)}, cwd=REPO,
    )  # fmt: skip
    assert done.stdout.split() == [first[0], "False"]


def test_the_default_pack_cached_equals_the_default_pack_parsed(cache_dir: Path, monkeypatch) -> None:
    path = resolve_pack(None)
    cached_twice = [summary(path), summary(path)]
    monkeypatch.setenv("SCREENER_CACHE", "off")
    assert cached_twice == [summary(path)] * 2
    assert len(entries(cache_dir, "packs")) == 1


def test_an_edited_pack_is_never_served_from_the_cache(cache_dir: Path, write) -> None:
    path = write("pack.yaml", PACK)
    before = load_rulebook(path)
    path.write_text(PACK.replace("points: 10", "points: 12"), encoding="utf-8")
    after = load_rulebook(path)
    assert [r.points for r in after.rules] == [12, 5]
    assert after.hash != before.hash
    path.write_text(PACK, encoding="utf-8")  # back: the first entry serves it again
    assert load_rulebook(path).hash == before.hash
    assert len(entries(cache_dir, "packs")) == 2


def test_a_cached_pack_with_errors_reports_them_at_the_same_places(cache_dir: Path, write) -> None:
    path = write("bad.yaml", PACK.replace("team.size <= 15", "team.sise <= 15").replace("points: 5", "points: x"))
    messages = []
    for _ in range(2):
        with pytest.raises(RuleError) as caught:
            load_rulebook(path)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "bad.yaml:9:11: small-team: unknown field 'team.sise'" in messages[0]
    assert "bad.yaml:14:5: seeded: points:" in messages[0]
    assert len(entries(cache_dir, "packs")) == 1  # the parse was cached; the problems are found again


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw.replace(b'"points":10', b'"points":99'),  # edited without its digest
        lambda raw: b"screener-cache-0" + raw[len(b"screener-cache-1") :],  # another format
        lambda raw: raw.split(b"\n", 1)[0] + b"\n" + b"not json",
        lambda raw: b"",
    ],
    ids=["truncated", "edited", "format", "garbage", "empty"],
)
def test_a_damaged_pack_entry_is_ignored_and_replaced(cache_dir: Path, write, damage) -> None:
    path = write("pack.yaml", PACK)
    want = summary(path)
    [entry] = entries(cache_dir, "packs")
    good = entry.read_bytes()
    assert damage(good) != good
    entry.write_bytes(damage(good))
    assert summary(path) == want
    assert entry.read_bytes() == good


def test_an_entry_with_a_valid_digest_but_not_a_document_is_ignored(cache_dir: Path, write) -> None:
    path = write("pack.yaml", PACK)
    want = summary(path)
    [entry] = entries(cache_dir, "packs")
    for content in (b'{"data": {}, "locations": [[["a"], "x", 1]], "values": []}', b"[1, 2]", b'{"data": 1}'):
        cache.write("packs", entry.name, content)
        assert summary(path) == want


def test_a_pack_json_cannot_hold_exactly_is_not_cached(cache_dir: Path, write) -> None:
    path = write("dated.yaml", PACK.replace("version: 1.0.0", "version: 1.0.0\nreleased: 2026-11-27"))
    doc = packcache.load(path)
    assert str(doc.data["released"]) == "2026-11-27" and not isinstance(doc.data["released"], str)
    assert entries(cache_dir, "packs") == []


@pytest.mark.parametrize("how", ["group-writable", "link", "other-user"])
def test_a_cache_folder_others_could_write_is_not_used(cache_dir: Path, write, tmp_path, caplog, how) -> None:
    if how == "other-user" and (not hasattr(os, "geteuid") or os.geteuid() != 0):
        pytest.skip("giving the folder to another user needs root")
    path = write("pack.yaml", PACK)
    want = summary(path)  # creates the folder, and an entry
    cache._checked.clear()
    packs = cache_dir / "packs"
    if how == "group-writable":
        packs.chmod(0o775)
    elif how == "link":
        real = tmp_path / "elsewhere"
        packs.rename(real)
        packs.symlink_to(real, target_is_directory=True)
    else:
        os.chown(packs, 65534, -1)
    before = {p.name: p.read_bytes() for p in packs.iterdir()}
    with caplog.at_level(logging.WARNING, logger="screener.cache"):
        assert summary(path) == want
    assert f"the cache folder {packs} is not used" in caplog.text
    assert {p.name: p.read_bytes() for p in packs.iterdir()} == before  # neither read nor written
    cache._checked.clear()


def test_an_entry_file_others_could_write_is_ignored(cache_dir: Path, write) -> None:
    path = write("pack.yaml", PACK)
    want = summary(path)
    [entry] = entries(cache_dir, "packs")
    entry.chmod(0o666)
    assert summary(path) == want
    assert entry.stat().st_mode & 0o077 == 0  # replaced by one of our own


def test_new_cache_folders_are_private(cache_dir: Path, write) -> None:
    summary(write("pack.yaml", PACK))
    for folder in (cache_dir, cache_dir / "packs"):
        assert folder.stat().st_mode & 0o777 == 0o700
    [entry] = entries(cache_dir, "packs")
    assert entry.stat().st_mode & 0o777 == 0o600


def test_the_cache_can_be_turned_off(cache_dir: Path, write, monkeypatch) -> None:
    monkeypatch.setenv("SCREENER_CACHE", "off")
    summary(write("pack.yaml", PACK))
    assert not cache_dir.exists()


def _everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("setting", ["on", "off"])
def test_the_cache_is_the_one_place_read_commands_write(tmp_path: Path, setting: str) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENER_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), SCREENER_CACHE=setting)
    commands = [
        ["rules", "check"],
        ["explain", str(FIXTURES / "tinyllama-legal.yaml"), "--on", ON.isoformat()],
        [str(FIXTURES / "tinyllama-legal.yaml"), "--no-db", "--no-memo", "--on", ON.isoformat()],
    ]
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "screener", *command], cwd=work, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
    assert _everything(work) == []
    written = _everything(home)
    if setting == "off":
        assert written == []
    else:
        assert ".cache/screener/packs" in written
        assert all(name == ".cache" or name.startswith(".cache/screener") for name in written)


# --- templates ---------------------------------------------------------------------------------


def _memos(runner: CliRunner, out: Path, fmt: str) -> dict[str, str]:
    for fixture in ("tinyllama-legal", "titanforge-ai"):
        result = runner.invoke(
            main, ["memo", str(FIXTURES / f"{fixture}.yaml"), "--format", fmt, "--out", str(out), "--no-db",
                   "--on", ON.isoformat(), "--force"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir())}


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_memos_from_cached_templates_equal_memos_compiled_afresh(cache_dir: Path, tmp_path, monkeypatch, fmt) -> None:
    runner = CliRunner()
    cold = _memos(runner, tmp_path / "cold", fmt)
    assert entries(cache_dir, "templates")  # the memo template, its partials and the rationales
    warm = _memos(runner, tmp_path / "warm", fmt)
    monkeypatch.setenv("SCREENER_CACHE", "off")
    off = _memos(runner, tmp_path / "off", fmt)
    assert cold == warm == off
    assert len(cold) == 2


def test_a_damaged_template_entry_is_ignored(cache_dir: Path, tmp_path) -> None:
    runner = CliRunner()
    want = _memos(runner, tmp_path / "first", "md")
    for entry in entries(cache_dir, "templates"):
        raw = entry.read_bytes()
        entry.write_bytes(raw[:-7] + b"\x00garbl")
    assert _memos(runner, tmp_path / "second", "md") == want


def test_environments_that_compile_differently_never_share_an_entry(cache_dir: Path) -> None:
    envs = [texts.environment(html=True), texts.environment(), texts.environment(escape=False)]
    keys = {env.bytecode_cache.get_cache_key("memo.md.j2", "/t/memo.md.j2") for env in envs}  # type: ignore[union-attr]
    assert len(keys) == 3
    source = "{{ name }} & {{ name | upper }}"
    assert [env.from_string(source).render(name="<A&B>") for env in envs] == [
        "&lt;A&amp;B&gt; & &lt;A&amp;B&gt;",
        "&lt;A&amp;B&gt; & &lt;A&amp;B&gt;",
        "<A&B> & <A&B>",
    ]
    compiled = [texts.Snippet(env, source).render({"name": "<A&B>"}) for env in envs]
    again = [texts.Snippet(env, source).render({"name": "<A&B>"}) for env in envs]
    assert (
        compiled == again == ["&lt;A&amp;B&gt; & &lt;A&amp;B&gt;", "&lt;A&amp;B&gt; & &lt;A&amp;B&gt;", "<A&B> & <A&B>"]
    )


def test_cached_rationales_render_as_compiled_ones(cache_dir: Path, write) -> None:
    path = write("pack.yaml", PACK)
    texts_seen = []
    for _ in range(2):
        book = load_rulebook(path)
        texts_seen.append([r.rationale.render({"team": {"size": 4}, "stage": "seed"}) for r in book.rules])
    assert texts_seen == [["A team of 4.", "At seed."]] * 2
    assert json.dumps(texts_seen)


def test_template_checks_are_the_same_from_the_cache(cache_dir: Path, write) -> None:
    bad = PACK.replace("A team of {{ team.size }}.", "A team of {{ teem.size }}.").replace(
        '"At {{ stage }}."', '"{% if %}"'
    )
    path = write("bad.yaml", bad)
    messages = []
    for _ in range(2):
        with pytest.raises(RuleError) as caught:
            load_rulebook(path)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "small-team: unknown template variable(s): teem" in messages[0]
    assert "seeded: Jinja syntax error" in messages[0]
    # The snippet that parses is cached; the one that does not is parsed (and refused) every time.
    assert len(entries(cache_dir, "snippets")) == 1
    env = texts.environment(escape=False)
    assert (
        packcache.undeclared(env, "{{ a }} {{ b.c }}") == {"a", "b"} == packcache.undeclared(env, "{{ a }} {{ b.c }}")
    )
    for entry in entries(cache_dir, "snippets"):
        cache.write("snippets", entry.name, b'{"not": "a list"}')
    assert packcache.undeclared(env, "{{ a }} {{ b.c }}") == {"a", "b"}


# --- countries -----------------------------------------------------------------------------------


def test_the_country_tables_come_from_the_cache_without_importing_pycountry(cache_dir: Path) -> None:
    from screener.profile import parsing

    fresh = parsing._codes_from_pycountry()
    script = (
        "import sys; from screener.profile import parsing; "
        "print(parsing.country_code('Germany'), parsing.country_code('USA'), 'pycountry' in sys.modules)"
    )
    env = {**os.environ, "SCREENER_CACHE_DIR": str(cache_dir)}
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env, cwd=REPO)
        for _ in range(2)
    ]
    assert [r.stdout.split() for r in runs] == [["DE", "US", "True"], ["DE", "US", "False"]]
    [entry] = entries(cache_dir, "countries")
    assert json.loads(cache.read("countries", entry.name) or b"") == fresh
    cache.write("countries", entry.name, b'{"alpha_2": {}, "alpha_3": {}, "names": {}}')  # valid JSON, not the tables
    again = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env, cwd=REPO
    )
    assert again.stdout.split() == ["DE", "US", "True"]
