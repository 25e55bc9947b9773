"""A connection lost mid-stream, as the indexer loses it: closed with 1008 (policy), 1011 (heartbeat
timeout) or 1012 (service restart), or dropped without a close frame. The recording's second session is
what the reconnected client gets: a new connection id, the snapshots as of then (the market moved while
the bot was away) and the updates after them.

Through the replay server, the real live source and the whole graph: the source reconnects and
resubscribes; every state is rebuilt from the fresh snapshots (the book is the new snapshot, not old
levels plus new ones; each candle closes exactly once; no trade arrives twice); and the ladder halts new
risk, saying the connection is lost, until every subscription has its snapshot again.
"""

from __future__ import annotations

import pytest

from streams.market import events as ev
from streams.market.state import BookTop
from tests.support.faults import (
    CONN_A,
    CONN_B,
    MARKET,
    T0,
    FaultyRecording,
    IndexerTape,
    clean_book,
    live_graph,
    status_is,
    top_of,
    trade_ids,
)

DROPPED = "WebSocketConnectionClosedException: Connection to remote host was lost."


@pytest.mark.parametrize("code, reason", [
    (1008, "recorded close"), (1011, "recorded close"), (1012, "recorded close"), (None, DROPPED),
])
async def test_a_lost_connection_is_rebuilt_from_fresh_snapshots_with_nothing_lost_or_repeated(
        tmp_path, code, reason):
    tape = IndexerTape(minutes=3)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    first = recording.session(CONN_A)
    first.subscribe_all(tape)
    first.play(tape, until=T0 + 70)  # the first minute closes on this connection
    first.close(code)
    missed = list(tape.play(until=T0 + 95))  # the market moves on while the bot is away
    second = recording.session(CONN_B)
    second.subscribe_all(tape)
    book_snapshot = tape.snapshot("v4_orderbook")
    second.play(tape)
    path = recording.finish()

    async with live_graph(path) as run:
        await run.until(lambda: run.received(second.sent[-1])() and run.back_to_normal()())

    # the source: reconnected after the close, on a new connection, and subscribed to everything again
    [reconnecting] = run.statuses("reconnecting")
    assert (reconnecting.attempt, reconnecting.code, reconnecting.reason) == (1, code, reason)
    assert [s.connection_id for s in run.statuses("connected")] == [CONN_A, CONN_B]
    assert len(run.statuses("subscribed")) == 2 * 4
    assert run.ws() == first.sent + second.sent

    # the book: the fresh snapshot exactly (the market moved: not the book it had), then its updates
    rebuilt = run.after(status_is("reconnecting"), BookTop)[0]
    assert (rebuilt.bids, rebuilt.asks) == top_of(book_snapshot) != (run.books[0].bids, run.books[0].asks)
    assert (run.books[-1].bids, run.books[-1].asks) == clean_book(second.sent)

    # candles: every minute closes once, in order, as the venue's final version (also the one that
    # closed while the bot was away); the newest is still open
    closed = [update.candle for update in run.candles if update.closed]
    assert closed == [tape.candle(start) for start in sorted(tape.candles)[:-1]]

    # trades: each update once; those made while away come only as snapshot history
    updates = [trade.id for event in run.events if isinstance(event, ev.ChannelBatchData)
               and event.channel == "v4_trades" for update in event.contents for trade in update.trades]
    away = [trade["id"] for _, channel, _, contents in missed if channel == "v4_trades"
            for content in contents for trade in content["trades"]]
    assert updates == trade_ids(first.sent) + trade_ids(second.sent) and len(set(updates)) == len(updates)
    assert away and not set(away) & set(updates)

    # risk: halted from the moment the connection was lost until every subscription is back
    assert run.levels() == ["NO_NEW_RISK", "NORMAL"]
    assert run.risk[0].reason == f"disconnected: conn 1 ({reason})"
    assert run.risky_intents_while_halted() == []
    book = run.stream(f"v4_orderbook:{MARKET}")
    assert "resyncing" in [report.state for report in book]
    assert (book[-1].state, book[-1].resyncs, book[-1].gaps, book[-1].errors) == ("ok", 1, 0, 0)
