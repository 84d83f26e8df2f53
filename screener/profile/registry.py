"""Built-in registry of well-known base models, and the classification of model licences.

An associate writes ``base: Llama 3.1 8B`` and the registry supplies family, open-weights
status and licence; fields written explicitly in the profile always win. Entries are matched
in order, most specific first, against the lower-cased model name.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass


class LicenseKind(enum.StrEnum):
    """How freely a model licence lets a startup build a business on the weights."""

    PERMISSIVE = "permissive"  #: Apache-2.0, MIT, BSD: no strings attached
    RESTRICTED = "restricted"  #: open weights with use or scale restrictions (Llama, Gemma licences)
    NON_COMMERCIAL = "non-commercial"  #: research-only or CC-BY-NC: cannot be sold
    PROPRIETARY = "proprietary"  #: closed weights, reachable only through a vendor's API
    OWN = "own"  #: the company's own model: closed weights that it controls
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KnownModel:
    pattern: str
    family: str
    open_weights: bool
    license: str


_APACHE = "Apache-2.0"
#: A model the company trained itself ("own", "in-house", "proprietary"; or any base it pre-trains).
OWN_MODEL = KnownModel(r"^own\b|\bin-house\b|\bproprietary\b", "Own", False, "Proprietary (own)")
REGISTRY: tuple[KnownModel, ...] = (
    KnownModel(r"\bgpt-oss\b", "GPT-OSS", True, _APACHE),
    KnownModel(r"\b(gpt|o1|o3|o4|chatgpt|openai)\b", "GPT", False, "OpenAI terms (API)"),
    KnownModel(r"\bclaude\b", "Claude", False, "Anthropic terms (API)"),
    KnownModel(r"\bgemini\b", "Gemini", False, "Google terms (API)"),
    KnownModel(r"\bgemma", "Gemma", True, "Gemma Terms of Use"),
    KnownModel(r"\bcode ?llama\b", "Llama", True, "Llama 2 Community License"),
    KnownModel(r"\bllama[ -]?2\b", "Llama", True, "Llama 2 Community License"),
    KnownModel(r"\bllama[ -]?3\.1\b", "Llama", True, "Llama 3.1 Community License"),
    KnownModel(r"\bllama[ -]?3\.2\b", "Llama", True, "Llama 3.2 Community License"),
    KnownModel(r"\bllama[ -]?3\.3\b", "Llama", True, "Llama 3.3 Community License"),
    KnownModel(r"\bllama[ -]?4\b", "Llama", True, "Llama 4 Community License"),
    KnownModel(r"\bllama", "Llama", True, "Llama 3 Community License"),
    KnownModel(r"\bmistral large\b", "Mistral", True, "Mistral Research License"),
    KnownModel(r"\bcodestral\b", "Mistral", True, "Mistral Non-Production License"),
    KnownModel(r"\b(mistral|mixtral|ministral|pixtral)\b", "Mistral", True, _APACHE),
    KnownModel(r"\bqwen[\w.-]*[ -](72b|3b)\b", "Qwen", True, "Qwen License"),
    KnownModel(r"\bqwen|\bqwq\b", "Qwen", True, _APACHE),
    KnownModel(r"\bdeepseek[ -]?(r1|v3\.1|v3\.2)\b", "DeepSeek", True, "MIT"),
    KnownModel(r"\bdeepseek\b", "DeepSeek", True, "DeepSeek License"),
    KnownModel(r"\bphi[ -]?\d", "Phi", True, "MIT"),
    KnownModel(r"\bolmo", "OLMo", True, _APACHE),
    KnownModel(r"\bfalcon[ -]?180b\b", "Falcon", True, "Falcon-180B TII License"),
    KnownModel(r"\bfalcon", "Falcon", True, _APACHE),
    KnownModel(r"\bcommand[ -]?r\b", "Command R", True, "CC-BY-NC-4.0"),
    KnownModel(r"\byi\b", "Yi", True, _APACHE),
    KnownModel(r"\bmpt\b", "MPT", True, _APACHE),
    OWN_MODEL,
)
_COMPILED = tuple((re.compile(m.pattern), m) for m in REGISTRY)
# A size stands alone ("70B", "7 b", "360M"), not glued to letters ("A2.7B" is an active-parameter count);
# a mixture of experts is written "8x7B".
_PARAMS = re.compile(r"(?<![\w.])(?:(\d{1,3})x)?(\d{1,6}(?:\.\d{1,3})?)\s*([bm])\b")


# Deal flow repeats the same few hundred model and licence names: each is classified once.
@functools.lru_cache(maxsize=4096)
def lookup(base: str) -> KnownModel | None:
    """The registry entry for a model name, or None when it is not a well-known model."""
    name = base.lower()
    for pattern, model in _COMPILED:
        if pattern.search(name):
            return model
    return None


@functools.lru_cache(maxsize=4096)
def parameter_count_b(base: str) -> float | None:
    """Parameter count in billions read from a model name ("Llama 3.1 70B" → 70.0), if it says."""
    match = _PARAMS.search(base.lower())
    if not match:
        return None
    experts = int(match.group(1)) if match.group(1) else 1
    size = experts * float(match.group(2))
    return size if match.group(3) == "b" else size / 1000


_LICENSE_KINDS: tuple[tuple[str, LicenseKind], ...] = (
    (r"\bnc\b|non-?commercial|research|non-production|\bmnpl\b|\bmrl\b", LicenseKind.NON_COMMERCIAL),
    (r"\(own\)|\bin-house\b|\bown model\b", LicenseKind.OWN),
    (r"\bapi\b|terms \(api\)|proprietary|closed", LicenseKind.PROPRIETARY),
    (r"apache|\bmit\b|\bbsd\b|\bisc\b|\bmpl\b|unlicense|cc-by-4|cc-by-sa|openrail-m|\bcc0\b", LicenseKind.PERMISSIVE),
    (r"llama|gemma|qwen license|deepseek license|tii|openrail|community|acceptable use", LicenseKind.RESTRICTED),
)
_LICENSE_COMPILED = tuple((re.compile(p), kind) for p, kind in _LICENSE_KINDS)


@functools.lru_cache(maxsize=4096)
def license_kind(license_name: str | None) -> LicenseKind:
    """Classify a licence name; anything unrecognised is UNKNOWN (a diligence question, not a guess)."""
    if not license_name:
        return LicenseKind.UNKNOWN
    name = license_name.lower()
    for pattern, kind in _LICENSE_COMPILED:
        if pattern.search(name):
            return kind
    return LicenseKind.UNKNOWN
