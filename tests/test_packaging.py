"""`pip install .` ships what the screen needs: the default pack, the templates, the migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_the_wheel_contains_rules_templates_and_migrations(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("screener-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "screener/_data/rules/small-team-open-model.yaml",
        "screener/_data/templates/memo.md.j2",
        "screener/store/migrations/env.py",
        "screener/store/migrations/versions/0001_initial.py",
        "screener/store/migrations/versions/0002_pack_rules.py",
        "screener/jobs/mappings/crunchbase.yaml",
    ):
        assert required in names, required
    assert not any(name.startswith(("tests/", "fixtures/")) for name in names)
