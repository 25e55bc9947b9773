"""How the dashboard writes numbers, times and signs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from msgspec import structs

from tests.support.dashboard import market_info
from widgets.format import (
    MISSING,
    Column,
    Columns,
    compact,
    countdown,
    number,
    percent,
    price,
    quantity,
    sign_style,
    utc_clock,
    utc_stamp,
)
from widgets.markets import MarketRow, market_row, next_funding


@pytest.mark.parametrize(("text", "expected"), [
    (number(Decimal("12345.678")), "12,345.68"), (number(-0.4213, 3, signed=True), "-0.421"),
    (price(Decimal("97012.5"), Decimal("1")), "97,012"), (price(Decimal("3412.15"), Decimal("0.01")), "3,412.15"),
    (price(Decimal("0.12345"), Decimal("1E-4")), "0.1234"), (price(Decimal("1.5")), "1.50"),
    (quantity(Decimal("-12.500")), "-12.5"), (quantity(Decimal("1250"), signed=True), "+1,250"),
    (percent(Decimal("0.4123")), "41.2%"), (percent(Decimal("0.0000125"), 4, signed=True), "+0.0012%"),
    (compact(Decimal("1234")), "1.23K"), (compact(5_600_000), "5.60M"), (compact(2.5e9), "2.50B"),
    (compact(Decimal("512.34")), "512"), (compact(Decimal("12.5")), "12.50"), (compact(17), "17"),
    (utc_clock(1_735_813_242.9), "10:20:42"), (utc_stamp(1_735_813_242.0), "2025-01-02 10:20:42Z"),
    (countdown(2358.9), "39:18"), (countdown(3600 * 2 + 61), "2:01:01"), (countdown(-3), "00:00"),
])
def test_formats(text: str, expected: str) -> None:
    assert text == expected


@pytest.mark.parametrize("formatted", [number(None), price(None), quantity(None), percent(None), compact(None),
                                       utc_clock(None), utc_stamp(None), countdown(None)])
def test_what_is_not_known_is_a_dash(formatted: str) -> None:
    assert formatted == MISSING


def test_signs_have_colours_and_unknowns_are_muted() -> None:
    assert [sign_style(v) for v in (Decimal(1), -0.5, 0, None)] == ["$text-success", "$text-error", "",
                                                                     "$text-muted"]


def test_columns_pad_cut_and_align() -> None:
    columns = Columns(Column("NAME", 5, left=True), Column("N", 4))
    assert columns.row(("BTC-USD", "bold"), ("7", "")).plain == "BTC-U    7"
    assert columns.header("WHO").plain == "WHO      N"


def test_a_24h_change_needs_a_price_a_day_ago() -> None:
    flat = structs.replace(market_info("BTC-USD"), price_change_24h=Decimal("97012.5"))  # a day ago it was 0
    unknown = structs.replace(market_info("BTC-USD"), price_change_24h=None)
    assert market_row(MarketRow("BTC-USD", flat), next_funding(None)).plain.split()[2] == MISSING
    assert market_row(MarketRow("BTC-USD", unknown), next_funding(None)).plain.split()[2] == MISSING
