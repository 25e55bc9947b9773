"""Data health per stream from recorded frames, wired as the app wires it: typed events merged with the
books' resync requests and crossed corrections. Rates, ages and staleness are in event time only; a
replay on virtual time at speed 1 gives exactly what the as-fast-as-possible run gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.scheduler import HistoricalScheduler

from streams.kernel.frames import Frame
from streams.kernel.status import SourceStatus, status_frame
from streams.market.books import CrossCleared, OrderBooks, ResyncRequest, Uncrossed, order_books
from streams.market.health import Health, Tick, health
from streams.market.parse import parse, parse_frame
from streams.market.state import StreamHealth
from streams.sources.replay import Replayer
from tests.support.builders import load_sample, rest_frame, run_frames, ws_frame

T0 = 1_721_848_000.0
BOOK = "v4_orderbook:ETH-USD"
CANDLES_PATH = "/v4/candles/perpetualMarkets/ETH-USD?resolution=1MIN"


@pytest.fixture(scope="module")
def ws(samples_dir):
    return lambda name: load_sample(samples_dir, f"nautilus-2024/ws/{name}")


def with_books(source: reactivex.Observable) -> reactivex.Observable:
    """The app's wiring: health sees the events and what the books say about them."""
    events = source.pipe(ops.share())
    return reactivex.merge(events, events.pipe(order_books()))


def graph(**options):
    return lambda source: source.pipe(with_books, health(**options))


def update(snapshot: dict, message_id: int, t: float, price: str = "3393.3", **envelope) -> Frame:
    return ws_frame(snapshot, t, **{"type": "channel_data", "message_id": message_id, "version": "1.0.0",
                                    "contents": {"bids": [[price, "1"]]}, **envelope})


def final(out: list[StreamHealth]) -> dict[str, StreamHealth]:
    """The last report of each stream."""
    return {report.stream: report for report in out}


def test_counts_rate_and_reports_every_interval(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    frames = [ws_frame(ws("connected.json"), T0), ws_frame(snapshot, T0)]
    frames += [update(snapshot, 5 + i, T0 + 0.1 * (i + 1), price=("3393.3", "3393.4")[i % 2])
               for i in range(300)]

    out = run_frames(frames, graph(interval=5.0, window=10.0))

    reports = [r for r in out if r.stream == BOOK]
    assert [r.t for r in reports][:3] == pytest.approx([T0 + 5.0, T0 + 10.0, T0 + 15.0])
    assert len(reports) == 6 + 1  # every 5 s over 30 s, then the final one at the end of the input
    last = reports[-1]
    assert last.t == pytest.approx(T0 + 30.0) and last.messages == 301
    assert last.rate == pytest.approx(10.0) and last.last_age == 0.0
    assert (last.gaps, last.resyncs, last.crossed, last.errors, last.state) == (0, 0, 0, 0, "ok")


def test_a_silent_subscription_goes_stale_while_others_talk_and_ticks_age_everything(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    oracle = ws("v4_markets_oracle_price.json")
    frames = [ws_frame(snapshot, T0)]
    frames += [ws_frame(oracle, T0 + s, message_id=10 + s) for s in range(1, 41)]

    out = run_frames(frames, health(interval=10.0))

    book = [(r.t - T0, r.state, r.last_age) for r in out if r.stream == BOOK]
    assert book == [(10.0, "ok", 10.0), (20.0, "ok", 20.0), (30.0, "ok", 30.0), (40.0, "stale", 40.0),
                    (40.0, "stale", 40.0)]
    assert final(out)["v4_markets"].state == "ok"

    stage = Health(interval=10.0)
    for frame in frames:
        stage.on_event(parse_frame(frame))
    quiet = stage.on_event(Tick(T0 + 75.0))  # nothing at all for 35 s: only the source's ticks
    assert {r.stream: (r.state, r.last_age) for r in quiet} == {
        BOOK: ("stale", 75.0), "v4_markets": ("stale", 35.0)}


def test_a_message_id_regression_is_a_gap_a_resync_request_and_resyncing_until_the_snapshot(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    frames = [ws_frame(snapshot, T0), update(snapshot, 10, T0 + 1), update(snapshot, 9, T0 + 2),
              ws_frame(snapshot, T0 + 3, message_id=20),
              # a reconnect: a new connection resubscribes with nobody asking
              ws_frame(ws("connected.json"), T0 + 4, connection_id="new"),
              ws_frame(snapshot, T0 + 5, connection_id="new", message_id=3)]

    out = run_frames(frames, graph(interval=100.0))

    urgent, resynced, end = out
    assert (urgent.t, urgent.stream) == (T0 + 2, BOOK)
    assert (urgent.state, urgent.gaps, urgent.resyncs) == ("resyncing", 1, 1)
    assert (resynced.t, resynced.state, resynced.resyncs) == (T0 + 3, "ok", 1)  # at once: the snapshot came
    assert (end.state, end.gaps, end.resyncs, end.messages) == ("ok", 1, 2, 5)


def test_a_lost_connection_takes_the_oracle_prices_it_carried_into_resyncing_until_they_come_again(ws):
    markets = ws("v4_markets_subscribed.json")
    stage = Health(interval=100.0)
    stage.on_event(parse_frame(ws_frame(ws("v4_orderbook_snapshot.json"), T0)))  # ETH-USD is followed
    stage.on_event(parse_frame(ws_frame(markets, T0 + 1)))
    lost = stage.on_event(status_frame(T0 + 2, SourceStatus("reconnecting", attempt=1, delay=1.0, reason="gone")))
    assert {r.stream: r.state for r in lost}.items() >= {"oracle:ETH-USD": "resyncing",
                                                         "v4_markets": "resyncing"}.items()
    back = stage.on_event(parse_frame(ws_frame(markets, T0 + 5, connection_id="new")))
    assert {r.stream: r.state for r in back}.items() >= {"oracle:ETH-USD": "ok", "v4_markets": "ok"}.items()


def test_data_on_a_new_connection_without_a_snapshot_is_a_gap(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    frames = [ws_frame(snapshot, T0), update(snapshot, 10, T0 + 1, connection_id="other", conn=1)]

    out = run_frames(frames, health())

    assert final(out)[BOOK].gaps == 1


def test_crossed_corrections_are_counted_to_the_book(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    frames = [ws_frame(snapshot, T0)] + [
        update(snapshot, 5 + i, T0 + 0.1 * i, price="3393.2",
               **({"contents": {"asks": [["3393.1", "1"]]}} if i % 2 == 0 else {})) for i in range(4)]

    report = final(run_frames(frames, graph(interval=100.0)))[BOOK]

    assert report.crossed == 4 and report.resyncs == 0 and report.state == "ok"


def test_a_book_that_stopped_crossing_ends_its_resync_and_the_late_snapshot_is_no_second_one(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    crossing = [update(snapshot, 5 + i, T0 + 0.1 * i, price="3393.2",
                       **({"contents": {"asks": [["3393.1", "1"]]}} if i % 2 == 0 else {})) for i in range(6)]
    quiet = [update(snapshot, 11 + i, T0 + 1 + 0.1 * i, price="3300") for i in range(5)]
    late = ws_frame(snapshot, T0 + 2, message_id=16)  # the snapshot asked for, answered live after all

    out = run_frames([ws_frame(snapshot, T0), *crossing, *quiet, late], graph(interval=100.0))

    reports = [(report.t, report.state) for report in out if report.stream == BOOK]
    assert reports[:2] == [(T0 + 0.4, "resyncing"), (pytest.approx(T0 + 1.4, abs=1e-6), "ok")]  # before the snapshot
    assert (final(out)[BOOK].resyncs, final(out)[BOOK].gaps) == (1, 0)


def test_errors_are_counted_to_the_stream_they_name(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    trades = ws("v4_trades.json")
    bad_update = update(snapshot, 6, T0 + 2, contents={"bids": [["3393.3", "a lot"]]})
    frames = [ws_frame(snapshot, T0),
              ws_frame(ws("error.json"), T0 + 1),  # real: names no stream
              bad_update,
              Frame(t=T0 + 3, kind="ws", data=b"{not json"),
              ws_frame({"type": "error", "message": "Invalid subscription id for channel",
                        "connection_id": "c", "message_id": 2, "channel": "v4_trades", "id": "NOPE-USD"},
                       T0 + 4),
              rest_frame({"errors": [{"msg": "Too many requests"}]}, CANDLES_PATH, T0 + 5, status=429),
              rest_frame({"candles": []}, CANDLES_PATH, T0 + 6),
              ws_frame(trades, T0 + 7)]

    out = run_frames(frames, health(interval=100.0))

    urgent = [(r.t - T0, r.stream, r.state) for r in out[:5]]
    assert urgent == [(1, "indexer", "error"), (2, BOOK, "error"), (3, "parse", "error"),
                      (4, "v4_trades:NOPE-USD", "error"), (5, "rest:" + CANDLES_PATH.split("?")[0], "error")]
    end = final(out[5:])
    assert {name: (r.errors, r.state) for name, r in end.items()} == {
        BOOK: (1, "error"),  # nothing good came after the bad update
        "indexer": (1, "ok"), "parse": (1, "ok"),  # naming no stream, they last until good data comes
        "v4_trades:NOPE-USD": (1, "error"),
        "rest:" + CANDLES_PATH.split("?")[0]: (1, "ok"),  # a good answer came after the 429
        "v4_trades:ETH-USD": (0, "ok")}


def test_an_unsubscribed_stream_is_not_stale(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    unsubscribed = {"type": "unsubscribed", "connection_id": snapshot["connection_id"], "message_id": 9,
                    "channel": "v4_orderbook", "id": "ETH-USD"}
    stage = Health()
    for frame in [ws_frame(snapshot, T0), ws_frame(unsubscribed, T0 + 1)]:
        stage.on_event(parse_frame(frame))

    [report] = stage.on_event(Tick(T0 + 100))

    assert (report.state, report.last_age, report.messages) == ("ok", 100.0, 1)


def test_no_input_no_report():
    assert list(Health().on_end()) == []


def test_a_replay_on_virtual_time_gives_the_same_health_as_running_flat_out(ws):
    snapshot = ws("v4_orderbook_snapshot.json")
    frames = [ws_frame(snapshot, T0)]
    frames += [update(snapshot, 5 + i, T0 + 0.7 * (i + 1), price=f"3393.{3 + i % 3}") for i in range(60)]

    scheduler = HistoricalScheduler(datetime.fromtimestamp(T0, UTC))
    replayer = Replayer(frames, scheduler, speed=1.0)
    live: list[StreamHealth] = []
    replayer.frames.pipe(parse(), graph(interval=5.0)).subscribe(live.append)
    replayer.start()
    scheduler.advance_by(30.0)  # half way: only what was due by then has been replayed
    halfway = len(live)
    scheduler.advance_by(60.0)

    assert 0 < halfway < len(live)
    assert live == run_frames(frames, graph(interval=5.0))
    assert all(r.t <= T0 + 0.7 * 60 for r in live)


@pytest.fixture(scope="module")
def faulted_session(tmp_path_factory):
    """The golden test's session: two markets' traffic with a malformed frame, a replayed book message and
    its resync, and a lost connection (see `tests/test_graph_golden.py`)."""
    from streams.sources.recording import open_recording
    from tests.test_graph_golden import build_recording, with_faults

    recording = build_recording(tmp_path_factory.mktemp("health") / "recording")
    return with_faults(list(open_recording(recording).frames()))[0]


def test_without_rates_the_stage_reports_exactly_the_changes_of_the_full_reports(faulted_session):
    from streams.market.health import changes

    full = run_frames(faulted_session, graph())
    changed = run_frames(faulted_session, lambda source: source.pipe(graph(), changes()))
    lean = run_frames(faulted_session, graph(rates=False))

    assert run_frames(faulted_session, lambda source: source.pipe(graph(rates=False), changes())) == changed
    assert len(changed) < len(lean) < len(full) / 10  # the lean stage's urgent reports may repeat a key
    assert {report.state for report in changed} >= {"ok", "resyncing", "error"}
    assert {(r.stream, r.t) for r in changed} <= {(r.stream, r.t) for r in lean}


class EveryStreamScanned(Health):
    """The stage as it was before it scanned only the streams that may have changed: every stream, every
    second (the reference the lean scan must match report for report)."""

    def _changed(self) -> list[StreamHealth]:
        return [self._health(stream) for stream in self._streams.values()
                if self._change_key(stream, self._state(stream)) != stream.reported]


def health_inputs(frames: list[Frame | Tick]) -> list:
    """What the graph feeds data health: each frame's event and what the books say of it, the source's
    status frames and ticks as they are."""
    books = OrderBooks()
    inputs: list = []
    for item in frames:
        if isinstance(item, Tick) or item.kind == "status":
            inputs.append(item)
            continue
        event = parse_frame(item)
        if event is None:
            continue
        inputs.append(event)
        inputs += [out for out in books.on_event(event) if isinstance(out, ResyncRequest | Uncrossed | CrossCleared)]
    return inputs


def quiet_spells(frames: list[Frame]) -> list[Frame | Tick]:
    """The bundled recording with what a calm or troubled session adds: BTC-USD's book silent for five
    minutes (stale, then back), ten minutes of nothing at all but the source's ticks, a lost connection,
    a malformed frame, an unsubscribed trades feed."""
    t0 = frames[0].t
    out: list[Frame | Tick] = []
    for frame in frames:
        at = frame.t - t0
        if 600 <= at < 900 and b'"v4_orderbook","id":"BTC-USD"' in frame.data:
            continue
        if 1500 <= at < 2100:
            continue
        out.append(frame)
    ticks = [Tick(t0 + 1500 + s) for s in range(600)]
    at_2100 = next(i for i, item in enumerate(out) if item.t >= t0 + 2100)
    out[at_2100:at_2100] = [*ticks, status_frame(t0 + 2100, SourceStatus("reconnecting", conn=0, reason="gone")),
                            Frame(t=t0 + 2100, kind="ws", data=b"{not json")]
    at_2400 = next(i for i, item in enumerate(out) if item.t >= t0 + 2400)
    out.insert(at_2400, ws_frame({"type": "unsubscribed", "connection_id": "c", "message_id": 1,
                                  "channel": "v4_trades", "id": "ETH-USD"}, t0 + 2400))
    return out


@pytest.mark.parametrize("interval", [1.0, 0.25])
@pytest.mark.parametrize("session", ["bundled", "quiet spells", "faulted"])
def test_the_scan_over_changed_streams_reports_what_a_scan_over_every_stream_does(session, interval,
                                                                                  faulted_session):
    from app.sources import DEFAULT_RECORDING
    from streams.sources.recording import open_recording

    bundled = list(open_recording(DEFAULT_RECORDING).frames())
    frames = {"bundled": bundled, "quiet spells": quiet_spells(bundled), "faulted": faulted_session}[session]
    inputs = health_inputs(frames)
    lean, every = Health(interval=interval, rates=False), EveryStreamScanned(interval=interval, rates=False)
    got = [report for item in inputs for report in lean.on_event(item)]
    want = [report for item in inputs for report in every.on_event(item)]
    assert got == want
    assert list(lean.on_end()) == list(every.on_end())
    if session == "quiet spells":  # what the spells are there for
        assert {report.state for report in want} >= {"ok", "stale", "resyncing", "error"}
