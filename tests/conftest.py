"""Shared fixtures: the default rule pack, a YAML writer, a real SQLite file and PostgreSQL."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from screener.rules.rulebook import Rulebook, load_rulebook
from screener.screening.screener import Screener

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
#: A fixed screening date so results do not depend on the day the tests run.
ON = dt.date(2026, 11, 27)

# The start-up caches (screener.cache) of this test session, in a folder of its own (subprocesses
# inherit it): the tests neither read what the user's runs cached nor leave anything there.
if "SCREENER_CACHE_DIR" not in os.environ:
    os.environ["SCREENER_CACHE_DIR"] = tempfile.mkdtemp(prefix="screener-test-cache-")
    atexit.register(shutil.rmtree, os.environ["SCREENER_CACHE_DIR"], ignore_errors=True)

# Hypothesis: the default "ci" profile is derandomised (every run tries the same examples, so a
# red build is reproducible and a green one means the same thing twice) with each test's fixed
# budget and no example database. SCREENER_HYPOTHESIS=deep explores: random examples, the local
# example database (failures are replayed first), and DEEP_FACTOR times each budget.
DEEP_FACTOR = 20
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("deep", max_examples=100 * DEEP_FACTOR, deadline=None, print_blob=True)
HYPOTHESIS_PROFILE = os.environ.get("SCREENER_HYPOTHESIS", "ci")
if HYPOTHESIS_PROFILE not in {"ci", "deep"}:
    raise pytest.UsageError(f"SCREENER_HYPOTHESIS={HYPOTHESIS_PROFILE!r}: expected 'ci' or 'deep'")
settings.load_profile(HYPOTHESIS_PROFILE)


def examples(budget: int) -> int:
    """A property test's example budget: ``budget`` in the "ci" profile, DEEP_FACTOR times it in "deep"."""
    return budget * DEEP_FACTOR if HYPOTHESIS_PROFILE == "deep" else budget


@pytest.fixture(scope="session")
def rulebook() -> Rulebook:
    return load_rulebook()


@pytest.fixture(scope="session")
def screener(rulebook: Rulebook) -> Iterator[Screener]:
    with Screener(rulebook) as s:
        yield s


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented text to a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'screener.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server named by SCREENER_TEST_DATABASE_URL (skips if unset)."""
    base = os.environ.get("SCREENER_TEST_DATABASE_URL")
    if not base:
        pytest.skip("SCREENER_TEST_DATABASE_URL is not set")
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each persistence test runs against a real SQLite file and the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'screener.db'}"
    return str(request.getfixturevalue("pg_url"))
