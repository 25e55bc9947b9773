"""Frames out of sequence and books that stop making sense, mid-session.

- A repeated message id (the same trades batch delivered twice), a message id that goes back (an old
  book update arriving late) and a new connection id on an open socket: the source drops the frame, says
  why, and takes the connection down and up again for fresh snapshots; nothing of the abandoned socket
  reaches the graph.
- A book that stays crossed: the books correct it locally, then ask for a fresh snapshot; the request
  goes to `source.resync` as the app wires it, which renews that one subscription on the same socket.

Each time the ladder halts new risk naming the stream, and comes back once it is whole again.
"""

from __future__ import annotations

import json

import pytest

from streams.market import events as ev
from streams.market.state import BookTop
from tests.support.faults import (
    CONN_A,
    CONN_B,
    CONN_C,
    MARKET,
    T0,
    FaultyRecording,
    IndexerTape,
    clean_book,
    live_graph,
    request,
    top_of,
    trade_ids,
)

BOOK = f"v4_orderbook:{MARKET}"
TRADES = f"v4_trades:{MARKET}"


def last_of(sent: list[bytes], channel: str) -> dict:
    return next(json.loads(data) for data in reversed(sent) if json.loads(data).get("channel") == channel)


@pytest.mark.parametrize("fault", ["repeated", "regressed", "new connection id"])
async def test_a_frame_out_of_sequence_is_dropped_and_the_connection_rebuilt(tmp_path, fault):
    tape = IndexerTape(minutes=2)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    first = recording.session(CONN_A)
    first.subscribe_all(tape)
    first.play(tape, until=T0 + 40)
    if fault == "repeated":  # a trades batch, delivered again
        first.play(tape, through="v4_trades")
    cut = len(first.sent)  # the bad frame and what follows it on this socket
    if fault == "repeated":
        culprit = json.loads(first.sent[-1])
        first.send(culprit)
        stream, reason = TRADES, f"message_id {culprit['message_id']} repeated"
    elif fault == "regressed":  # an old book update, late
        culprit = {**last_of(first.sent[:-10], "v4_orderbook"), "contents": [{"bids": [["3000", "9"]]}]}
        first.send(culprit)
        stream, reason = BOOK, f"message_id went back from {first.message_id} to {culprit['message_id']}"
    else:  # a frame of another connection on this socket
        first.frame("channel_batch_data", "v4_orderbook", MARKET, [{"asks": [["3999", "1"]]}],
                    connection_id=CONN_B, message_id=first.message_id + 1)
        stream, reason = BOOK, f"new connection_id {CONN_B} on an open connection (was {CONN_A})"
    first.play(tape, until=T0 + 45)  # what the server sent on that socket before it saw the client go
    list(tape.play(until=T0 + 50))  # the market moves on meanwhile
    second = recording.session(CONN_C)
    second.subscribe_all(tape)
    second.play(tape)
    path = recording.finish()

    async with live_graph(path) as run:
        await run.until(lambda: run.received(second.sent[-1])() and run.back_to_normal()())

    [resync] = run.statuses("resync")
    assert (resync.conn, resync.channel, resync.id, resync.reason) == (1, *stream.split(":"), reason)
    assert [(s.attempt, s.reason) for s in run.statuses("reconnecting")] == [(1, reason)]
    assert [s.connection_id for s in run.statuses("connected")] == [CONN_A, CONN_C]
    # nothing from the bad frame on reached the graph: no update twice, none out of order
    assert run.ws() == first.sent[:cut] + second.sent
    trades = trade_ids(run.ws())
    assert len(trades) == len(set(trades))
    assert (run.books[-1].bids, run.books[-1].asks) == clean_book(second.sent)

    health = run.stream(stream)
    assert (health[-1].state, health[-1].gaps, health[-1].resyncs) == ("ok", 1, 1)  # the dropped frame
    assert run.levels() == ["NO_NEW_RISK", "NORMAL"]
    assert run.risk[0].reason == f"data unhealthy: {stream} (resyncing)"
    assert run.risky_intents_while_halted() == []


async def test_a_book_that_stays_crossed_gets_a_fresh_snapshot_on_the_same_socket(tmp_path):
    tape = IndexerTape(minutes=2)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    session = recording.session(CONN_A)
    session.subscribe_all(tape)
    session.play(tape, until=T0 + 30)
    price = tape.snapshot("v4_orderbook")["asks"][0]["price"]
    for _ in range(5):  # five updates in a row that cross the book, whatever else it holds
        session.frame("channel_batch_data", "v4_orderbook", MARKET,
                      [{"bids": [[price, "0.5"]], "asks": [[price, "1"]]}])
    session.expect(request("v4_orderbook", MARKET, "unsubscribe"), request("v4_orderbook", MARKET))
    session.frame("unsubscribed", "v4_orderbook", MARKET)
    fresh = session.frame("subscribed", "v4_orderbook", MARKET, tape.snapshot("v4_orderbook"))
    snapshot = tape.snapshot("v4_orderbook")
    session.play(tape)
    path = recording.finish()

    async with live_graph(path) as run:
        await run.until(lambda: run.received(session.sent[-1])() and run.back_to_normal()())

    [request_] = run.resyncs
    assert (request_.channel, request_.id) == ("v4_orderbook", MARKET)
    assert request_.reason.startswith("book crossed on 5 updates in a row")
    [resync] = run.statuses("resync")
    assert (resync.channel, resync.id, resync.reason) == ("v4_orderbook", MARKET, request_.reason)
    assert run.statuses("reconnecting") == []  # one subscription renewed; the socket stays
    # every crossed book was corrected at once: no crossed top ever reached the layers above
    assert all(not top.bids or not top.asks or top.bids[0][0] < top.asks[0][0] for top in run.books)
    rebuilt = run.after(lambda value: isinstance(value, ev.Unsubscribed), BookTop)
    assert (rebuilt[0].bids, rebuilt[0].asks) == top_of(snapshot)
    assert (run.books[-1].bids, run.books[-1].asks) == clean_book(session.sent[session.sent.index(fresh):])

    book = run.stream(BOOK)
    assert (book[-1].state, book[-1].crossed, book[-1].resyncs, book[-1].gaps) == ("ok", 5, 1, 0)
    assert run.levels() == ["NO_NEW_RISK", "NORMAL"]
    assert run.risk[0].reason == f"data unhealthy: {BOOK} (resyncing)"
    assert run.risky_intents_while_halted() == []
