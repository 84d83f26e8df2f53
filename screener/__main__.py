"""``python -m screener``: the same as the ``screen`` command."""

from screener.cli import run

run()
