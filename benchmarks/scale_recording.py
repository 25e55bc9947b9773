"""A SYNTHETIC recording of every dYdX market at once, for the scale benchmark (clearly labelled as such
in its manifest; never shipped, never used by tests).

Real, from `../shared/dydx-samples`: the 125 mainnet markets of `list_perpetual_markets.json` (July 2024)
with their parameters, oracle prices and funding rates; each market's trade rate, from its real
`trades24H` (liquid markets busy, the long tail quiet: at least a trade a minute, as the generator
makes them) and its volume from `volume24H`; the level structure of the real ETH-USD book. Synthetic:
every candle (a seeded random walk from the real oracle price), and, to reach today's ~250 markets, a
copy of each real market under the ticker `SYN<base>-USD`. The traffic around the candles (trades,
candle updates, book deltas about every 2 s, oracle prices about every 3 s, funding each minute, all
batched per 250 ms as the indexer does) is `tools.synthetic`'s reconstruction.

    .venv/bin/python -m benchmarks.scale_recording OUT [--minutes 3] [--history 100]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

# runnable as a file too (python benchmarks/scale_recording.py): the project root on the path, as -m puts it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.sources.recording_writer import RecordingWriter
from tools.synthetic import (
    PROVENANCE_RECONSTRUCTED,
    BookShape,
    MarketTape,
    MessageIds,
    batched,
    initial_book,
    merge_markets,
    synthetic_candles,
)

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "dydx-samples"
MARKETS_SAMPLE = "nautilus-2024/rest/list_perpetual_markets.json"
BOOK_SAMPLE = "nautilus-2024/ws/v4_orderbook_snapshot.json"
T0 = 1_722_000_000.0  # 2024-07-26 13:20 UTC, the day of the real markets snapshot
REST_URL = "https://indexer.dydx.trade"
SYNTHETIC_PREFIX = "SYN"


def every_market(real: dict[str, dict[str, Any]], copies: bool) -> dict[str, dict[str, Any]]:
    """The real markets and, with `copies`, a SYNTHETIC copy of each (`SYN<base>-USD`, its own clob pair)."""
    markets = dict(real)
    if copies:
        for i, (ticker, market) in enumerate(sorted(real.items())):
            synthetic = f"{SYNTHETIC_PREFIX}{ticker}"
            markets[synthetic] = {**market, "ticker": synthetic, "clobPairId": str(10_000 + i)}
    return markets


def tape(market: dict[str, Any], book: BookShape, history: int, minutes: int, rng: random.Random) -> MarketTape:
    """A market's SYNTHETIC candles at its real trade rate and volume, and its traffic source; `book` is the
    real ETH-USD book's structure (its sizes are scaled here to the market's price)."""
    price, tick, step = Decimal(market["oraclePrice"]), Decimal(market["tickSize"]), Decimal(market["stepSize"])
    candles = synthetic_candles(market["ticker"], T0 - 60 * history, history + minutes, price, tick, step,
                                random.Random(rng.getrandbits(32)),
                                trades_per_minute=max(1.0, (market.get("trades24H") or 0) / 1440),
                                base_volume=max(step, Decimal(market.get("volume24H") or 0) / price / 1440))
    return MarketTape(market["ticker"], candles, tick, step, book, Decimal(market.get("nextFundingRate") or 0),
                      rng=random.Random(rng.getrandbits(32)))


def build(out: Path, *, samples: Path = SAMPLES, minutes: int = 3, history: int = 100, copies: bool = True,
          seed: int = 250) -> dict[str, Any]:
    """Write the recording to `out`: REST markets and `history` candles per market, one WebSocket session
    subscribed to every market, `minutes` of live traffic from `T0`. Returns its manifest."""
    real = json.loads((samples / MARKETS_SAMPLE).read_text())["markets"]
    book = json.loads((samples / BOOK_SAMPLE).read_text())["contents"]
    eth_tick, eth_price = Decimal(real["ETH-USD"]["tickSize"]), Decimal(book["bids"][0]["price"])
    rng = random.Random(seed)
    markets = every_market(real, copies)
    tapes = []
    for ticker in sorted(markets):
        market = markets[ticker]
        shape = BookShape.from_snapshot(book, eth_tick, eth_price / Decimal(market["oraclePrice"]),
                                        Decimal(market["stepSize"]))  # the same notional at each level
        tapes.append(tape(market, shape, history, minutes, rng))
    for t in tapes:  # the oracle price where the live traffic starts
        markets[t.ticker] = {**markets[t.ticker], "oraclePrice": t.candles[history]["open"]}
    past = {t.ticker: t.candles[:history][::-1] for t in tapes}  # newest first, as the indexer sends

    writer = RecordingWriter(out)
    bodies = [("/v4/perpetualMarkets", {"markets": markets})] + [
        (f"/v4/candles/perpetualMarkets/{ticker}?resolution=1MIN&limit={history}", {"candles": candles})
        for ticker, candles in past.items()]
    for i, (path, body) in enumerate(bodies):
        t = T0 - 10 + 5 * i / len(bodies)
        writer.add_rest(REST_URL + path, 200, json.dumps(body, separators=(",", ":")).encode(), t - 0.01, t)
    session = MessageIds(rng)
    writer.ws_open(1, T0 - 4.5, "/v4/ws")
    writer.ws_message(1, T0 - 4.45, False, session.connected())
    subscriptions: list[tuple[str, str | None, dict[str, Any]]] = [("v4_markets", None, {"markets": markets})]
    for t in tapes:
        subscriptions += [("v4_orderbook", t.ticker, initial_book(t, Decimal(t.candles[history]["open"]))),
                          ("v4_trades", t.ticker, {"trades": []}),
                          ("v4_candles", f"{t.ticker}/1MIN", {"candles": past[t.ticker]})]
    # every subscribe first, then the answers: a journal's times never go back (`streams.sources.recording`)
    for i, (channel, ident, _) in enumerate(subscriptions):
        request = {"type": "subscribe", "channel": channel, **({"id": ident} if ident else {}), "batched": True}
        writer.ws_message(1, T0 - 4.4 + 0.4 * i / len(subscriptions), True, json.dumps(request).encode())
    step = 3.9 / len(subscriptions)
    for i, (channel, ident, contents) in enumerate(subscriptions):
        writer.ws_message(1, T0 - 4.0 + step * (i + 0.5), False, session.subscribed(channel, ident, contents))
    end = T0
    for t, channel, ident, contents in batched(merge_markets(tapes, history)):
        writer.ws_message(1, t, False, session.batch(channel, ident, contents))
        end = t
    writer.ws_close(1, end + 1.0, 1000, True)
    return writer.close(network="mainnet", upstream=REST_URL, markets=markets, provenance={
        "built_by": "benchmarks/scale_recording.py",
        "purpose": "scale benchmark only: SYNTHETIC, not a recording of the venue",
        "real": {"markets": f"{MARKETS_SAMPLE}: {len(real)} mainnet markets, July 2024, their parameters, oracle "
                            "prices, funding, and trade rates and volumes (trades24H, volume24H)",
                 "order book structure": f"{BOOK_SAMPLE}: level spacing and sizes, scaled to each market"},
        "synthetic": {"candles": "SYNTHETIC: seeded random walks from each market's real oracle price",
                      "markets": f"SYNTHETIC copies of the real markets, tickers {SYNTHETIC_PREFIX}<base>-USD"
                      if copies else "none"},
        "reconstructed": PROVENANCE_RECONSTRUCTED,
    })


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument("--history", type=int, default=100)
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    args = parser.parse_args(argv)
    manifest = build(args.out, samples=args.samples, minutes=args.minutes, history=args.history)
    print(json.dumps({"markets": len(manifest["markets"]), **manifest["counts"]}))


if __name__ == "__main__":
    main()
