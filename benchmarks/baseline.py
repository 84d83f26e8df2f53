"""The release the benchmarks compare against, installed beside this checkout (nothing of it committed).

The benchmarks print each figure beside the same measurement of a previous release, run on the
same data in the same invocation. This builds that release: ``git archive`` of the tag into a
folder of the system's temporary directory (no worktree is registered in the repository), and a
virtual environment there with the release installed, durable-rules compiled as the README says.
Built once, reused while the folder exists. Run it alone to build it and print its Python::

    python benchmarks/baseline.py                 # v0.3.0
    python benchmarks/baseline.py --tag v0.3.0 --dir /tmp/screener-v0.3.0
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TAG = "v0.3.0"
#: Releases by the commit they were cut from, for a clone without its tags (this repository has
#: none): v0.3.0 is the last commit of version 0.3.0, before the package was grouped by stage.
RELEASES = {"v0.3.0": "0b639e63200b99e818ec3f02c8afe40d2e782418"}
#: What durable-rules 2.0.28 needs to build on Python 3.13 (harmless before), as the README says.
BUILD_ENV = {"CPPFLAGS": "-DPyEval_CallObject=PyObject_CallObject"}


def default_dir(tag: str) -> Path:
    return Path(tempfile.gettempdir()) / f"screener-baseline-{tag}"


def python_of(folder: Path) -> Path:
    return folder / ".venv" / "bin" / "python"


def build(tag: str = TAG, folder: Path | None = None, quiet: bool = True) -> Path:
    """The Python of a virtual environment with release ``tag`` installed (built if missing)."""
    folder = folder or default_dir(tag)
    python = python_of(folder)
    done = folder / ".built"
    if done.exists() and python.exists():
        return python
    if folder.exists():
        shutil.rmtree(folder)  # a build that did not finish
    source = folder / "src"
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", _tree(tag)], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True)
    pip = [str(python), "-m", "pip", "install", *(["-q"] if quiet else []), str(source)]
    subprocess.run(pip, check=True, env={**os.environ, **BUILD_ENV})
    done.write_text(tag + "\n")
    return python


def _tree(tag: str) -> str:
    """The tag when the repository has it, else the commit it was cut from."""
    known = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
                           capture_output=True)  # fmt: skip
    return tag if known.returncode == 0 else RELEASES.get(tag, tag)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=TAG, help=f"the release to build (default {TAG})")
    parser.add_argument("--dir", type=Path, help="where to build it (default: the temporary directory)")
    args = parser.parse_args()
    print(build(args.tag, args.dir, quiet=False))


if __name__ == "__main__":
    main()
