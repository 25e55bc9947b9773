"""What should never come but does: garbage, a frame cut short, a kind of message the indexer never
sends, an error about nothing of ours, contents that do not parse, a candles frame no limit fits, and the
indexer's own "could not fetch data for subscription" error.

Unreadable frames become `ParseError`s counted in data health (to the stream they name, or to "parse"),
the stream goes on, and the ladder halts new risk only until good data comes again. A failed snapshot
fetch is a subscription that did not happen: the source subscribes again at once when the error says
which one failed (or when only one of its channel awaits a snapshot); otherwise the `answer` timeout
renews whichever never got its snapshot.
"""

from __future__ import annotations

import pytest

from streams.market import events as ev
from streams.market.health import Health, Tick
from streams.market.parse import parse_frame
from streams.sources.subscriptions import Staleness
from tests.support.builders import ws_frame
from tests.support.faults import (
    CONN_A,
    FETCH_FAILED,
    MARKET,
    PLAN,
    T0,
    FaultyRecording,
    IndexerTape,
    clean_book,
    live_graph,
    request,
    top_of,
)

BOOK = f"v4_orderbook:{MARKET}"


async def test_garbage_and_broken_frames_are_counted_and_the_stream_goes_on(tmp_path):
    tape = IndexerTape(minutes=1)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    session = recording.session(CONN_A)
    session.subscribe_all(tape)
    session.play(tape, until=T0 + 20)
    faults = []
    for fault in (lambda: session.send(b"\x00\xff\xfe not a frame"),
                  lambda: session.send(session.sent[-1][:70]),  # cut short (a broken proxy's partial copy)
                  lambda: session.send({"type": "pong", "connection_id": CONN_A}),  # never sent by the indexer
                  lambda: session.error("Invalid subscription id for channel"),  # about nothing of ours
                  lambda: session.frame("channel_batch_data", "v4_orderbook", MARKET,
                                        [{"bids": [["not-a-price", "1"]]}])):
        faults.append(fault())
        session.play(tape, through="v4_orderbook")  # good data again, the book's too
    path = recording.finish()

    async with live_graph(path) as run:
        await run.until(lambda: run.received(session.sent[-1])() and run.back_to_normal()())

    assert run.ws() == session.sent  # every frame passed on, in order; nothing reconnected or resynced
    assert run.statuses("reconnecting", "resync", "stale") == []
    garbage, truncated, unknown, _, unparsable = faults
    problems = [event for event in run.events if isinstance(event, (ev.ParseError, ev.IndexerError))]
    assert [(type(p).__name__, getattr(p, "size", None)) for p in problems] == [
        ("ParseError", len(garbage)), ("ParseError", 70), ("ParseError", len(unknown)), ("IndexerError", None),
        ("ParseError", len(unparsable))]
    assert problems[1].sample.encode() == truncated and "unknown message type 'pong'" in problems[2].what
    assert problems[3].message == "Invalid subscription id for channel"
    assert "`$.contents[0].bids[0][0]`" in problems[4].what

    good = [data for data in session.sent if data not in faults]
    assert (run.books[-1].bids, run.books[-1].asks) == clean_book(good)
    final = {name: run.stream(name)[-1] for name in ("parse", "indexer", BOOK)}
    assert {name: (report.errors, report.state) for name, report in final.items()} == {
        "parse": (3, "ok"), "indexer": (1, "ok"), BOOK: (1, "ok")}
    assert [(state.state, state.reason) for state in run.risk] == [
        (level, reason) for where in ("parse", "parse", "parse", "indexer", BOOK)
        for level, reason in (("NO_NEW_RISK", f"data unhealthy: {where} (error)"), ("NORMAL", run.risk[-1].reason))]
    assert run.risky_intents_while_halted() == []


@pytest.mark.parametrize("named", [False, True], ids=["the message names the channel", "the frame names the id"])
async def test_a_failed_snapshot_fetch_is_subscribed_again_at_once(tmp_path, named):
    tape = IndexerTape(minutes=1)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    session = recording.session(CONN_A)
    session.connected()
    session.expect(*PLAN)
    for message in PLAN:
        if message["channel"] != "v4_orderbook":
            session.frame("subscribed", message["channel"], message.get("id"), tape.snapshot(message["channel"]))
    session.error(FETCH_FAILED, **({"channel": "v4_orderbook", "id": MARKET} if named else {}))
    session.expect(request("v4_orderbook", MARKET))
    book = tape.snapshot("v4_orderbook")
    snapshot = session.frame("subscribed", "v4_orderbook", MARKET, book)
    session.play(tape, until=T0 + 30)
    path = recording.finish()

    async with live_graph(path) as run:
        await run.until(lambda: run.received(session.sent[-1])() and run.back_to_normal()())

    [resync] = run.statuses("resync")
    assert (resync.channel, resync.id, resync.reason) == ("v4_orderbook", MARKET, FETCH_FAILED)
    assert run.statuses("reconnecting", "stale") == []
    assert (run.books[0].bids, run.books[0].asks) == top_of(book)
    assert (run.books[-1].bids, run.books[-1].asks) == clean_book(session.sent[session.sent.index(snapshot):])
    where = BOOK if named else "indexer"
    assert [(state.state, state.reason) for state in run.risk] == [
        ("NO_NEW_RISK", f"data unhealthy: {where} (error)"), ("NORMAL", run.risk[-1].reason)]
    assert (run.stream(where)[-1].errors, run.stream(where)[-1].state) == (1, "ok")
    assert (run.stream(BOOK)[-1].resyncs, run.stream(BOOK)[-1].state) == (1, "ok")


async def test_an_ambiguous_failed_fetch_is_left_to_the_answer_timeout(tmp_path):
    tape = IndexerTape(minutes=1)
    recording = FaultyRecording(tmp_path / "recording", markets={MARKET: tape.market})
    session = recording.session(CONN_A)
    books = (request("v4_orderbook", MARKET), request("v4_orderbook", "BTC-USD"))
    session.connected()
    session.expect(request("v4_markets"), *books)
    session.frame("subscribed", "v4_markets", None, tape.snapshot("v4_markets"))
    session.error(FETCH_FAILED)  # two books await their snapshots: which one failed?
    session.frame("subscribed", "v4_orderbook", "BTC-USD", {"bids": [], "asks": []})
    session.expect(request("v4_orderbook", MARKET))  # only the one that never got an answer
    last = session.frame("subscribed", "v4_orderbook", MARKET, tape.snapshot("v4_orderbook"))
    path = recording.finish()

    async with live_graph(path, markets=(MARKET, "BTC-USD"), trades=False, candles=(),
                          staleness=Staleness(answer=1.0)) as run:
        await run.until(run.received(last))

    assert run.statuses("resync") == []
    [stale] = run.statuses("stale")
    assert (stale.channel, stale.id, stale.reason) == ("v4_orderbook", MARKET, "no answer to subscribe within 1 s")
    assert [top.market for top in run.books] == ["BTC-USD", MARKET]


@pytest.mark.parametrize("ident", [None, f"{MARKET}/2MINS"], ids=["no id", "no such resolution"])
def test_a_candles_frame_data_health_has_no_limit_for_is_counted_never_called_stale(ident):
    candle = IndexerTape(minutes=1).snapshot("v4_candles")["candles"][0]
    frame = {"type": "channel_batch_data", "connection_id": CONN_A, "message_id": 7, "channel": "v4_candles",
             "version": "1.0.0", "contents": [candle], **({"id": ident} if ident else {})}
    stage = Health()
    assert list(stage.on_event(parse_frame(ws_frame(frame, T0)))) == []

    [report] = stage.on_event(Tick(T0 + 3600))
    assert (report.stream, report.messages, report.state) == (f"v4_candles:{ident}" if ident else "v4_candles", 1, "ok")
