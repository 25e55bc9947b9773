"""`dydx-bot margin`: the margin report of one subaccount as JSON — equity, free collateral, margin usage,
leverage, and per position the liquidation price and its distance — valued at the oracle prices of a
markets file, and again after hypothetical trades (`--what-if`).

Numbers are JSON strings holding exact decimals: `Decimal(text)` gives the value back (fixed-point, no
exponent, no trailing zeros, nothing rounded; quotients carry Decimal's 28 significant digits). Fractions
are plain (0.05 = 5 %) except `distanceToLiquidationPct`, which is in percent.
`freeCollateral` follows the chain (effective IMF), `freeCollateralIndexer` the Indexer (base IMF).
`indexerReported` repeats what the subaccount file itself says, with the oracle prices its numbers imply:
it was valued when it was captured, the report at the markets file's prices.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from app.commands import UsageError
from streams.kernel.settings import Range
from streams.market import events as ev
from streams.risk.account import MarginError, Market, account_from_subaccount, implied_oracle_prices, isolation_conflict
from streams.risk.margin import AccountState, account_state, what_if


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("margin", help="margin report of a subaccount (JSON)", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subaccount", required=True, metavar="FILE",
                        help="Indexer /v4/addresses/ADDRESS/subaccountNumber/N response, or a v4_subaccounts "
                             "subscribed message")
    parser.add_argument("--markets", required=True, metavar="FILE",
                        help="Indexer /v4/perpetualMarkets response, or a v4_markets subscribed message "
                             "(oracle prices and margin parameters)")
    parser.add_argument("--what-if", action="append", default=[], metavar="MARKET:SIZE",
                        help="hypothetical trade filled at the oracle price, SIZE signed (sell < 0); "
                             "repeat for several")
    parser.add_argument("--leverage", action="append", default=[], metavar="MARKET:X",
                        help="leverage chosen for a market (its IMF is then at least 1/X)")
    parser.add_argument("--atr", action="append", default=[], metavar="MARKET:ATR",
                        help="average true range of a market, for distances to liquidation in ATRs")


# What the margin math can take: a NaN, an infinity, a zero or negative price or margin fraction, or a
# magnitude past any real market's would raise inside the math or print nonsense.
PRICE = Range(0, 1e15, low_open=True)
FRACTION = Range(0, 1, low_open=True)
AMOUNT = Range(-1e15, 1e15)  # USDC and sizes, signed
LEVERAGE = Range(1, 1000)


def run(args: argparse.Namespace) -> int:
    subaccount = _load(args.subaccount, "--subaccount", "v4_subaccounts", "subaccount",
                       ev.SubaccountSnapshot).subaccount
    listed = _load(args.markets, "--markets", "v4_markets", "markets", ev.MarketsSnapshot).markets
    _check_markets(listed, f"--markets {args.markets}")
    _check_subaccount(subaccount, f"--subaccount {args.subaccount}")
    markets = {name: Market.from_perpetual_market(market) for name, market in listed.items()}
    prices = {name: market.oraclePrice for name, market in listed.items() if market.oraclePrice is not None}
    known = f"in --markets {args.markets}"
    leverage = _per_market(args.leverage, "--leverage", "X", markets, known, LEVERAGE)
    atr = _per_market(args.atr, "--atr", "ATR", markets, known, PRICE)
    trades = [_market_amount(text, "--what-if", "SIZE", markets, known) for text in args.what_if]
    for (_, size), text in zip(trades, args.what_if, strict=True):
        if problem := "must not be 0" if size.is_zero() else AMOUNT.problem(size):
            raise UsageError(f"--what-if {text}: SIZE {problem}")

    account = account_from_subaccount(subaccount, leverage)
    source = f"--subaccount {args.subaccount}"
    for name in account.positions:
        if name not in markets:
            raise UsageError(f"{source} holds {name}, which is not {known}")
        if name not in prices:
            raise UsageError(f"--markets {args.markets}: {name} (held in {source}) has no oraclePrice")
    if conflict := isolation_conflict(account, markets):
        raise UsageError(f"{source}: inconsistent: {conflict}")

    report: dict[str, Any] = {
        "subaccount": f"{subaccount.address}/{subaccount.subaccountNumber}",
        **_fields(account_state(account, prices, markets, atr=atr)),
        "indexerReported": {"equity": subaccount.equity, "freeCollateral": subaccount.freeCollateral,
                            "oraclePrices": implied_oracle_prices(subaccount)},
    }
    if trades:
        try:
            after = what_if(account, trades, prices, markets, atr=atr)
        except MarginError as exc:
            raise UsageError(f"--what-if {' '.join(args.what_if)}: {exc}") from None
        report["whatIf"] = {"trades": [{"market": market, "size": size, "price": prices[market]}
                                       for market, size in trades],
                            **_fields(after)}
    print(json.dumps(report, indent=2, default=_decimal_text))
    return 0


def _load(path: str, option: str, channel: str, key: str, body_type: type) -> Any:
    """The Indexer body in FILE: a REST response, or the contents of a `subscribed` message."""
    where = f"{option} {path}"
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{where}: cannot read ({exc.strerror})") from None
    try:
        body = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc})") from None
    except RecursionError:
        raise UsageError(f"{where}: not an Indexer response (JSON nested too deeply)") from None
    at = "$"
    if isinstance(body, dict) and body.get("type") == "subscribed" and body.get("channel") == channel:
        body, at = body.get("contents"), "$.contents"
    if not isinstance(body, dict) or key not in body:
        raise UsageError(f"{where}: expected an Indexer {key} response or a {channel} subscribed message, "
                         f"found {_describe(body)}")
    try:
        return msgspec.convert(body, body_type)
    except msgspec.ValidationError as exc:
        raise UsageError(f"{where}: {str(exc).replace('`$', f'`{at}')}") from None


def _check_markets(listed: dict[str, ev.PerpetualMarket], where: str) -> None:
    for name, market in listed.items():
        at = f"{where}: $.markets.{name}"
        _check(f"{at}.initialMarginFraction", market.initialMarginFraction, FRACTION)
        _check(f"{at}.maintenanceMarginFraction", market.maintenanceMarginFraction, FRACTION)
        if market.maintenanceMarginFraction > market.initialMarginFraction:
            raise UsageError(f"{at}.maintenanceMarginFraction: above initialMarginFraction "
                             f"({market.initialMarginFraction})")
        if market.oraclePrice is not None:
            _check(f"{at}.oraclePrice", market.oraclePrice, PRICE)


def _check_subaccount(subaccount: ev.Subaccount, where: str) -> None:
    at = f"{where}: $.subaccount"
    _check(f"{at}.equity", subaccount.equity, AMOUNT)
    _check(f"{at}.freeCollateral", subaccount.freeCollateral, AMOUNT)
    for name, position in subaccount.openPerpetualPositions.items():
        _check(f"{at}.openPerpetualPositions.{name}.size", position.size, AMOUNT)
        if position.size.is_zero():
            raise UsageError(f"{at}.openPerpetualPositions.{name}.size: an open position cannot be 0")
        for field in ("entryPrice", "unrealizedPnl", "realizedPnl", "netFunding"):
            if (value := getattr(position, field)) is not None:
                _check(f"{at}.openPerpetualPositions.{name}.{field}", value, PRICE if field == "entryPrice" else AMOUNT)
    for name, asset in subaccount.assetPositions.items():
        _check(f"{at}.assetPositions.{name}.size", asset.size, AMOUNT)


def _check(at: str, value: Decimal, allowed: Range) -> None:
    if problem := allowed.problem(value):
        raise UsageError(f"{at}: {problem}, got {value}")


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        if "type" in body:
            return f"a {body['type']!r} message on {body.get('channel')!r}"
        return f"an object with keys {', '.join(map(str, list(body)[:6])) or '(none)'}"
    return f"a JSON {type(body).__name__}"


def _market_amount(text: str, option: str, amount: str, markets: dict[str, Market], known: str
                   ) -> tuple[str, Decimal]:
    """`MARKET:AMOUNT` with a finite decimal amount and a market of the markets file."""
    market, _, number = text.rpartition(":")
    try:
        value = Decimal(number)
    except InvalidOperation:
        value = None
    if not market or value is None or not value.is_finite():
        raise UsageError(f"{option} {text!r}: expected MARKET:{amount} with {amount} a decimal number "
                         f"(e.g. BTC-USD:-0.01)")
    if market not in markets:
        raise UsageError(f"{option} {text}: no market {market} {known}")
    return market, value


def _per_market(texts: list[str], option: str, amount: str, markets: dict[str, Market], known: str,
                allowed: Range) -> dict[str, Decimal]:
    values = {}
    for text in texts:
        market, value = _market_amount(text, option, amount, markets, known)
        if problem := allowed.problem(value):
            raise UsageError(f"{option} {text}: {amount} {problem}")
        values[market] = value
    return values


def _fields(state: AccountState) -> dict[str, Any]:
    """The state's fields under their JSON names, Decimals kept for exact printing."""
    fields = msgspec.to_builtins(state, builtin_types=(Decimal,))
    del fields["t"]  # a file report has no event time
    return fields


def _decimal_text(value: Decimal) -> str:
    """Fixed-point without trailing zeros, by string (normalize() would round to the context precision).
    Decimals are the only non-JSON values in a report."""
    text = format(value, "f")
    return "0" if value.is_zero() else text.rstrip("0").rstrip(".") if "." in text else text
