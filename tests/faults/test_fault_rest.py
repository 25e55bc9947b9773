"""The start-up REST calls answered 429 (with Retry-After) and 5xx before they succeed: each failed
attempt is a `retry` status, the wait honours Retry-After, and only the good answer becomes a frame, so
the graph sees every REST body exactly once. Data health counts the failed attempts as errors on that
REST stream, so new risk waits until the answer is in."""

from __future__ import annotations

from streams.market import events as ev
from tests.support.faults import CONN_A, MARKET, T0, FaultyRecording, IndexerTape, live_graph

MARKETS_PATH = "/v4/perpetualMarkets"
CANDLES_PATH = f"/v4/candles/perpetualMarkets/{MARKET}?resolution=1MIN&limit=100"


async def test_rest_429_and_5xx_are_retried_honouring_retry_after_then_the_answers_flow_once(tmp_path):
    tape = IndexerTape(minutes=1)
    recording = FaultyRecording(tmp_path / "recording")
    recording.rest(MARKETS_PATH, {"errors": [{"msg": "Too many requests"}]}, status=429, retry_after="1")
    recording.rest(MARKETS_PATH, b"<html>503 Service Temporarily Unavailable</html>", status=503)
    recording.rest(MARKETS_PATH, tape.snapshot("v4_markets"))
    recording.rest(CANDLES_PATH, {"errors": [{"msg": "Internal Server Error"}]}, status=500)
    recording.rest(CANDLES_PATH, tape.snapshot("v4_candles"))
    session = recording.session(CONN_A)
    session.subscribe_all(tape)
    session.play(tape, until=T0 + 20)
    path = recording.finish()

    async with live_graph(path, candle_history=100) as run:
        await run.until(lambda: len([f for f in run.frames if f.kind == "rest"]) == 2 and run.back_to_normal()()
                        and run.received(session.sent[-1])())

    retries = [(s.path, s.status, s.attempt, s.delay, s.reason) for s in run.statuses("retry")]
    assert retries == [(MARKETS_PATH, 429, 1, 1.0, "HTTP 429"),  # Retry-After, longer than the backoff
                       (MARKETS_PATH, 503, 2, 0.02, "HTTP 503"), (CANDLES_PATH, 500, 1, 0.01, "HTTP 500")]
    assert run.statuses("error") == []
    answers = [event for event in run.events if isinstance(event, ev.RestResponse)]
    assert [(answer.path, answer.status) for answer in answers] == [(MARKETS_PATH, 200), (CANDLES_PATH, 200)]
    assert not [event for event in run.events if isinstance(event, ev.ParseError)]
    closed = [update.candle for update in run.candles if update.closed]
    assert closed[:4] == [tape.candle(start) for start in sorted(tape.candles)[:4]]  # the history, from REST

    markets, candles = run.stream("rest:" + MARKETS_PATH)[-1], run.stream("rest:" + CANDLES_PATH.split("?")[0])[-1]
    assert (markets.errors, markets.messages, markets.state) == (2, 1, "ok")
    assert (candles.errors, candles.messages, candles.state) == (1, 1, "ok")
    assert [(state.state, state.reason) for state in run.risk if state.state != "NORMAL"] == [
        ("NO_NEW_RISK", f"data unhealthy: rest:{MARKETS_PATH} (error)"),
        ("NO_NEW_RISK", f"data unhealthy: rest:{CANDLES_PATH.split('?')[0]} (error)")]
    assert run.levels()[-1] == "NORMAL" and run.risky_intents_while_halted() == []
