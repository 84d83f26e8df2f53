"""The one exception tree of Screener, and the exit codes the CLI maps it to.

Every error a user can cause by what they wrote (a profile, a rule pack, a template, a
command-line value) is a :class:`ScreenerError`. Each carries the problems it found, all of
them, each with a location when it has one, so the CLI prints ``file:line:col: message`` for
every problem and exits with the code of the error's class. Anything that is not a
ScreenerError is a bug and is allowed to show its traceback.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    """Process exit codes of the ``screen`` command (documented in the README)."""

    OK = 0  #: every input was screened (batch: every record scored or rejected on purpose)
    INTERNAL = 1  #: a bug: an unexpected exception, with its traceback
    USAGE = 2  #: bad command-line usage (click's own code)
    INVALID_INPUT = 3  #: a profile or input file is invalid; nothing was written for it
    RULE_ERROR = 4  #: the rule pack is invalid, or a rule test failed
    CONFIG_ERROR = 5  #: configuration, template or environment problem (e.g. unsupported Python)
    STORE_ERROR = 6  #: the database could not be reached or written
    REJECTS = 7  #: a batch finished but some records were rejected (see the rejects file)
    NOT_FOUND = 8  #: what was asked for is not in the database (e.g. ``screen memo --from-db``)
    MISMATCH = 9  #: ``screen verify``: a stored screening differs from what its stored profile and pack give
    INTERRUPTED = 130  #: stopped by Ctrl-C (SIGINT); a batch says what it had done and how to finish
    TERMINATED = 143  #: stopped by SIGTERM; likewise


@dataclass(frozen=True, order=True)
class Location:
    """Where a value came from: file, 1-based line and column (0 when unknown)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where it is, and optionally which field or rule it concerns."""

    message: str
    location: Location | None = None
    subject: str = ""  #: the field path or rule id the message is about
    level: str = "error"  #: "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        subject = f"{self.subject}: " if self.subject else ""
        return f"{where}{subject}{self.message}"


class ScreenerError(Exception):
    """Base of every error caused by user input. Carries one or more problems."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, problems: str | Problem | Iterable[Problem], location: Location | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems, location)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    @classmethod
    def collect(cls, problems: Sequence[Problem]) -> None:
        """Raise one error carrying every problem found, if any is an error."""
        if any(p.level == "error" for p in problems):
            raise cls(problems)


class ProfileError(ScreenerError):
    """A company profile (or an input record) is unreadable or invalid."""

    exit_code = ExitCode.INVALID_INPUT


class InputError(ProfileError):
    """An input file cannot be read at all (missing, too large, wrong format)."""


class RuleError(ScreenerError):
    """A rule pack is unreadable or invalid."""

    exit_code = ExitCode.RULE_ERROR


class ConfigError(ScreenerError):
    """Configuration (exchange rates, options), environment or template problem."""

    exit_code = ExitCode.CONFIG_ERROR


class TemplateError(ConfigError):
    """A memo template is missing, invalid, or uses a variable the context does not have."""


class NotFoundError(ScreenerError):
    """The database holds nothing for what was asked (a company never screened)."""

    exit_code = ExitCode.NOT_FOUND


class RefusedError(ConfigError):
    """Screener will not draft this without ``--force``: a pass note for a company the thesis backs."""


class OverwriteError(ConfigError):
    """Writing would replace a file the user has edited since Screener generated it (a memo)."""


class EngineError(ScreenerError):
    """durable-rules cannot be loaded, or refused a compiled rule pack."""

    exit_code = ExitCode.CONFIG_ERROR


class StoreError(ScreenerError):
    """The screening database cannot be opened or written."""

    exit_code = ExitCode.STORE_ERROR


class UsageError(ScreenerError):
    """Options that contradict each other or the inputs (e.g. an output that would replace an input)."""

    exit_code = ExitCode.USAGE


class WorkerError(ConfigError):
    """A worker process died (the out-of-memory killer, a signal): the environment stopped the job."""


class Stopped(ScreenerError):
    """A job stopped by a signal (Ctrl-C or SIGTERM) before it finished; exit code 128 + the signal."""

    def __init__(self, signum: int):
        import signal

        self.signum = signum
        name = signal.Signals(signum).name
        self.exit_code = ExitCode.INTERRUPTED if name == "SIGINT" else ExitCode.TERMINATED
        if name not in {"SIGINT", "SIGTERM"}:
            self.exit_code = 128 + signum  # type: ignore[assignment]
        super().__init__(f"stopped by {name}" + (" (Ctrl-C)" if name == "SIGINT" else ""))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """The hint that ends a message about an unknown ``name``: ``"; did you mean 'x'?"``, or ``""``.

    The one place every "did you mean" of Screener is decided, so that they all suggest alike.
    """
    import difflib  # here, not at the top: the CLI imports this module before answering --help

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
