"""Candles from recorded frames: the real 1000 ETH-USD 1MIN candles as a snapshot and as channel updates,
REST history backfilling without repeats, and candles at any resolution built from real trades.
Frames -> parse() -> candles() / candles_from_trades() -> assertions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from streams.market.candles import RESOLUTIONS, CandleSeries, candles, candles_from_trades, minute_start
from tests.support.builders import load_sample, rest_frame, run_frames, ws_frame

T0 = 1_722_016_680.0  # 2024-07-26 17:58 UTC, just after the newest real candle started


@pytest.fixture(scope="module")
def snapshot(samples_dir) -> dict:
    return load_sample(samples_dir, "nautilus-2024/ws/v4_candles.json")


@pytest.fixture(scope="module")
def channel_data(samples_dir) -> dict:
    return load_sample(samples_dir, "nautilus-2024/ws/v4_candles_channel_data.json")


OHLC = ("open", "high", "low", "close")


def key(update) -> tuple:
    candle = update.candle
    return candle.startedAt, *(str(getattr(candle, name)) for name in OHLC), candle.trades


def wire_key(candle: dict) -> tuple:
    return candle["startedAt"], *(candle[name] for name in OHLC), candle["trades"]


def revised(candle: dict, **fields) -> dict:
    return {**candle, **fields}


def candle_frame(envelope: dict, candle: dict, message_id: int, t: float):
    return ws_frame(envelope, t, message_id=message_id, contents=candle)


# ---------------------------------------------------------------------------------------------------
# The venue's candles


def test_the_real_snapshot_gives_every_candle_but_the_newest_closed_and_in_time_order(snapshot):
    real = snapshot["contents"]["candles"]  # newest first
    out = run_frames([ws_frame(snapshot, T0)], candles())

    assert len(real) == len(out) == 1000
    assert [update.closed for update in out] == [True] * 999 + [False]
    assert [key(update) for update in out] == [wire_key(candle) for candle in reversed(real)]
    assert out[0].candle.startedAt == "2024-07-26T01:18:00.000Z"
    assert out[-1].candle.startedAt == "2024-07-26T17:57:00.000Z"
    assert {(u.t, u.market, u.resolution) for u in out} == {(T0, "ETH-USD", "1MIN")}
    # the one minute with no trade is a flat candle, kept as the venue sent it
    [flat] = [u.candle for u in out if u.candle.trades == 0]
    assert flat.startedAt == "2024-07-26T08:13:00.000Z" and flat.open == flat.close == Decimal("3254.8")


def test_channel_updates_revise_the_open_candle_and_a_new_start_closes_it(snapshot, channel_data):
    newest = snapshot["contents"]["candles"][0]  # 17:57, still open
    revision = revised(newest, high="3249.5", close="3249.5", trades=newest["trades"] + 1)
    next_minute = revised(newest, startedAt="2024-07-26T17:58:00.000Z", open="3249.5", high="3249.5",
                          low="3249.5", close="3249.5", trades=1)
    frames = [ws_frame(snapshot, T0),
              ws_frame(channel_data, T0 + 1),  # the real 17:54 update: that candle closed already
              candle_frame(channel_data, revision, 4, T0 + 2),
              candle_frame(channel_data, next_minute, 5, T0 + 3)]

    out = run_frames(frames, candles())[1000:]

    assert [(key(u), u.closed, u.t) for u in out] == [
        (wire_key(revision), False, T0 + 2),
        (wire_key(revision), True, T0 + 3),
        (wire_key(next_minute), False, T0 + 3),
    ]


def test_the_real_candles_replayed_one_by_one_as_channel_updates(snapshot, channel_data):
    oldest_first = snapshot["contents"]["candles"][::-1]
    frames = [candle_frame(channel_data, candle, 10 + i, T0 + i) for i, candle in enumerate(oldest_first)]

    out = run_frames(frames, candles())

    closed = [u for u in out if u.closed]
    assert [key(u) for u in closed] == [wire_key(candle) for candle in oldest_first[:-1]]
    assert sum(not u.closed for u in out) == 1000
    assert key(out[-1]) == wire_key(oldest_first[-1]) and not out[-1].closed


def test_a_batched_frame_applies_its_candles_in_order(snapshot, channel_data):
    newest = snapshot["contents"]["candles"][0]
    first, second = revised(newest, close="3248.0"), revised(newest, close="3248.4")
    after = revised(newest, startedAt="2024-07-26T17:58:00.000Z")
    batch = {**channel_data, "type": "channel_batch_data", "message_id": 6,
             "contents": [first, second, after]}

    out = run_frames([ws_frame(batch, T0)], candles())

    assert [(key(u), u.closed) for u in out] == [
        (wire_key(first), False), (wire_key(second), False), (wire_key(second), True),
        (wire_key(after), False)]


def test_rest_history_backfills_and_the_channel_snapshot_does_not_repeat_it(samples_dir):
    rest = load_sample(samples_dir, "nautilus-2025/rest/http_get_candles.json")  # 16:11, 16:10, 16:09
    newer = revised(rest["candles"][0], startedAt="2025-12-08T16:12:00.000Z", trades=3)
    subscribed = {"type": "subscribed", "connection_id": "c", "message_id": 2, "channel": "v4_candles",
                  "id": "BTC-USD/1MIN", "contents": {"candles": [newer, *rest["candles"]]}}
    frames = [rest_frame(rest, "/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN", 100.0),
              ws_frame(subscribed, 101.0)]

    out = run_frames(frames, candles())

    assert [(u.candle.startedAt[11:16], u.closed, u.t) for u in out] == [
        ("16:09", True, 100.0), ("16:10", True, 100.0), ("16:11", False, 100.0),
        ("16:11", True, 101.0), ("16:12", False, 101.0)]
    assert out[0].market == "BTC-USD" and out[0].candle.orderbookMidPriceOpen == Decimal("90015")


def test_history_arriving_after_the_live_candle_fills_in_behind_it(samples_dir):
    rest = load_sample(samples_dir, "nautilus-2025/rest/http_get_candles.json")
    live = revised(rest["candles"][0], startedAt="2025-12-08T16:12:00.000Z")
    update = {"type": "channel_data", "connection_id": "c", "message_id": 3, "channel": "v4_candles",
              "id": "BTC-USD/1MIN", "version": "1.0.0", "contents": live}
    path = "/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN"
    older_page = {"candles": rest["candles"][1:]}  # 16:10, 16:09: already out when they come again

    frames = [ws_frame(update, 100.0), rest_frame(rest, path, 101.0), rest_frame(older_page, path, 102.0)]

    out = run_frames(frames, candles())

    assert [(u.candle.startedAt[11:16], u.closed) for u in out] == [
        ("16:12", False), ("16:09", True), ("16:10", True), ("16:11", True)]


def test_a_resnapshot_that_skips_the_open_candle_closes_it_as_last_seen(samples_dir):
    rest = load_sample(samples_dir, "nautilus-2025/rest/http_get_candles.json")
    open_one = rest["candles"][0]  # 16:11
    later = [revised(open_one, startedAt=f"2025-12-08T16:1{m}:00.000Z", trades=m) for m in (3, 2)]
    subscribed = {"type": "subscribed", "connection_id": "c", "message_id": 2, "channel": "v4_candles",
                  "id": "BTC-USD/1MIN", "contents": {"candles": later}}

    out = run_frames([rest_frame({"candles": [open_one]}, "/v4/candles/perpetualMarkets/BTC-USD", 1.0),
                      ws_frame(subscribed, 2.0)], candles())

    assert [(key(u), u.closed) for u in out] == [
        (wire_key(open_one), False), (wire_key(open_one), True), (wire_key(later[1]), True),
        (wire_key(later[0]), False)]


def test_candles_with_a_bad_start_empty_history_and_other_channels_are_skipped(channel_data, samples_dir):
    bad = {**channel_data, "contents": {**channel_data["contents"], "startedAt": "yesterday"}}
    empty = {"type": "subscribed", "connection_id": "c", "message_id": 1, "channel": "v4_candles",
             "id": "ETH-USD/1MIN", "contents": {"candles": []}}
    book = load_sample(samples_dir, "nautilus-2024/ws/v4_orderbook.json")

    assert run_frames([ws_frame(bad, T0), ws_frame(empty, T0), ws_frame(book, T0)], candles()) == []
    assert CandleSeries("ETH-USD", "1MIN").history([], T0) == []


def test_minute_start_reads_indexer_timestamps():
    expected = datetime(2024, 7, 26, 17, 54, tzinfo=UTC).timestamp()
    assert minute_start("2024-07-26T17:54:59.999Z") == expected
    assert minute_start("2024-07-26") is None and minute_start("2024-13-26T17:54:00.000Z") is None


# ---------------------------------------------------------------------------------------------------
# Candles built from trades


def trade_frame(envelope: dict, message_id: int, t: float, *trades: tuple[str, str, str, str]):
    """A v4_trades update shaped like the real one: (id, createdAt, price, size) per trade."""
    contents = {"trades": [{"id": id, "createdAt": at, "price": price, "size": size, "side": "BUY",
                            "type": "LIMIT"} for id, at, price, size in trades]}
    return ws_frame(envelope, t, message_id=message_id, contents=contents)


@pytest.fixture(scope="module")
def trades(samples_dir) -> dict:
    return load_sample(samples_dir, "nautilus-2024/ws/v4_trades.json")  # 2 ETH trades at 19:12:35.705


def test_trades_make_candles_at_any_resolution_and_a_later_trade_closes_them(trades):
    same_minute = ("014206d50000000200000003", "2024-07-24T19:12:50.100Z", "3393.5", "0.5")
    next_minute = ("014206e00000000200000001", "2024-07-24T19:13:05.000Z", "3392", "1")
    frames = [ws_frame(trades, 1.0), trade_frame(trades, 1500, 2.0, same_minute),
              trade_frame(trades, 1510, 3.0, next_minute)]

    out = run_frames(frames, candles_from_trades(["1MIN", "5MINS", "4HOURS"]))

    closed = [u for u in out if u.closed]
    assert [(u.resolution, u.t) for u in closed] == [("1MIN", 3.0)]
    minute = closed[0].candle
    assert (minute.startedAt, minute.ticker) == ("2024-07-24T19:12:00.000Z", "ETH-USD")
    assert (minute.open, minute.high, minute.low, minute.close) == (
        Decimal("3392.9"), Decimal("3393.5"), Decimal("3392.9"), Decimal("3393.5"))
    assert minute.baseTokenVolume == Decimal("2.248") and minute.trades == 3
    assert minute.usdVolume == Decimal("1.748") * Decimal("3392.9") + Decimal("0.5") * Decimal("3393.5")
    last = {u.resolution: u.candle for u in out[-3:]}
    assert not any(u.closed for u in out[-3:])
    assert last["5MINS"].startedAt == "2024-07-24T19:10:00.000Z" and last["5MINS"].trades == 4
    assert last["5MINS"].low == Decimal("3392") and last["5MINS"].close == Decimal("3392")
    assert last["4HOURS"].startedAt == "2024-07-24T16:00:00.000Z"
    assert last["1MIN"].startedAt == "2024-07-24T19:13:00.000Z" and last["1MIN"].open == Decimal("3392")


def test_minutes_without_trades_become_flat_candles_like_the_venues(trades):
    frames = [
        ws_frame(trades, 1.0),
        trade_frame(trades, 1600, 2.0, ("014207000000000200000001", "2024-07-24T19:15:10.000Z", "3390", "2"))]

    out = run_frames(frames, candles_from_trades(["1MIN"]))

    assert [(u.candle.startedAt[11:16], u.closed, u.candle.trades, str(u.candle.close)) for u in out] == [
        ("19:12", False, 2, "3392.9"),
        ("19:12", True, 2, "3392.9"),
        ("19:13", True, 0, "3392.9"), ("19:14", True, 0, "3392.9"),
        ("19:15", False, 1, "3390")]
    flat = out[2].candle
    assert flat.open == flat.high == flat.low == Decimal("3392.9") and flat.baseTokenVolume == 0


def test_trades_seen_again_are_not_counted_twice(trades):
    """A resubscription's snapshot repeats recent trades (newest first); nothing new means no output."""
    newest_first = trades["contents"]["trades"][::-1]
    resnapshot = {**trades, "type": "subscribed", "message_id": 1600, "contents": {"trades": newest_first}}
    late = trade_frame(trades, 1700, 3.0,
                       ("014206ce0000000200000001", "2024-07-24T19:12:30.000Z", "3300", "9"))

    out = run_frames([ws_frame(trades, 1.0), ws_frame(resnapshot, 2.0), late], candles_from_trades())

    assert len(out) == 1 and out[0].candle.trades == 2


def test_rest_trades_come_newest_first_and_are_ordered_by_time_and_id(samples_dir):
    rest = load_sample(samples_dir, "nautilus-2025/rest/http_get_trades.json")

    [update] = run_frames([rest_frame(rest, "/v4/trades/perpetualMarket/BTC-USD?limit=3", 5.0)],
                          candles_from_trades())

    candle = update.candle
    assert (update.market, candle.startedAt, update.t) == ("BTC-USD", "2025-12-08T16:11:00.000Z", 5.0)
    # two trades share 16:11:29.425: the lower id (earlier event in the block) opens the candle
    assert (candle.open, candle.high, candle.low, candle.close) == (
        Decimal("89969"), Decimal("89970"), Decimal("89942"), Decimal("89942"))
    assert candle.baseTokenVolume == Decimal("0.2129") and candle.trades == 3


def test_batched_trades_bad_timestamps_and_other_channels(trades, snapshot):
    bad = {"id": "014206d00000000200000001", "createdAt": "later", "price": "1", "size": "1", "side": "SELL"}
    batch = {**trades, "type": "channel_batch_data", "contents": [trades["contents"], {"trades": [bad]}]}
    nothing = {**trades, "message_id": 1499, "contents": {"trades": []}}

    [update] = run_frames([ws_frame(nothing, 0.5), ws_frame(batch, 1.0), ws_frame(snapshot, 2.0)],
                          candles_from_trades())

    assert update.candle.trades == 2 and update.candle.close == Decimal("3392.9")


def test_an_unknown_resolution_is_refused_when_the_graph_is_built():
    with pytest.raises(ValueError, match="'2MINS'.*1MIN, 5MINS"):
        candles_from_trades(["1MIN", "2MINS"])
    assert set(RESOLUTIONS) == {"1MIN", "5MINS", "15MINS", "30MINS", "1HOUR", "4HOURS", "1DAY"}
