"""Money and fraction parsing: the units a deal-flow export writes numbers in.

Money comes as numbers (USD) or strings like ``"$5.2M"``, ``"1.2m"``, ``"$1.525B"``,
``"€105M"`` or ``"105M EUR"``. It is returned as whole US dollars (an ``int``): whole numbers
never reach the rule engine in exponent form. A non-USD amount needs an exchange rate from the
configuration; without one it is an error, never a guess. Fractions come as ``0.62`` or
``"62%"`` and are returned as floats in 0..1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

#: Upper bound for any amount of money (a quadrillion dollars): keeps every amount well inside
#: the range the engine parses as a plain integer.
MAX_MONEY = 10**15

_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "CHF": "CHF"}
_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mm": 10**6,
    "mn": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "t": 10**12,
    "trillion": 10**12,
}
_MONEY = re.compile(
    r"""^\s*
    (?P<pre>US\$|[$€£¥]|[A-Za-z]{3}(?=\s*[\d.]))?\s*
    (?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d[\d_]*)?(?:\.\d+)?)\s*
    (?P<suffix>thousand|million|billion|trillion|bn|mn|mm|[kmbt])?\s*
    (?P<post>[A-Za-z]{3})?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


class UnitError(ValueError):
    """A value that cannot be read as the unit asked for; the message says why."""


def parse_money(value: object, rates: Mapping[str, float] | None = None) -> int:
    """Return ``value`` as whole US dollars, converting other currencies with ``rates``.

    ``rates`` maps an ISO currency code to the USD value of one unit (``{"EUR": 1.08}``).
    """
    return int(money_amount(value, rates).to_integral_value())


def money_amount(value: object, rates: Mapping[str, float] | None = None) -> Decimal:
    """The exact amount :func:`parse_money` rounds to whole dollars, cents and all."""
    if isinstance(value, bool) or value is None:
        raise UnitError("expected an amount of money such as 5200000 or '$5.2M'")
    if isinstance(value, int | float):
        amount = _finite(Decimal(str(value)) if isinstance(value, float) else Decimal(value))
        currency = "USD"
    elif isinstance(value, str):
        amount, currency = _parse_money_text(value)
    else:
        raise UnitError("expected an amount of money such as 5200000 or '$5.2M'")
    if currency != "USD":
        rate = (rates or {}).get(currency)
        if rate is None:
            raise UnitError(
                f"amount is in {currency} but no exchange rate for {currency} is configured "
                f"(add '{currency} = <USD per {currency}>' under [fx] in screener.toml, "
                f"or pass --fx {currency}=<rate>)"
            )
        amount *= Decimal(str(rate))
    if amount < 0:
        raise UnitError("an amount of money cannot be negative")
    if amount >= MAX_MONEY:
        # Digits counted on the Decimal: str() of an int over 4,300 digits raises ValueError.
        shown = f"{int(amount):,}" if amount < MAX_MONEY * 10**6 else f"of {amount.adjusted() + 1} digits"
        raise UnitError(f"amount {shown} is implausibly large (over {MAX_MONEY:,} USD)")
    return amount


def _parse_money_text(text: str) -> tuple[Decimal, str]:
    match = _MONEY.match(text)
    if not match or not match.group("num") or match.group("num") in {"+", "-", "."}:
        raise UnitError(f"cannot read {text!r} as money; write e.g. 5200000, '$5.2M', '1.2m' or '€105M'")
    pre, post = match.group("pre"), match.group("post")
    if pre and post:
        raise UnitError(f"{text!r} names a currency twice")
    code = (pre or post or "$").upper()
    currency = _SYMBOLS.get(code, code)
    try:
        number = Decimal(match.group("num").replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise UnitError(f"cannot read {text!r} as money") from None
    suffix = (match.group("suffix") or "").lower()
    return _finite(number) * _SUFFIXES[suffix], currency


def _finite(number: Decimal) -> Decimal:
    if not number.is_finite():
        raise UnitError("amount must be a finite number")
    return number


def parse_fraction(value: object, *, allow_above_one: bool = False) -> float:
    """Return ``value`` as a fraction: ``0.62`` and ``"62%"`` both give 0.62."""
    if isinstance(value, bool) or value is None:
        raise UnitError("expected a fraction such as 0.62 or '62%'")
    if isinstance(value, str):
        text = value.strip()
        percent = text.endswith("%")
        try:
            number = float(text.rstrip("%").strip())
        except ValueError:
            raise UnitError(f"cannot read {value!r} as a fraction; write e.g. 0.62 or '62%'") from None
        if percent:
            if not allow_above_one and not 0 <= number <= 100:
                raise UnitError(f"{text} is outside 0%..100%")
            number /= 100
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float: far outside every fraction's range
            raise UnitError(f"a number of {len(str(abs(value)))} digits is not a fraction (0..1)") from None
    else:
        raise UnitError("expected a fraction such as 0.62 or '62%'")
    if not math.isfinite(number):
        raise UnitError("a fraction must be a finite number")
    if not allow_above_one and not 0 <= number <= 1:
        hint = f" (did you mean '{number:g}%'?)" if 1 < number <= 100 else ""
        raise UnitError(f"{number:g} is outside 0..1{hint}")
    return number
