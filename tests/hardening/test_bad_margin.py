"""Bad numbers for `dydx-bot margin`: oracle prices, sizes and margin fractions that are zero, negative,
NaN, infinite or huge, in either file or on the command line, and JSON nested past any Indexer response.
Each is one line naming the file and the JSON path (or the option), exit status 2."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_margin_cli import MARKETS, SUBACCOUNT
from tests.hardening.corpus import Bad, refuse


def files(where: Path, subaccount: Any = SUBACCOUNT, markets: Any = MARKETS) -> list[str]:
    for name, body in (("subaccount.json", subaccount), ("markets.json", markets)):
        (where / name).write_text(body if isinstance(body, str) else json.dumps(body))
    return ["margin", "--subaccount", str(where / "subaccount.json"), "--markets", str(where / "markets.json")]


def market(name: str, **fields: str) -> Callable[[Path], Sequence[str]]:
    changed = copy.deepcopy(MARKETS)
    changed["markets"][name].update(fields)
    return lambda where: files(where, markets=changed)


def position(name: str, **fields: str) -> Callable[[Path], Sequence[str]]:
    changed = copy.deepcopy(SUBACCOUNT)
    changed["subaccount"]["openPerpetualPositions"][name].update(fields)
    return lambda where: files(where, subaccount=changed)


def subaccount(**fields: Any) -> Callable[[Path], Sequence[str]]:
    changed = copy.deepcopy(SUBACCOUNT)
    changed["subaccount"].update(fields)
    return lambda where: files(where, subaccount=changed)


def option(*args: str) -> Callable[[Path], Sequence[str]]:
    return lambda where: [*files(where), *args]


POSITION = "$.subaccount.openPerpetualPositions.BTC-USD"
CASES = [
    Bad("oracle price zero", market("BTC-USD", oraclePrice="0"), "$.markets.BTC-USD.oraclePrice: expected a finite "
        "number > 0 and <= 1000000000000000, got 0"),
    Bad("oracle price negative", market("BTC-USD", oraclePrice="-58672"), ".oraclePrice: expected a finite number > 0"),
    Bad("oracle price NaN", market("BTC-USD", oraclePrice="NaN"), ".oraclePrice: expected a finite number > 0"),
    Bad("oracle price infinite", market("BTC-USD", oraclePrice="Infinity"), ".oraclePrice: expected a finite number"),
    Bad("oracle price huge", market("BTC-USD", oraclePrice="1e400"), ".oraclePrice: expected a finite number > 0 and "
        "<= 1000000000000000, got 1E+400"),
    Bad("initial margin fraction zero", market("ETH-USD", initialMarginFraction="0"),
        "$.markets.ETH-USD.initialMarginFraction: expected a finite number > 0 and <= 1, got 0"),
    Bad("initial margin fraction NaN", market("ETH-USD", initialMarginFraction="NaN"),
        "$.markets.ETH-USD.initialMarginFraction: expected a finite number"),
    Bad("maintenance margin fraction above 1", market("ETH-USD", maintenanceMarginFraction="2"),
        "$.markets.ETH-USD.maintenanceMarginFraction: expected a finite number > 0 and <= 1, got 2"),
    Bad("maintenance margin fraction negative", market("ETH-USD", maintenanceMarginFraction="-0.03"),
        "maintenanceMarginFraction: expected a finite number > 0"),
    Bad("maintenance above initial", market("ETH-USD", maintenanceMarginFraction="0.06"),
        "$.markets.ETH-USD.maintenanceMarginFraction: above initialMarginFraction (0.05)"),
    Bad("position size NaN", position("BTC-USD", size="NaN"), f"{POSITION}.size: expected a finite number"),
    Bad("position size infinite", position("BTC-USD", size="-Infinity"), f"{POSITION}.size: expected a finite"),
    Bad("position size huge", position("BTC-USD", size="1e30"), f"{POSITION}.size: expected a finite number >= "
        "-1000000000000000 and <= 1000000000000000, got 1E+30"),
    Bad("position size zero", position("BTC-USD", size="0"), f"{POSITION}.size: an open position cannot be 0"),
    Bad("entry price NaN", position("BTC-USD", entryPrice="NaN"), f"{POSITION}.entryPrice: expected a finite"),
    Bad("unrealized PnL infinite", position("BTC-USD", unrealizedPnl="Infinity"), f"{POSITION}.unrealizedPnl:"),
    Bad("USDC infinite", subaccount(assetPositions={"USDC": {"symbol": "USDC", "side": "SHORT", "size": "Infinity"}}),
        "$.subaccount.assetPositions.USDC.size: expected a finite number"),
    Bad("equity NaN", subaccount(equity="NaN"), "$.subaccount.equity: expected a finite number"),
    Bad("what-if size zero", option("--what-if", "BTC-USD:0"), "--what-if BTC-USD:0: SIZE must not be 0"),
    Bad("what-if size huge", option("--what-if", "BTC-USD:1e30"), "--what-if BTC-USD:1e30: SIZE expected a finite"),
    Bad("what-if size NaN", option("--what-if", "BTC-USD:NaN"), "--what-if 'BTC-USD:NaN': expected MARKET:SIZE"),
    Bad("leverage huge", option("--leverage", "BTC-USD:1e9"), "--leverage BTC-USD:1e9: X expected a finite number "
        ">= 1 and <= 1000"),
    Bad("atr infinite", option("--atr", "BTC-USD:inf"), "--atr 'BTC-USD:inf': expected MARKET:ATR"),
    Bad("markets nested deeply", lambda where: files(where, markets="[" * 100_000 + "]" * 100_000),
        "markets.json: not an Indexer response (JSON nested too deeply)"),
    Bad("subaccount nested deeply", lambda where: files(where, subaccount='{"a":' * 50_000 + "1" + "}" * 50_000),
        "subaccount.json: not an Indexer response (JSON nested too deeply)"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_margin_refuses_a_bad_number_in_one_line(case, tmp_path, capsysbinary):
    refuse(case, tmp_path, capsysbinary)
