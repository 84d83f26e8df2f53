"""The only module that touches durable-rules, and every guard its sharp edges need.

durable-rules 2.0.28 is an unmaintained C extension. Measured facts this module is built on
(each has a test in ``tests/test_engine.py``):

- The Python ``Host`` starts background timer threads that occasionally steal action results,
  and refuses to register a ruleset name twice. So we never use it: we call the C extension
  ``durable_rules_engine`` directly (create_ruleset / assert_fact / start_action_for_state /
  complete_and_start_action / retract_fact / delete_state / delete_ruleset), one private set of rulesets per
  :class:`Engine`, no global state. It is also ~6x faster.
- ``assert_fact`` fires every matching rule; we drain all of them.
- A new state (``sid``) costs more than the match itself: the C engine builds an index pair per
  beta node and a pool of message nodes, and frees them again in ``delete_state`` (34 µs per
  fact for 39 rules, growing with the rule count). So each ruleset keeps one state for the
  Engine's life: assert, drain the actions, ``retract_fact``; matches are identical and memory
  stays flat. A state whose assert or drain failed is deleted and the next fact gets a fresh
  one. At most 1024 live states per ruleset: this uses one.
- Deleting the state of an assert that matched nothing (code 1) corrupts the extension's heap
  (``free(): invalid pointer`` a few hundred rulesets later; measured here, not in the upstream
  notes). So every ruleset holds a sentinel rule that every fact matches, and its matches are
  dropped: no assert ever matches nothing, so no state is ever deleted in that condition.
- Fact keys are short (``a``, ``b``, …, one per field the pack reads): key length is most of
  the C engine's parsing and hashing, and each fired rule returns the whole fact as text.
- At most 64 rules may match one fact (error 303 fails the whole assert): a pack is split
  across several rulesets so that no ruleset can ever reach 64 matches, the sentinel's included.
- A rule whose only condition is ``$nex`` loops forever: every rule is anchored on a marker
  field every fact carries.
- Floats in exponent form and inf break the parser, NaN never matches: facts must contain only
  strings, booleans and integers (:mod:`screener.rules.schema` encodes them so); we check.
- ``$or`` fires a rule once per true branch: matches are collected into a set.
- On Python 3.13 the extension builds but fails to import (it calls ``PyEval_CallObject``, which
  3.13 removed) unless it was compiled with ``CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject``:
  we say so, with the command that rebuilds it, instead of a linker error.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import weakref
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any

import orjson

from screener.errors import EngineError, Problem, RuleError
from screener.rules import conditions
from screener.rules.rulebook import Rulebook

#: The marker field every fact carries and every rule requires (see the ``$nex`` trap above).
ANCHOR = "_"
#: A rule in every ruleset that every fact matches. Deleting a state after an assert that matched
#: nothing (code 1) corrupts the extension's heap (segfault or abort a few hundred engines later),
#: so no assert may match nothing; the sentinel's own matches are dropped.
SENTINEL = "sentinel"
#: The compiler flag that lets durable-rules 2.0.28 build for Python 3.13 (harmless before 3.13).
BUILD_FLAGS = "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject"
_names = itertools.count()


def load_extension() -> ModuleType:
    """Import durable-rules' C extension, explaining the known ways it fails."""
    try:
        import durable_rules_engine
    except ImportError as exc:
        raise EngineError(import_failure(exc)) from None
    module: ModuleType = durable_rules_engine
    return module


def import_failure(exc: ImportError) -> str:
    """What to tell a user whose durable-rules extension does not import, and how to rebuild it."""
    rebuild = (
        f"{BUILD_FLAGS} pip install --no-cache-dir --force-reinstall durable-rules==2.0.28"
        " (it compiles C: gcc and the Python headers are needed)"
    )
    if "PyEval_CallObject" in str(exc):
        version = ".".join(map(str, sys.version_info[:2]))
        return (
            f"the durable-rules engine was built for Python {version} without the flag it needs there "
            f"(it calls PyEval_CallObject, which Python 3.13 removed); rebuild it with: {rebuild}"
        )
    return f"the durable-rules engine cannot be loaded ({exc}); rebuild it with: {rebuild}"


def partition(rules: Iterable[tuple[int, int]], limit: int = conditions.ENGINE_MATCH_LIMIT - 2) -> list[list[int]]:
    """Split (rule index, max matches) pairs into groups whose matches stay below ``limit``.

    The engine's limit is 64 matches per fact; one is the sentinel's, and a group is kept to 62
    so that even a miscount of one cannot reach it.
    """
    groups: list[list[int]] = [[]]
    total = 0
    for index, fires in rules:
        if groups[-1] and total + fires > limit:
            groups.append([])
            total = 0
        groups[-1].append(index)
        total += fires
    return [g for g in groups if g]


class Engine:
    """A rule pack compiled into private durable-rules rulesets.

    Not thread-safe: use one Engine per thread or process. Call :meth:`close` (or use it as a
    context manager) to free the rulesets; they are also freed when the Engine is collected.
    """

    def __init__(self, rulebook: Rulebook):
        self._ext = load_extension()
        self.rulebook = rulebook
        paths = dict.fromkeys(path for r in rulebook.rules for path in conditions.mentions(r.condition))
        #: dotted path → the fact's short key in the engine
        self._keys = dict(zip(paths, short_keys(), strict=False))
        by_key = {path.replace(".", "__"): key for path, key in self._keys.items()}
        groups = partition((r.index, conditions.max_matches(r.condition)) for r in rulebook.rules)
        self._handles: list[int] = []
        #: per ruleset, the sid of its one live state ("" when it has none yet)
        self._states: list[str] = []
        self._finalizer = weakref.finalize(self, _free, self._ext, self._handles, self._states)
        self._by_key = by_key
        for number, group in enumerate(groups):
            definition = self._definition(group)
            name = f"screener-{rulebook.name}-{next(_names)}-{number}"
            try:
                self._handles.append(self._ext.create_ruleset(name, json.dumps(definition)))
            except self._ext.error as exc:
                self.close()
                raise self._refused(group, str(exc)) from None
            self._states.append("")
        self._sids = itertools.count(1)
        self._rule_index = {f"r{r.index}": r.index for r in rulebook.rules}

    def _definition(self, group: list[int]) -> dict[str, Any]:
        rules = self.rulebook.rules
        definition: dict[str, Any] = {
            f"r{index}": {
                "all": [
                    {
                        "m": {
                            "$and": [{ANCHOR: 1}, _renamed(conditions.to_durable(rules[index].condition), self._by_key)]
                        }
                    }
                ]
            }
            for index in group
        }
        definition[SENTINEL] = {"all": [{"m": {ANCHOR: 1}}]}
        return definition

    def _refused(self, group: list[int], reason: str) -> RuleError:
        """The rules of ``group`` the engine will not hold, each at its condition's line, found by bisecting.

        durable-rules says only "error code 113" for the whole ruleset; a pack author needs the rule.
        """
        rules = self.rulebook.rules
        return RuleError(
            Problem(
                conditions.engine_limit(rules[i].condition) or f"the engine refused this rule ({reason})",
                rules[i].where.get("when", rules[i].location),
                rules[i].id,
            )
            for i in self._culprits(group)
        )

    def _culprits(self, group: list[int]) -> list[int]:
        """The smallest parts of ``group`` the engine refuses: single rules, or (if only together) the group."""
        if self._holds(group):
            return []
        if len(group) == 1:
            return group
        half = len(group) // 2
        return self._culprits(group[:half]) + self._culprits(group[half:]) or group

    def _holds(self, group: list[int]) -> bool:
        try:
            handle = self._ext.create_ruleset(f"screener-probe-{next(_names)}", json.dumps(self._definition(group)))
        except self._ext.error:
            return False
        self._ext.delete_ruleset(handle)
        return True

    @property
    def rulesets(self) -> int:
        """How many engine rulesets the pack was split into."""
        return len(self._handles)

    def matches(self, fact: Mapping[str, Any]) -> frozenset[int]:
        """Indexes of the rules whose condition holds for ``fact`` (dotted path → encoded value)."""
        if not self._finalizer.alive:
            raise EngineError("this engine is closed; its rulesets were freed")
        payload: dict[str, Any] = {ANCHOR: 1}
        keys = self._keys
        largest = conditions.MAX_ENGINE_INT
        for path, value in fact.items():
            key = keys.get(path)
            if key is None:
                continue
            kind = value.__class__
            # Exact type tests first: they settle nearly every value without the isinstance chain.
            if not (kind is str or kind is bool or (kind is int and -largest <= value <= largest)) and (
                isinstance(value, float) or (isinstance(value, int) and abs(value) > largest)
            ):
                raise EngineError(f"{path}: {value!r} cannot be passed to the engine (floats and huge numbers are not)")
            payload[key] = value
        fired: set[int] = set()
        for number, handle in enumerate(self._handles):
            sid = self._states[number]
            if not sid:
                sid = self._states[number] = str(next(self._sids))
            payload["sid"] = payload["id"] = sid
            text = orjson.dumps(payload).decode()
            if not text.isascii():  # the rules were written by json.dumps, which escapes non-ASCII: so must facts
                text = json.dumps(payload)
            fired.update(self._assert(number, handle, sid, text))
        return frozenset(fired)

    def _assert(self, number: int, handle: int, sid: str, text: str) -> list[int]:
        """Assert one fact into the ruleset's state, drain what fired and retract the fact again."""
        ext = self._ext
        fired: list[int] = []
        rule_index = self._rule_index
        try:
            try:
                code, state = ext.assert_fact(handle, text)
            except ext.error as exc:
                raise EngineError(f"durable-rules failed on a profile: {exc}") from None
            if code == 1:  # nothing matched: cannot happen with the sentinel rule
                ext.retract_fact(handle, text)
                return fired
            if code != 0:
                raise EngineError(f"durable-rules returned unexpected code {code}")
            result = ext.start_action_for_state(handle, state)
            message = result[1] if result else None
            while message:
                # The message is {"r<index>": {...the fact...}}: only the rule name is needed.
                index = rule_index.get(message[2 : message.index('"', 2)])
                if index is not None:  # None: the sentinel
                    fired.append(index)
                message = ext.complete_and_start_action(handle, state)
            ext.retract_fact(handle, text)  # the state is empty again, ready for the next fact
        except BaseException:
            # Whatever the state holds now (the fact, actions not drained) must not meet the next
            # fact: delete it (when the assert itself failed none exists: error 309) and start
            # the next fact in a fresh one.
            self._states[number] = ""
            with contextlib.suppress(ext.error):
                ext.delete_state(handle, sid)
            raise
        return fired

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def short_keys() -> Iterator[str]:
    """``a``, ``b``, …, ``z``, ``ba``, …: fact keys for the engine, never one of its own names."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for number in itertools.count():
        key = ""
        while True:
            number, digit = divmod(number, 26)
            key = letters[digit] + key
            if not number:
                break
        if key not in _RESERVED:
            yield key


#: Names a fact key must not take: the engine's own (the state and fact ids) and the anchor.
_RESERVED = frozenset({"sid", "id", ANCHOR})


def _renamed(node: dict[str, Any], keys: Mapping[str, str]) -> dict[str, Any]:
    """A condition's durable-rules form with its fact keys replaced by the engine's short ones.

    Operators start with ``$``; ``$and``/``$or`` hold conditions, the others one ``{key: value}``.
    """
    renamed: dict[str, Any] = {}
    for name, value in node.items():
        if name in ("$and", "$or"):
            renamed[name] = [_renamed(item, keys) for item in value]
        elif name.startswith("$"):
            renamed[name] = _renamed(value, keys)
        else:
            renamed[keys[name]] = value
    return renamed


def _free(ext: ModuleType, handles: list[int], states: list[str]) -> None:
    while handles:
        handle, sid = handles.pop(), states.pop()
        if sid:  # its last assert was drained (and matched the sentinel): safe to delete
            with contextlib.suppress(ext.error):
                ext.delete_state(handle, sid)
        ext.delete_ruleset(handle)
