"""Build `recordings/default`, the recording the app opens with, from the real Indexer captures.

    python tools/build_default_recording.py [--samples ../shared/dydx-samples] [--minutes 120]
                                            [--out recordings/default]

1. seed: a recording written directly from the real payloads - the 125-market mainnet snapshot (July 2024),
   the 1000 real ETH-USD 1-minute mainnet candles (the last `--minutes` replayed live, the earlier ones
   served as REST history), the real ETH-USD order book's level structure - with the traffic between the
   real figures reconstructed by `tools.synthetic`, plus a BTC-USD market whose candles are
   SYNTHETIC (ETH's real returns scaled, with noise, from BTC's real oracle price in that snapshot);
2. round trip: the seed is served by the project's replay server (`dydx-bot serve`) at full speed, the
   project's live source connects to it through the project's mitmproxy recorder, and the recorder
   writes a new recording;
3. check + restamp: the new recording must carry exactly the seed's messages in the seed's order; since
   it ran at full speed, its timestamps are replaced by the seed's reconstructed schedule and the
   manifest says so, together with which figures are real and which are reconstructed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.sources.endpoints import Endpoints  # noqa: E402
from streams.sources.live import LiveConfig, LiveSource, RestCall  # noqa: E402
from streams.sources.recorder import Recorder  # noqa: E402
from streams.sources.recording import FLOWS, RestExchange, WsClose, WsMessage, WsOpen, open_recording, subscription_of  # noqa: E402
from streams.sources.recording_writer import RecordingWriter  # noqa: E402
from streams.sources.replay_server import ReplayServer  # noqa: E402
from streams.sources.subscriptions import Subscription  # noqa: E402
from tools.synthetic import (  # noqa: E402
    PROVENANCE_RECONSTRUCTED,
    BookShape,
    MarketTape,
    MessageIds,
    epoch,
    initial_book,
    iso,
    merge_markets,
    synthetic_candles,
    text,
    write_session,
)

MARKETS = ("ETH-USD", "BTC-USD")
REST_URL = "https://indexer.dydx.trade"
SEED = 20240726


def _load(samples: Path, relative: str) -> Any:
    return json.loads((samples / relative).read_text())


def tapes(samples: Path, snapshot: dict[str, Any], rng: random.Random) -> list[MarketTape]:
    eth_candles = _load(samples, "nautilus-2024/ws/v4_candles.json")["contents"]["candles"][::-1]
    book = _load(samples, "nautilus-2024/ws/v4_orderbook_snapshot.json")["contents"]
    eth, btc = snapshot["ETH-USD"], snapshot["BTC-USD"]
    eth_tick, btc_tick = Decimal(eth["tickSize"]), Decimal(btc["tickSize"])
    closes = [float(c["close"]) for c in eth_candles]
    returns = [0.8 * (b / a - 1.0) for a, b in zip(closes, closes[1:], strict=False)]
    btc_price = Decimal(btc["oraclePrice"])
    btc_candles = synthetic_candles("BTC-USD", epoch(eth_candles[0]["startedAt"]), len(eth_candles),
                                    Decimal(round(btc_price)), btc_tick, Decimal(btc["stepSize"]),
                                    random.Random(rng.getrandbits(32)), returns=returns, base_volume=Decimal(2))
    # BTC's book: ETH's real level structure, sizes scaled to the same notional
    scale = Decimal(book["bids"][0]["price"]) / btc_price
    return [
        MarketTape("ETH-USD", eth_candles, eth_tick, Decimal(eth["stepSize"]),
                   BookShape.from_snapshot(book, eth_tick), Decimal(eth["nextFundingRate"]),
                   rng=random.Random(rng.getrandbits(32))),
        MarketTape("BTC-USD", btc_candles, btc_tick, Decimal(btc["stepSize"]),
                   BookShape.from_snapshot(book, eth_tick, scale, Decimal(btc["stepSize"])),
                   Decimal(btc["nextFundingRate"]), rng=random.Random(rng.getrandbits(32))),
    ]


def write_seed(samples: Path, out: Path, minutes: int) -> dict[str, Any]:
    """The seed recording (step 1); returns its manifest."""
    rng = random.Random(SEED)
    markets = _load(samples, "nautilus-2024/rest/list_perpetual_markets.json")["markets"]
    all_tapes = tapes(samples, markets, rng)
    start_minute = len(all_tapes[0].candles) - minutes
    t0 = epoch(all_tapes[0].candles[start_minute]["startedAt"])
    for tape in all_tapes:  # the snapshot's oracle price where the tape starts (the capture is from another day)
        markets[tape.ticker] = {**markets[tape.ticker], "oraclePrice": tape.candles[start_minute]["open"]}
    markets_body = json.dumps({"markets": markets}, separators=(",", ":")).encode()
    history = {tape.ticker: tape.candles[:start_minute][::-1] for tape in all_tapes}  # newest first

    def rest_body(call: RestCall) -> bytes:
        if call.path == "/v4/perpetualMarkets":
            return markets_body
        market = call.path.rsplit("/", 1)[1]
        return json.dumps({"candles": history[market][: dict(call.params)["limit"]]}, separators=(",", ":")).encode()

    by_market = {tape.ticker: tape for tape in all_tapes}

    def snapshot(sub: Subscription) -> dict[str, Any]:
        tape = by_market.get((sub.id or "").split("/")[0])
        if sub.channel == "v4_markets":
            return {"markets": markets}
        if sub.channel == "v4_orderbook":
            return initial_book(tape, Decimal(tape.candles[start_minute]["open"]))
        if sub.channel == "v4_trades":
            return {"trades": _recent_trades(tape, start_minute, rng)}
        return {"candles": history[tape.ticker][:100]}

    writer = RecordingWriter(out)
    write_session(writer, LiveConfig(markets=MARKETS), MessageIds(rng), t0, upstream=REST_URL, rest_body=rest_body,
                  snapshot=snapshot, updates=merge_markets(all_tapes, start_minute))
    return writer.close(network="mainnet", upstream=REST_URL, markets=MARKETS,
                        provenance=provenance(minutes, t0))


def _recent_trades(tape: MarketTape, minute: int, rng: random.Random) -> list[dict[str, Any]]:
    """The trades snapshot: trades of the minute before the start, consistent with its candle, newest first."""
    candle = tape.candles[minute - 1]
    t0 = epoch(candle["startedAt"])
    price = Decimal(candle["close"])
    trades = []
    for i in range(min(int(candle["trades"]), 50)):
        at = t0 + 59.0 - i
        trades.append({"id": f"{int(at * 1000):016x}{i:08x}", "size": text(tape.step * rng.randint(1, 200)),
                       "price": text(price), "side": rng.choice(("BUY", "SELL")), "createdAt": iso(at),
                       "type": "LIMIT"})
    return trades


def provenance(minutes: int, t0: float) -> dict[str, Any]:
    return {
        "built_by": "tools/build_default_recording.py",
        "real": {
            "markets": "nautilus-2024/rest/list_perpetual_markets.json: 125 mainnet markets, July 2024 "
                       "(ETH-USD and BTC-USD oraclePrice set to where the replay starts)",
            "ETH-USD candles": f"nautilus-2024/ws/v4_candles.json: 1000 mainnet 1MIN candles 2024-07-26; the last "
                               f"{minutes} are replayed live (each minute ends on the real candle), the earlier "
                               "ones are the REST history",
            "order book structure": "nautilus-2024/ws/v4_orderbook_snapshot.json: level spacing and sizes of the "
                                    "real ETH-USD mainnet book (2024-07-24), re-centred on the traded price",
        },
        "synthetic": {
            "BTC-USD candles": "SYNTHETIC: ETH-USD's real 1-minute returns x 0.8 plus noise, from BTC's real "
                               "oracle price in the markets snapshot; its book is ETH's structure scaled",
        },
        "reconstructed": PROVENANCE_RECONSTRUCTED,
        "samples": "../shared/dydx-samples: real Indexer captures (see its SOURCES.md); not shipped",
        "start": iso(t0),
    }


# ---------------------------------------------------------------------------------------------------
# Steps 2 and 3


async def record_through_proxy(seed: Path, out: Path, markets: tuple[str, ...], timeout: float = 600.0) -> None:
    """Serve `seed` at full speed, connect the live source to it through the recorder, record into `out`,
    and stop once every recorded server message arrived (the server idles at the end, so nothing more)."""
    expected = open_recording(seed).summary()["counts"]["ws_from_server"]
    async with ReplayServer(seed, speed=None, ping_interval=None, idle_at_end=True) as (rest_url, _ws_url):
        with Recorder(out, rest_url, network="mainnet", markets=markets) as recorder:
            source = LiveSource(LiveConfig(Endpoints(recorder.rest_url, recorder.ws_url), markets))
            received = asyncio.Event()
            count = [0]

            def seen(frame: Any) -> None:
                if frame.kind == "ws":
                    count[0] += 1
                    if count[0] == expected:
                        received.set()

            source.frames.subscribe(seen)
            await source.start()
            try:
                await asyncio.wait_for(received.wait(), timeout)
            finally:
                await source.stop()


def restamp(seed: Path, recorded: Path, out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write `out`: the recorded bytes on the seed's schedule, after checking they are the seed's messages
    in the seed's order (the round trip lost, added and reordered nothing)."""
    from mitmproxy import io

    seed_entries = list(open_recording(seed).entries())
    got = list(open_recording(recorded).entries())
    want_server = [e for e in seed_entries if isinstance(e, WsMessage) and not e.from_client]
    got_server = [e for e in got if isinstance(e, WsMessage) and not e.from_client]
    if [e.data for e in got_server] != [e.data for e in want_server]:
        raise SystemExit("round trip failed: the recorded server messages differ from the seed's")
    want_rest = [e for e in seed_entries if isinstance(e, RestExchange)]
    got_rest = [e for e in got if isinstance(e, RestExchange)]
    if [(e.path, e.body) for e in got_rest] != [(e.path, e.body) for e in want_rest]:
        raise SystemExit("round trip failed: the recorded REST exchanges differ from the seed's")
    client_times = {subscription_of(e.data): e.t for e in seed_entries if isinstance(e, WsMessage) and e.from_client}
    (opened,) = [e for e in seed_entries if isinstance(e, WsOpen)]
    (closed,) = [e for e in seed_entries if isinstance(e, WsClose)]

    writer = RecordingWriter(out)
    rest_times = iter(want_rest)
    with open(recorded / FLOWS, "rb") as f:
        for flow in io.FlowReader(f).stream():
            if flow.websocket is None:
                seed_rest = next(rest_times)
                _retime(flow, seed_rest.t_request, seed_rest.t)
                writer.add_flow(flow)
            else:
                _retime(flow, opened.t, opened.t)
                writer.ws_open(1, opened.t, flow.request.path, handshake=flow)
    server_times = iter(want_server)
    for entry in got:
        if isinstance(entry, WsMessage):
            t = client_times[subscription_of(entry.data)] if entry.from_client else next(server_times).t
            writer.ws_message(1, t, entry.from_client, entry.data, entry.is_text)
    writer.ws_close(1, closed.t, 1000, True)
    return writer.close(**manifest)


def _retime(flow: Any, t_request: float, t_response: float) -> None:
    flow.client_conn.timestamp_start = flow.server_conn.timestamp_start = t_request
    flow.request.timestamp_start = flow.request.timestamp_end = t_request
    flow.response.timestamp_start = flow.response.timestamp_end = t_response
    if flow.websocket is not None:
        flow.websocket.timestamp_end = None


def build(samples: Path, out: Path, minutes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        seed, recorded = Path(tmp) / "seed", Path(tmp) / "recorded"
        seed_manifest = write_seed(samples, seed, minutes)
        asyncio.run(record_through_proxy(seed, recorded, MARKETS))
        recorder_manifest = open_recording(recorded).manifest or {}
        provenance = {
            **seed_manifest["provenance"],
            "path": "seed written by this tool -> served by the replay server (streams/sources/replay_server.py) "
                    "at full speed -> live source (streams/sources/live.py) through the mitmproxy recorder "
                    "(streams/sources/recorder.py) -> checked message for message against the seed",
            "timing": "the recorder ran at full speed, so every timestamp was replaced by the seed's reconstructed "
                      "schedule (1:1, after the check); headers and bodies are the recorder's",
            "recorder": recorder_manifest.get("provenance", {}),
        }
        if out.exists():
            shutil.rmtree(out)
        return restamp(seed, recorded, out, {"network": "mainnet", "upstream": REST_URL, "markets": MARKETS,
                                             "provenance": provenance})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "dydx-samples")
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "recordings" / "default")
    parser.add_argument("--seed-only", action="store_true", help="stop after step 1 (write the seed to --out)")
    args = parser.parse_args(argv)
    if args.seed_only:
        manifest = write_seed(args.samples, args.out, args.minutes)
        print(json.dumps(manifest["counts"]))
        return 0
    manifest = build(args.samples, args.out, args.minutes)
    print(json.dumps(manifest["counts"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
