"""Silence: a subscription that stops talking, an oracle price that stops moving, and everything quiet.

- A silent book: while nothing at all comes, the source's heartbeat moves event time on, so data health
  ages every stream; once the book has been silent for its channel's limit the source renews it on the
  same socket, and the ladder halts new risk until the fresh snapshot is in.
- A stale oracle: the markets channel keeps talking (another market's prices) but ETH-USD's oracle price
  stops; data health calls it stale after `Staleness.oracle` and the ladder halts new risk until the next
  oracle update.
- The same on the bundled recording (real figures, in every checkout), in event time: with ETH-USD's
  oracle frozen for a quarter of an hour the strategy keeps deciding but is held to what it has, nothing
  that adds risk goes out, and trading resumes when the oracle moves again.
"""

from __future__ import annotations

import json

import reactivex
from reactivex.subject import Subject

from app.sources import DEFAULT_RECORDING
from streams.graph import build_graph
from streams.kernel.frames import Frame
from streams.kernel.orders import OrderIntent
from streams.market.state import BookTop
from streams.risk.derisk import IntentBlocked
from streams.risk.ladder import RiskState
from streams.sources.recording import open_recording
from streams.sources.subscriptions import Staleness
from streams.strategy.targets import Target
from tests.support.faults import (
    CONN_A,
    MARKET,
    T0,
    FaultyRecording,
    IndexerTape,
    clean_book,
    live_graph,
    request,
    status_is,
    top_of,
)

BOOK = f"v4_orderbook:{MARKET}"
ORACLE = f"oracle:{MARKET}"


async def test_a_silent_book_ages_in_data_health_and_is_renewed_on_the_same_socket(tmp_path):
    tape = IndexerTape(minutes=1)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    session = recording.session(CONN_A)
    session.subscribe_all(tape)
    session.play(tape, until=T0 + 20)
    session.expect(request("v4_orderbook", MARKET, "unsubscribe"), request("v4_orderbook", MARKET))
    session.frame("unsubscribed", "v4_orderbook", MARKET)
    fresh = session.frame("subscribed", "v4_orderbook", MARKET, tape.snapshot("v4_orderbook"))
    snapshot = tape.snapshot("v4_orderbook")
    session.play(tape, until=T0 + 25)
    path = recording.finish()

    # only the book is watched by the source, and it waits 1.2 s: health must see time pass before that
    staleness = Staleness(markets=None, orderbook=1.2, candles_grace=None)
    async with live_graph(path, staleness=staleness) as run:
        await run.until(lambda: run.received(session.sent[-1])() and run.back_to_normal()())

    # the server sent nothing while it waited for the renewal: the source's heartbeat moved time on
    ticks = run.ticks()
    assert [report for report in run.stream(BOOK) if report.t in ticks and report.last_age > 0]

    [stale] = run.statuses("stale")
    assert (stale.channel, stale.id) == ("v4_orderbook", MARKET) and stale.reason.endswith("(limit 1.2 s)")
    assert run.statuses("reconnecting") == []
    rebuilt = run.after(status_is("stale"), BookTop)[0]
    assert (rebuilt.bids, rebuilt.asks) == top_of(snapshot)
    assert (run.books[-1].bids, run.books[-1].asks) == clean_book(session.sent[session.sent.index(fresh):])

    assert run.levels() == ["NO_NEW_RISK", "NORMAL"]
    assert run.risk[0].reason in (f"data unhealthy: {BOOK} (resyncing)", f"data unhealthy: {BOOK} (stale)")
    assert run.risky_intents_while_halted() == []
    book = run.stream(BOOK)
    assert (book[-1].state, book[-1].resyncs, book[-1].gaps) == ("ok", 1, 0)


async def test_a_stale_oracle_halts_new_risk_until_it_moves_again(tmp_path):
    tape = IndexerTape(minutes=1)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    session = recording.session(CONN_A)
    session.subscribe_all(tape)
    session.play(tape, until=T0 + 12)
    for t, channel, ident, contents in tape.play(until=T0 + 30):  # ETH-USD's oracle rests; others' move
        session.frame("channel_batch_data", channel, ident, [other_market(content) for content in contents], t)
    session.play(tape, until=T0 + 35)
    path = recording.finish()

    # at ten times real time: 1.8 s and more without an ETH-USD oracle update, over four times the limit
    # (stale shows in the next report: they come every second)
    async with live_graph(path, speed=10.0, staleness=Staleness(oracle=0.4)) as run:
        await run.until(lambda: run.received(session.sent[-1])())

    oracle = [report.state for report in run.stream(ORACLE)]
    assert "stale" in oracle and oracle[-1] == "ok"
    assert {report.state for report in run.stream("v4_markets")} == {"ok"}  # the channel itself talked
    assert "oracle:BTC-USD" not in {report.stream for report in run.health}  # a market the bot does not follow
    assert run.levels() == ["NO_NEW_RISK", "NORMAL"]
    assert run.risk[0].reason == f"data unhealthy: {ORACLE} (stale)"
    assert run.risky_intents_while_halted() == []


def other_market(update: dict) -> dict:
    """A v4_markets update with ETH-USD's oracle price given to BTC-USD instead."""
    prices = update.get("oraclePrices")
    if not prices or MARKET not in prices:
        return update
    return {**update, "oraclePrices": {"BTC-USD": {**prices[MARKET], "oraclePrice": "67012.5", "marketId": 0}}}


def frozen_oracle(frames: list[Frame], market: str, start: float, end: float) -> list[Frame]:
    """`frames` without `market`'s oracle price updates from `start` to `end` (event time)."""
    out = []
    for frame in frames:
        if frame.kind == "ws" and start <= frame.t < end and b'"oraclePrices"' in frame.data:
            message = json.loads(frame.data)
            contents = [kept for update in message["contents"] if (kept := without_oracle(update, market))]
            if not contents:
                continue
            frame = Frame(t=frame.t, kind="ws", data=json.dumps({**message, "contents": contents}).encode(),
                          conn=frame.conn)
        out.append(frame)
    return out


def without_oracle(update: dict, market: str) -> dict:
    """A v4_markets update without `market`'s oracle price (empty if that was all it carried)."""
    prices = {ticker: price for ticker, price in (update.get("oraclePrices") or {}).items() if ticker != market}
    rest = {key: value for key, value in update.items() if key != "oraclePrices"}
    return {**rest, "oraclePrices": prices} if prices else rest


def test_on_the_bundled_recording_the_gate_holds_new_risk_while_an_oracle_is_stale():
    frames = list(open_recording(DEFAULT_RECORDING).frames())
    t0 = frames[0].t
    frames = [frame for frame in frames if frame.t < t0 + 30 * 60]
    frozen = (t0 + 8 * 60, t0 + 25 * 60)  # stale from 13 minutes in: the default limit is 5 minutes
    source: Subject[Frame] = Subject()
    graph = build_graph(source)
    log: list = []
    for output in (graph.risk, graph.targets, graph.orders):
        output.subscribe(log.append)
    graph.connect()
    reactivex.from_iterable(frozen_oracle(frames, "ETH-USD", *frozen)).subscribe(source)

    states = [value for value in log if isinstance(value, RiskState)]
    assert [(state.state, state.reason) for state in states] == [
        ("NO_NEW_RISK", "data unhealthy: oracle:ETH-USD (stale)"), ("NORMAL", states[1].reason)]
    halted, resumed = states
    limit = Staleness().oracle  # counted from the last update before the freeze (they come every few seconds)
    assert frozen[0] + limit - 5 < halted.t <= frozen[0] + limit + 1
    assert frozen[1] <= resumed.t < frozen[1] + 5  # the first update after it
    # meanwhile the strategy wanted more and was held to what it had; nothing that adds risk went out
    during = log[log.index(halted):log.index(resumed)]
    assert [value for value in during if isinstance(value, Target) and value.capped_by == "NO_NEW_RISK"]
    assert not [value for value in during if isinstance(value, OrderIntent) and not value.reduce_only]
    assert all(value.reason == f"NO_NEW_RISK: {halted.reason}" for value in during if isinstance(value, IntentBlocked))
    after = log[log.index(resumed):]
    assert [value for value in after if isinstance(value, OrderIntent) and not value.reduce_only]
