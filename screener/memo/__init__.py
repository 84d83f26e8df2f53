"""Memo drafts: the typed template context, template lookup and rendering, memo files.

``context`` builds what templates see, ``render`` finds and renders templates, ``files`` names
and guards memo files, ``comparables`` finds similar companies in the database, ``draft`` is the
job behind ``screen memo``.
"""

from screener.memo.context import MemoContext, context_names
from screener.memo.render import MemoRenderer

__all__ = ["MemoContext", "MemoRenderer", "context_names"]
