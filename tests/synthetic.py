"""A synthetic, seeded startup-outcome export of the shape public outcome datasets have.

About 900 US startups, one row each, with the columns such a dataset carries: ``founded_at``,
``first_funding_at`` and ``last_funding_at`` as ``MM-DD-YYYY``, ``funding_rounds``,
``funding_total_usd``, ``milestones``, ``relationships``, ``has_VC``/``has_angel`` and
``has_roundA``…``has_roundD`` as 0/1 flags, ``is_top500``, and the outcome ``status``
(acquired or closed). Each company has a hidden quality that makes it more likely to raise,
build a network, reach milestones and be acquired, so a sensible pack separates the outcomes
without predicting them perfectly. A few rows are dirty the way real exports are: a date that
does not match the column's format, an empty name, an empty status.

``python -m tests.synthetic`` writes ``examples/startups.csv``; a test checks the file is exactly
what this generates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import sys
from pathlib import Path

COLUMNS = (
    "name", "state_code", "city", "founded_at", "first_funding_at", "last_funding_at", "funding_rounds",
    "funding_total_usd", "milestones", "relationships", "category_code", "has_VC", "has_angel", "has_roundA",
    "has_roundB", "has_roundC", "has_roundD", "avg_participants", "is_top500", "status",
)  # fmt: skip
_STATES = (("CA", "San Francisco"), ("CA", "Mountain View"), ("NY", "New York"), ("MA", "Boston"), ("TX", "Austin"),
           ("WA", "Seattle"), ("IL", "Chicago"), ("CO", "Boulder"))  # fmt: skip
_CATEGORIES = ("software", "web", "mobile", "enterprise", "advertising", "games_video", "ecommerce", "biotech",
               "consulting", "other")  # fmt: skip
_WORDS = ("Amber", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Garnet", "Harbor", "Indigo", "Juniper", "Kestrel",
          "Lumen", "Maple", "Nimbus", "Onyx", "Pylon", "Quartz", "Rivet", "Sable", "Tundra", "Umber", "Vertex",
          "Willow", "Xenon", "Yarrow", "Zephyr")  # fmt: skip
_SUFFIXES = ("Labs", "Systems", "Networks", "Works", "Health", "Data", "Media", "Robotics", "Apps", "Cloud")
#: When the data was collected: nothing happens after it.
COLLECTED = dt.date(2013, 12, 31)


def startups(n: int = 900, seed: int = 16) -> str:
    """The export as CSV text (``\\n`` line ends)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    names: set[str] = set()
    for number in range(n):
        writer.writerow(_row(rng, number, names))
    return out.getvalue()


def _row(rng: random.Random, number: int, names: set[str]) -> list[str]:
    quality = rng.gauss(0, 1)
    name = _name(rng, names)
    state, city = rng.choice(_STATES)
    founded = _date_between(rng, dt.date(1999, 1, 1), dt.date(2011, 6, 30))
    first = min(founded + dt.timedelta(days=int(rng.expovariate(1 / max(120, 700 - 220 * quality)))), COLLECTED)
    lettered = max(0, min(4, round(rng.gauss(0.9 + 0.9 * quality, 0.9))))
    rounds = max(1, lettered + max(0, round(rng.gauss(0.6, 0.7))))
    gap = max(60.0, rng.gauss(420 - 60 * quality, 150))
    last = min(first + dt.timedelta(days=int(gap * (rounds - 1))), COLLECTED)
    if rng.random() < 0.35 - 0.1 * quality:  # some stall: no round for years before the data was collected
        last = max(first, min(last, COLLECTED - dt.timedelta(days=rng.randint(1100, 2000))))
    raised = round(math.exp(rng.gauss(14.2 + 0.45 * lettered + 0.25 * quality, 0.9)), -3)
    has_vc = rng.random() < _sigmoid(0.3 + 1.1 * quality)
    has_angel = rng.random() < _sigmoid(-0.4 - 0.4 * quality)
    milestones = _poisson(rng, math.exp(0.7 + 0.45 * quality))
    relationships = _poisson(rng, math.exp(1.8 + 0.55 * quality))
    top500 = rng.random() < _sigmoid(1.2 + 0.9 * quality)
    acquired = rng.random() < _sigmoid(0.75 + 1.3 * quality)
    row = [
        name, state, city, _us(founded), _us(first), _us(last), str(rounds), f"{raised:.0f}", str(milestones),
        str(relationships), rng.choice(_CATEGORIES), _flag(has_vc), _flag(has_angel),
        *(_flag(lettered > level) for level in range(4)), f"{rng.uniform(1, 5):.4f}", _flag(top500),
        "acquired" if acquired else "closed",
    ]  # fmt: skip
    return _dirty(number, row)


def _dirty(number: int, row: list[str]) -> list[str]:
    """A few rows as real exports have them."""
    if number in {37, 412, 655}:  # a date written day first, which the column's format does not read
        day, month, year = row[3][3:5], row[3][:2], row[3][6:]
        row[3] = f"{int(day) + 12 if int(day) <= 12 else int(day)}-{month}-{year}"
    if number == 128:
        row[0] = ""  # no name: the row cannot be a company
    if number in {301, 777}:
        row[-1] = ""  # no outcome: the row cannot be labelled
    if number == 540:
        row[7] = "lots"  # an amount that is not one
    return row


def _name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_SUFFIXES)}"
        if name not in taken:
            taken.add(name)
            return name


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _us(day: dt.date) -> str:
    return day.strftime("%m-%d-%Y")


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "examples" / "startups.csv"
    target.write_text(startups(), encoding="utf-8", newline="")
