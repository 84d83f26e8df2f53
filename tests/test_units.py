"""Money and fraction parsing."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screener.profile.units import MAX_MONEY, UnitError, parse_fraction, parse_money
from screener.texts import format_money, format_percent


@pytest.mark.parametrize(
    ("text", "dollars"),
    [
        (5_200_000, 5_200_000),
        (5.2e6, 5_200_000),
        ("$5.2M", 5_200_000),
        ("1.2m", 1_200_000),
        ("$1.525B", 1_525_000_000),
        ("850k", 850_000),
        ("$1,250,000", 1_250_000),
        ("2 million", 2_000_000),
        ("3bn", 3_000_000_000),
        ("  $12  ", 12),
        ("USD 4M", 4_000_000),
        ("4M USD", 4_000_000),
    ],
)
def test_money_forms(text: object, dollars: int) -> None:
    assert parse_money(text) == dollars


def test_foreign_money_uses_the_configured_rate() -> None:
    assert parse_money("€105M", {"EUR": 1.08}) == 113_400_000
    assert parse_money("£2m", {"GBP": 1.25}) == 2_500_000
    assert parse_money("10M EUR", {"EUR": 1.1}) == 11_000_000


def test_foreign_money_without_a_rate_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnitError, match=r"amount is in EUR but no exchange rate for EUR is configured"):
        parse_money("€105M")


@pytest.mark.parametrize("bad", ["lots", "$", "5..2M", "-5M", True, None, [], "1e400", "€€5"])
def test_money_rejects_what_it_cannot_read(bad: object) -> None:
    with pytest.raises(UnitError):
        parse_money(bad)


def test_money_rejects_implausible_and_non_finite_amounts() -> None:
    with pytest.raises(UnitError, match="implausibly large"):
        parse_money(MAX_MONEY)
    with pytest.raises(UnitError):
        parse_money(math.inf)
    with pytest.raises(UnitError):
        parse_money(math.nan)


@pytest.mark.parametrize(("value", "fraction"), [(0.62, 0.62), ("62%", 0.62), ("0.5", 0.5), (1, 1.0), (0, 0.0)])
def test_fraction_forms(value: object, fraction: float) -> None:
    assert parse_fraction(value) == pytest.approx(fraction)


def test_fraction_out_of_range_suggests_a_percent() -> None:
    with pytest.raises(UnitError, match=r"62 is outside 0\.\.1 \(did you mean '62%'\?\)"):
        parse_fraction(62)
    with pytest.raises(UnitError):
        parse_fraction("nan")
    with pytest.raises(UnitError):
        parse_fraction(True)


@given(st.integers(min_value=0, max_value=MAX_MONEY - 1))
def test_money_round_trips_whole_dollars(amount: int) -> None:
    assert parse_money(amount) == amount
    assert parse_money(f"${amount:,}") == amount


@given(
    st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([("$", "USD", "1"), ("€", "EUR", "1.08"), ("£", "GBP", "1.2345"), ("¥", "JPY", "0.0067")]),
)
def test_money_with_cents_rounds_to_the_nearest_dollar(amount: Decimal, currency: tuple[str, str, str]) -> None:
    symbol, code, rate = currency
    exact = amount * Decimal(rate)
    dollars = parse_money(f"{symbol}{amount}", {code: float(rate)})
    assert abs(Decimal(dollars) - exact) <= Decimal("0.5")  # the nearest dollar (a tie to the even one)
    assert dollars == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_format_money() -> None:
    assert format_money(5_200_000) == "$5.2M"
    assert format_money(1_500_000_000) == "$1.5B"
    assert format_money(850_000) == "$850K"
    assert format_money(642_857) == "$643K"
    assert format_money(12_540_000) == "$12.5M"
    assert format_money(1_534_000_000) == "$1.53B"
    assert format_money(-2_500_000) == "-$2.5M"
    assert format_money(3 * 10**15) == "$3,000T"
    assert format_money(999) == "$999"
    assert format_money(999_600) == "$1M"
    assert format_money(999_400) == "$999K"
    assert format_money(None) == "n/a"


def test_format_percent() -> None:
    assert format_percent(0.72) == "72%"
    assert format_percent(0.025) == "2.5%"
    assert format_percent(0.02) == "2%"
    assert format_percent(0.999) == "99.9%"
    assert format_percent(1.0) == "100%"
    assert format_percent(0.123, 1) == "12.3%"
    assert format_percent(-0.05) == "-5%"
    assert format_percent(None) == "n/a"


def test_money_commas_must_group_thousands() -> None:
    with pytest.raises(UnitError):
        parse_money("$1,,,5M")
    with pytest.raises(UnitError):
        parse_money("12,34")


def test_a_percent_out_of_range_is_reported_as_written() -> None:
    with pytest.raises(UnitError, match=r"^500% is outside 0%\.\.100%$"):
        parse_fraction("500%")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected an amount of money such as 5200000 or '$5.2M'"),
        (None, "expected an amount of money such as 5200000 or '$5.2M'"),
        ([], "expected an amount of money such as 5200000 or '$5.2M'"),
        ("lots", "cannot read 'lots' as money; write e.g. 5200000, '$5.2M', '1.2m' or '€105M'"),
        ("$+", "cannot read '$+' as money; write e.g. 5200000, '$5.2M', '1.2m' or '€105M'"),
        ("$-", "cannot read '$-' as money; write e.g. 5200000, '$5.2M', '1.2m' or '€105M'"),
        ("$.", "cannot read '$.' as money; write e.g. 5200000, '$5.2M', '1.2m' or '€105M'"),
        ("$5M USD", "'$5M USD' names a currency twice"),
        (-5, "an amount of money cannot be negative"),
        ("-$5", "cannot read '-$5' as money; write e.g. 5200000, '$5.2M', '1.2m' or '€105M'"),
        ("$-5", "an amount of money cannot be negative"),
        (math.inf, "amount must be a finite number"),
        (MAX_MONEY, f"amount {MAX_MONEY:,} is implausibly large (over {MAX_MONEY:,} USD)"),
    ],
)
def test_money_errors_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_money(value)
    assert str(caught.value) == message


def test_money_digit_separators() -> None:
    assert parse_money("1_500_000") == 1_500_000
    assert parse_money("$2,500") == 2_500
    assert parse_money(2.5e6) == 2_500_000
    assert parse_money(0.1 + 0.2) == 0  # floats are read as their shortest repr, not their binary value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a fraction such as 0.62 or '62%'"),
        (None, "expected a fraction such as 0.62 or '62%'"),
        ([], "expected a fraction such as 0.62 or '62%'"),
        ("lots", "cannot read 'lots' as a fraction; write e.g. 0.62 or '62%'"),
        ("0.5X", "cannot read '0.5X' as a fraction; write e.g. 0.62 or '62%'"),
        ("100.5%", "100.5% is outside 0%..100%"),
        ("-1%", "-1% is outside 0%..100%"),
        (math.nan, "a fraction must be a finite number"),
        (1.5, "1.5 is outside 0..1 (did you mean '1.5%'?)"),
        (100, "100 is outside 0..1 (did you mean '100%'?)"),
        (100.5, "100.5 is outside 0..1"),
        (-0.1, "-0.1 is outside 0..1"),
        (2, "2 is outside 0..1 (did you mean '2%'?)"),
    ],
)
def test_fraction_errors_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_fraction(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(("value", "fraction"), [("100%", 1.0), ("0%", 0.0), (" 62 % ", 0.62), (1.0, 1.0), (0, 0.0)])
def test_fraction_bounds_are_inclusive(value: object, fraction: float) -> None:
    assert parse_fraction(value) == pytest.approx(fraction)


def test_fractions_above_one_when_allowed() -> None:
    assert parse_fraction("250%", allow_above_one=True) == pytest.approx(2.5)
    assert parse_fraction(3, allow_above_one=True) == 3.0


@pytest.mark.parametrize(
    ("text", "dollars"),
    [
        ("7", 7),
        ("7k", 7_000),
        ("7 Thousand", 7_000),
        ("7mm", 7_000_000),
        ("7mn", 7_000_000),
        ("7 million", 7_000_000),
        ("7b", 7_000_000_000),
        ("7BN", 7_000_000_000),
        ("7 billion", 7_000_000_000),
        ("7t", 7_000_000_000_000),
        ("7 trillion", 7_000_000_000_000),
        ("US$7", 7),
        ("7 usd", 7),
    ],
)
def test_every_money_suffix_and_dollar_form(text: str, dollars: int) -> None:
    assert parse_money(text) == dollars


@pytest.mark.parametrize(
    ("text", "dollars"),
    [("€10", 20), ("£10", 30), ("¥10", 5), ("CHF 10", 40), ("10 gbp", 30), ("10 EUR", 20), ("SEK 10", 60)],
)
def test_each_currency_symbol_and_code_uses_its_own_rate(text: str, dollars: int) -> None:
    assert parse_money(text, {"EUR": 2, "GBP": 3, "JPY": 0.5, "CHF": 4, "SEK": 6}) == dollars


@pytest.mark.parametrize(("text", "code"), [("£10", "GBP"), ("¥10", "JPY"), ("CHF 10", "CHF"), ("10 sek", "SEK")])
def test_a_missing_rate_names_the_currency_and_how_to_configure_it(text: str, code: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_money(text, {"EUR": 1.08})
    assert str(caught.value) == (
        f"amount is in {code} but no exchange rate for {code} is configured "
        f"(add '{code} = <USD per {code}>' under [fx] in screener.toml, or pass --fx {code}=<rate>)"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (MAX_MONEY * 10**6 - 1, f"{MAX_MONEY * 10**6 - 1:,}"),  # still shown in full
        (MAX_MONEY * 10**6, "of 22 digits"),  # from here, counted
        (10**400, "of 401 digits"),
        (10**5000, "of 5001 digits"),  # beyond int-to-str's 4,300 digits: counted, not printed
        ("$1" + "0" * 5000, "of 5001 digits"),
        (1.2345678901234567e20, "123,456,789,012,345,670,000"),  # the float as written, not its binary value
    ],
    ids=["below-1e21", "1e21", "401-digits", "5001-digits", "5001-digit-text", "float"],
)
def test_an_implausibly_large_amount_is_shown_or_counted(value: object, shown: str) -> None:
    with pytest.raises(UnitError) as caught:
        parse_money(value)
    assert str(caught.value) == f"amount {shown} is implausibly large (over 1,000,000,000,000,000 USD)"


def test_money_text_that_is_not_a_number_is_refused_with_its_text() -> None:
    with pytest.raises(UnitError) as caught:
        parse_money("1_000.5.5")
    assert str(caught.value).startswith("cannot read '1_000.5.5' as money")


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_an_integer_beyond_any_float_is_not_a_fraction(value: int) -> None:
    with pytest.raises(UnitError) as caught:
        parse_fraction(value)
    assert str(caught.value) == "a number of 401 digits is not a fraction (0..1)"
