"""The catalogue of plausibility checks, and the warning one of them raises.

Each check has a stable id (what a profile's ``silence`` key names, what the README's table
lists) and one sentence saying what it flags. The checks themselves are in
:mod:`screener.profile.plausibility`; this module holds only what the profile model needs to
validate ``silence`` and what a screening result carries, so that the model does not depend on
the checks that read it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: id → what the check flags. The order is the order warnings are reported in.
CHECKS: dict[str, str] = {
    "money-unit-slip": "an amount usually in millions (total raised, last round, ARR) written as a few dollars: "
    "29.5 for $29.5M",
    "percent-slip": "a gross margin under 1% that was most likely written as a percent of a percent: '0.62%' for 62%",
    "last-round-above-total": "a last round larger than the total raised, which includes it",
    "round-stage-ahead": "a last round at a later stage than the company's own stage",
    "seed-mega-raise": "a pre-seed or seed company that has raised $100M or more: the stage or the amount is stale",
    "founded-in-future": "a founding date after the screening date",
    "founded-after-as-of": "a founding date after the date the facts are said to be true (as_of)",
    "as-of-in-future": "an as_of date after the screening date: the facts cannot come from the future",
    "round-in-future": "a last round dated after the screening date",
    "round-before-founding": "a last round dated before the company was founded",
    "team-zero": "a full-time team of zero people",
    "team-below-founders": "a full-time team smaller than the number of founders listed",
    "arr-without-customers": "recurring revenue with zero paying customers",
    "revenue-per-head-extreme": "more than $10M of ARR per employee, beyond any software company: "
    "a unit slip in the ARR or the headcount",
    "gpus-without-dependence": "100 or more owned GPUs for a business said to have no GPU dependence",
    "open-weights-closed-licence": "open weights claimed for a base model whose licence is a closed vendor's API terms",
}


class DataWarning(BaseModel):
    """A value that is valid but implausible: what a careful analyst would question before relying on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str = Field(description="the id of the check that raised it (see the README's table)")
    fields: list[str] = Field(description="the profile fields it is about")
    message: str = Field(description="what looks wrong, in a sentence")
    suggestion: str | None = Field(None, description="the value that was most likely meant, when there is one")
