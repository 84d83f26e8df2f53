"""The ``screen`` group's conventions: its default command, unknown commands, ``--version``, the edge.

- ``screen PROFILE...`` is ``screen score PROFILE...``: a first argument that is not a command
  is a profile when it looks like one (``-`` for standard input, a path with a folder or a
  suffix, or a file that exists). Any other word is a mistyped command: "no such command",
  with the closest command, exit code 2.
- ``--version`` (``-V``) prints the version, the default rule pack and the engine.
- At the edge, whatever a command raises becomes an exit code: click's usage errors (2, and the
  JSON error document with ``--format json``), a closed standard output (a reader such as
  ``head`` that has seen enough: quietly, exit code 141 as for SIGPIPE), an internal error (1,
  with its traceback; also as JSON with ``--format json``).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from screener.cli.common import error_document, wants_json
from screener.errors import ExitCode, Problem, did_you_mean

#: What a process that wrote to a closed pipe reports, as the shell shows one killed by SIGPIPE.
BROKEN_PIPE = 141

_GROUP_OPTIONS = ("-h", "--help", "-V", "--version")


class ScreenGroup(click.Group):
    """A group whose first argument, when it is not a command, is a profile for ``score``."""

    default_command = "score"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in _GROUP_OPTIONS:
            first = args[0]
            if first.startswith("-") and first != "-" and not self._is_score_option(first):
                hint = "; did you mean '--version'?" if first == "-v" else did_you_mean(first, self._options())
                raise click.NoSuchOption(first.split("=", 1)[0], message=f"no such option {first!r}{hint}", ctx=ctx)
            if first.startswith("-") or _looks_like_a_profile(first):
                args.insert(0, self.default_command)
            else:
                hint = did_you_mean(first, sorted(self.commands)) or (
                    f" (nor a profile file of that name); the commands are {', '.join(sorted(self.commands))}"
                )
                raise click.UsageError(f"no such command {first!r}{hint}", ctx)
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Commands, and files too: the first argument may be a profile."""
        from click.shell_completion import CompletionItem

        items: list[Any] = super().shell_complete(ctx, incomplete)
        if not incomplete.startswith("-"):
            items.append(CompletionItem(incomplete, type="file"))
        return items

    def _is_score_option(self, arg: str) -> bool:
        return arg.split("=", 1)[0] in self._score_options()

    def _score_options(self) -> list[str]:
        score = self.commands[self.default_command]
        return [name for param in score.params for name in (*param.opts, *param.secondary_opts) if name.startswith("-")]

    def _options(self) -> list[str]:
        return [*_GROUP_OPTIONS, *self._score_options()]

    def invoke(self, ctx: click.Context) -> Any:
        # Here, not in main(): click turns a broken pipe into exit code 1 before main() could see it.
        try:
            returned = super().invoke(ctx)
            sys.stdout.flush()
        except BrokenPipeError:
            ctx.exit(_closed_stdout())
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            ctx.exit(_closed_stdout())
        return returned

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        as_json = wants_json(argv)
        code: Any = 0
        try:
            returned = super().main(argv, prog_name, complete_var, False, **extra)
            code = returned if isinstance(returned, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            if as_json:
                problem = Problem(exc.format_message(), subject=_param_name(exc))
                click.echo(error_document(exc.exit_code, [problem]))
            exc.show()
            code = exc.exit_code
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            code = 130
        except BrokenPipeError:  # while writing a usage error or the help
            code = _closed_stdout()
        except SystemExit as exc:
            code = exc.code
        except Exception as exc:
            if as_json:
                problem = Problem(f"internal error (a bug: please report it): {type(exc).__name__}: {exc}")
                click.echo(error_document(int(ExitCode.INTERNAL), [problem]))
            raise
        sys.exit(code)


def _looks_like_a_profile(arg: str) -> bool:
    path = Path(arg)
    return arg == "-" or "/" in arg or os.sep in arg or bool(path.suffix) or path.exists()


def _param_name(exc: click.ClickException) -> str:
    """The option (``--since``) or argument (``PROFILES``) a usage error is about, or ``""``."""
    param = getattr(exc, "param", None)
    if param is None:
        return ""
    names = [n for n in getattr(param, "opts", ()) if n.startswith("--")] or [str(param.name).upper()]
    return str(names[0])


def _closed_stdout() -> int:
    """The reader of standard output is gone: stop quietly, and keep Python from failing to flush at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's buffer)
        pass
    return BROKEN_PIPE


def version_text() -> tuple[str, int]:
    """What ``--version`` prints: Screener's version, the default pack and the engine; and the exit code."""
    import importlib.metadata
    import platform

    from screener.errors import ScreenerError

    def installed(distribution: str) -> str:
        # Run from a checkout that was never installed, or beside a missing engine: say so, no traceback.
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return "(not installed)"

    lines = [f"screen {installed('screener')}"]
    code = 0
    try:
        from screener.rules.rulebook import load_rulebook

        pack = load_rulebook(None)
        lines.append(f"pack {pack.name} {pack.version} ({pack.hash[:12]}), the default: {pack.path}")
    except ScreenerError as exc:
        lines.append(f"pack: the default pack cannot be loaded: {exc}")
        code = int(exc.exit_code)
    engine = f"engine durable-rules {installed('durable-rules')}"
    try:
        from screener.rules.engine import load_extension

        load_extension()
        lines.append(engine)
    except ScreenerError as exc:
        lines.append(f"{engine}: {exc}")
        code = code or int(exc.exit_code)
    lines.append(f"python {platform.python_version()} ({sys.executable})")
    return "\n".join(lines), code


def print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    text, code = version_text()
    click.echo(text)
    ctx.exit(code)
