"""Finding and rendering memo templates: the user's folder first, then the packaged ones.

A template is named by its purpose and format: ``memo`` in ``html`` is the file
``memo.html.j2``. A user folder (``--templates DIR``) is searched before the packaged
templates, so a fund can override ``memo.md.j2`` or add ``board.md.j2``; a user template can
extend the packaged one it replaces as ``default:memo.html.j2``. Files whose names start with an
underscore are partials (layouts, macros), not memos. Rendering is sandboxed and strict (see
:mod:`screener.texts`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from screener import texts
from screener.errors import Location, TemplateError
from screener.memo.context import CONTEXT_TYPES, MemoContext, context_names
from screener.resources import packaged

FORMATS = {"md": ".md", "html": ".html"}
DEFAULT_TEMPLATE = "memo"
DEFAULT_FORMAT = "md"
DECLINING = "pass-note"  #: the template that declines a company (a note to the founders)
PACKAGED_PREFIX = "default"  #: ``{% extends "default:memo.html.j2" %}`` names the packaged template

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_FILE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)\.(?P<format>md|html)\.j2$")
_ATTRIBUTE = re.compile(r"^'(?P<owner>[\w.]+) object' has no attribute '(?P<attribute>\w+)'$")
_TITLE = re.compile(r"^\{#-?\s*(?P<title>.*?)\s*-?#\}")


def template_file(name: str, output_format: str | None = None) -> str:
    """The file of template ``name`` in ``output_format``; a full file name is taken as it is.

    Only memo templates qualify: ``NAME.md.j2`` or ``NAME.html.j2``, where NAME does not start
    with an underscore (a partial) and carries no ``default:`` prefix (that is for ``extends``).
    """
    if name.endswith(".j2"):
        found = _FILE.match(name)
        if found is None:
            raise TemplateError(
                f"not a memo template file: {name!r} (memo templates are NAME.md.j2 or NAME.html.j2)",
                Location("--template"),
            )
        if output_format and found["format"] != output_format:
            raise TemplateError(f"template {name!r} is not a {output_format} template", Location("--template"))
        return name
    if not _NAME.fullmatch(name):
        raise TemplateError(
            f"not a template name: {name!r} (letters, digits, '-' and '_'; see 'screen templates list')",
            Location("--template"),
        )
    return f"{name}.{output_format or DEFAULT_FORMAT}.j2"


@dataclass(frozen=True)
class TemplateInfo:
    name: str  #: what ``--template`` takes
    format: str
    title: str  #: the template's first comment: what it is for
    path: Path
    source: str  #: "packaged" or "user"
    overrides: bool  #: a user template that replaces a packaged one of the same name


def catalogue(templates: Path | None = None) -> list[TemplateInfo]:
    """Every memo template available, user ones first (as they are searched)."""
    return [t for t in _all(templates) if t.name]


def unusable(templates: Path) -> list[Path]:
    """Files in a user folder that look like templates but cannot be used as memos (misnamed)."""
    return [t.path for t in _all(templates) if not t.name and t.source == "user" and not t.path.name.startswith("_")]


def _all(templates: Path | None) -> list[TemplateInfo]:
    packaged_files = {p.name: p for p in packaged("templates").glob("*.j2")}
    found = []
    if templates is not None:
        _check_folder(templates)
        for path in sorted(p for p in templates.glob("*.j2") if p.is_file()):  # a FIFO would never be read
            found.append(_info(path, "user", path.name in packaged_files))
    shadowed = {t.path.name for t in found}
    found += [_info(p, "packaged", False) for name, p in sorted(packaged_files.items()) if name not in shadowed]
    return found


def _info(path: Path, source: str, overrides: bool) -> TemplateInfo:
    match = _FILE.match(path.name)
    try:
        first = path.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
    except OSError as exc:
        raise TemplateError(f"cannot read the template: {exc.strerror or exc}", Location(str(path))) from None
    title = _TITLE.match(first)
    return TemplateInfo(
        name=match["name"] if match else "",
        format=match["format"] if match else "",
        title=title["title"] if title else "",
        path=path,
        source=source,
        overrides=overrides,
    )


def _check_folder(templates: Path) -> None:
    if not templates.is_dir():
        raise TemplateError("templates folder not found", Location(str(templates)))


def loader(templates: Path | None) -> jinja2.BaseLoader:
    shipped = jinja2.FileSystemLoader(str(packaged("templates")))
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        _check_folder(templates)
        loaders.append(jinja2.FileSystemLoader(str(templates)))
    loaders += [jinja2.PrefixLoader({PACKAGED_PREFIX: shipped}, delimiter=":"), shipped]
    return jinja2.ChoiceLoader(loaders)


class MemoRenderer:
    """Renders one memo template; user templates override packaged ones by name."""

    def __init__(
        self, templates: Path | None = None, template: str = DEFAULT_TEMPLATE, output_format: str | None = None
    ):
        self.file = template_file(template, output_format)
        self.html = self.file.endswith(".html.j2") or self.file.endswith(".htm.j2")
        self.env = texts.environment(loader(templates), html=self.html)
        try:
            self.template = self.env.get_template(self.file)
        except jinja2.TemplateNotFound as exc:
            where = str(templates or packaged("templates"))
            missing = "" if exc.name == self.file else f" (it uses {exc.name!r}, which is not there)"
            known = ", ".join(sorted({f"{t.name} ({t.format})" for t in catalogue(templates)}))
            raise TemplateError(
                f"memo template {self.file!r} not found{missing}; available: {known}", Location(where)
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error: {exc.message}", Location(exc.filename or self.file, exc.lineno)
            ) from None
        except UnicodeDecodeError:
            raise TemplateError("the template is not UTF-8 text", Location(self._path(templates))) from None

    def _path(self, templates: Path | None) -> str:
        user = templates / self.file if templates is not None else None
        return str(user if user is not None and user.is_file() else packaged("templates") / self.file)

    @property
    def name(self) -> str:
        """The template's name (``memo``, ``summary``, ``pass-note``, or a user template's)."""
        found = _FILE.match(self.file)
        return found["name"] if found else self.file.split(".", 1)[0]

    @property
    def declines(self) -> bool:
        """Whether it drafts a pass note (to the founders, declining): never for a strong fit without --force."""
        return self.name == DECLINING

    @property
    def suffix(self) -> str:
        """The memo file's ending: ``.md`` or ``.html``, after the template's name unless it is ``memo``.

        So a company's memo, summary and pass note live side by side (``acme.md``,
        ``acme.summary.md``, ``acme.pass-note.md``) instead of replacing each other.
        """
        extension = ".html" if self.html else ".md"
        found = _FILE.match(self.file)
        name = found["name"] if found else self.file.split(".", 1)[0]
        return extension if name == DEFAULT_TEMPLATE else f".{name}{extension}"

    def render(self, context: MemoContext) -> str:
        # A user's template is code we did not write: any error in it (a division by zero, a
        # filter given the wrong type, a loop the sandbox refuses) is the template's problem,
        # reported with its line, never a traceback.
        try:
            return texts.render(self.template, context.as_dict())
        except RecursionError as exc:
            hint = f"a template extends or includes itself; the packaged one is 'default:{self.file}'"
            raise TemplateError(hint, _location(exc, self.template)) from None
        except Exception as exc:
            raise TemplateError(_problem(exc), _location(exc, self.template)) from None


def _problem(exc: Exception) -> str:
    if isinstance(exc, texts.RenderLimit):
        return str(exc)
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template {exc.name!r} not found (packaged templates are named 'default:NAME')"
    if isinstance(exc, jinja2.UndefinedError):
        missing = _ATTRIBUTE.match(exc.message or "")
        if missing:
            owner = next((t for t in CONTEXT_TYPES if f"{t.__module__}.{t.__name__}" == missing["owner"]), None)
            if owner is not None:
                fields = ", ".join(f.name for f in dataclasses.fields(owner))
                return f"{owner.__name__} has no attribute {missing['attribute']!r} (it has: {fields})"
        return f"{exc.message} (memo templates may use: {', '.join(sorted(context_names()))})"
    if isinstance(exc, jinja2.TemplateError):
        return str(exc.message or exc)
    if isinstance(exc, UnicodeDecodeError):
        return "a template it uses is not UTF-8 text"
    return f"{type(exc).__name__}: {exc}"


def _location(exc: BaseException, template: jinja2.Template) -> Location:
    """The innermost template line the error happened on, from the traceback Jinja rewrites.

    Jinja rewrites tracebacks so template frames carry the template's file name and line; the
    last such frame is where the error is (a layout or macro file, not always the memo itself).
    """
    tb = exc.__traceback__
    file, line = template.filename or template.name or "template", 0
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2") or name == template.filename:
            file, line = name, tb.tb_lineno
        tb = tb.tb_next
    return Location(file, line)
