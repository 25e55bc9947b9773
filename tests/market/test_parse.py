"""Every real Indexer capture parses into its typed event; malformed input becomes a ParseError that says
what and where, and the stream goes on."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.kernel.frames import Frame
from streams.market import events as ev
from streams.market.parse import channel, parse, parse_frame, parse_rest, parse_ws
from tests.support.builders import load_sample

WS_SAMPLES = {
    "connected.json": (ev.Connected, None),
    "error.json": (ev.IndexerError, None),
    "unsubscribed.json": (ev.Unsubscribed, None),
    "trade_deleveraged.json": (ev.ChannelData, ev.TradesUpdate),
    "v4_trades.json": (ev.ChannelData, ev.TradesUpdate),
    "v4_orderbook.json": (ev.ChannelData, ev.OrderbookUpdate),
    "v4_orderbook_snapshot.json": (ev.Subscribed, ev.OrderbookSnapshot),
    "v4_orderbook_batched_data.json": (ev.ChannelBatchData, list),
    "v4_candles.json": (ev.Subscribed, ev.CandlesSnapshot),
    "v4_candles_subscribed.json": (ev.Subscribed, ev.CandlesSnapshot),
    "v4_candles_channel_data.json": (ev.ChannelData, ev.Candle),
    "v4_markets_subscribed.json": (ev.Subscribed, ev.MarketsSnapshot),
    "v4_markets_channel_data.json": (ev.ChannelData, ev.MarketsUpdate),
    "v4_markets_channel_data_v8.json": (ev.ChannelData, ev.MarketsUpdate),
    "v4_markets_cross.json": (ev.ChannelData, ev.MarketsUpdate),
    "v4_markets_oracle_price.json": (ev.ChannelData, ev.MarketsUpdate),
    "v4_markets_trading_data.json": (ev.ChannelData, ev.MarketsUpdate),
    "v4_block_height_subscribed.json": (ev.Subscribed, ev.BlockHeightSnapshot),
    "v4_block_height_channel_data.json": (ev.ChannelData, ev.BlockHeightUpdate),
    "v4_accounts_balance.json": (ev.Subscribed, ev.SubaccountSnapshot),
    "v4_accounts_subscribed.json": (ev.Subscribed, ev.SubaccountSnapshot),
    "v4_accounts_subscribed_best_effort_canceled.json": (ev.Subscribed, ev.SubaccountSnapshot),
    "v4_accounts_subscribed_negative_initial_margin.json": (ev.Subscribed, ev.SubaccountSnapshot),
    "v4_accounts_channel_data.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_affiliate_rev_share.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_order.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_order_best_effort_canceled.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_order_canceled.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_order_expired.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_order_opened.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_order_opened_stop_limit.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_channel_data_transfers.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_fills.json": (ev.ChannelData, ev.SubaccountUpdate),
    "v4_accounts_rewards.json": (ev.ChannelData, ev.SubaccountUpdate),
}

REST_SAMPLES = {
    "nautilus-2024/rest/addresses.json": ("/v4/addresses/dydx1x", ev.AddressResponse),
    "nautilus-2024/rest/asset_positions.json": ("/v4/assetPositions?address=dydx1x", ev.AssetPositionsResponse),
    "nautilus-2024/rest/conditional_order.json": ("/v4/orders/abc", ev.Order),
    "nautilus-2024/rest/fills.json": ("/v4/fills?address=dydx1x", ev.FillsResponse),
    "nautilus-2024/rest/list_perpetual_markets.json": ("/v4/perpetualMarkets", ev.PerpetualMarketsResponse),
    "nautilus-2024/rest/list_perpetual_markets_empty_oracle_price.json":
        ("/v4/perpetualMarkets", ev.PerpetualMarketsResponse),
    "nautilus-2024/rest/list_perpetual_markets_v8.json": ("/v4/perpetualMarkets", ev.PerpetualMarketsResponse),
    "nautilus-2024/rest/list_perpetual_positions.json": ("/v4/perpetualPositions?address=x",
                                                          ev.PerpetualPositionsResponse),
    "nautilus-2024/rest/order.json": ("/v4/orders/abc", ev.Order),
    "nautilus-2024/rest/orders.json": ("/v4/orders?address=x", list),
    "nautilus-2024/rest/subaccount.json": ("/v4/addresses/x/subaccountNumber/0", ev.SubaccountResponse),
    "nautilus-2024/rest/v4_fills.json": ("/v4/fills?address=x", ev.FillsResponse),
    "nautilus-2025/rest/http_get_block_height.json": ("/v4/height", ev.HeightResponse),
    "nautilus-2025/rest/http_get_candles.json":
        ("/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN", ev.CandlesResponse),
    "nautilus-2025/rest/http_get_fills.json": ("/v4/fills?address=x", ev.FillsResponse),
    "nautilus-2025/rest/http_get_historical_funding.json":
        ("/v4/historicalFunding/BTC-USD", ev.HistoricalFundingResponse),
    "nautilus-2025/rest/http_get_orderbook.json": ("/v4/orderbooks/perpetualMarket/BTC-USD", ev.OrderbookResponse),
    "nautilus-2025/rest/http_get_orders.json": ("/v4/orders?address=x", list),
    "nautilus-2025/rest/http_get_perpetual_markets.json": ("/v4/perpetualMarkets", ev.PerpetualMarketsResponse),
    "nautilus-2025/rest/http_get_subaccount.json": ("/v4/addresses/x/subaccountNumber/0", ev.SubaccountResponse),
    "nautilus-2025/rest/http_get_time.json": ("/v4/time", ev.TimeResponse),
    "nautilus-2025/rest/http_get_trades.json": ("/v4/trades/perpetualMarket/BTC-USD", ev.TradesResponse),
}


def ws(data: object, t: float = 7.0, conn: int = 1) -> Frame:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return Frame(t=t, kind="ws", data=raw, conn=conn)


def test_every_ws_sample_is_covered(samples_dir):
    on_disk = {p.name for p in (samples_dir / "nautilus-2024" / "ws").glob("*.json")}
    assert on_disk == set(WS_SAMPLES), "a sample file has no parse expectation"


@pytest.mark.parametrize("name", sorted(WS_SAMPLES))
def test_ws_sample_parses_to_its_event(samples_dir, name):
    kind, payload = WS_SAMPLES[name]
    raw = (samples_dir / "nautilus-2024" / "ws" / name).read_bytes()
    event = parse_ws(ws(raw))
    assert type(event) is kind, getattr(event, "what", event)
    assert event.t == 7.0 and event.conn == 1
    if payload is not None:
        assert isinstance(event.contents, payload)


def test_every_rest_sample_is_covered(samples_dir):
    on_disk = {str(p.relative_to(samples_dir)) for p in samples_dir.glob("*/rest/*.json")}
    # /v4/transfers is not used by the bot
    assert on_disk - set(REST_SAMPLES) == {"nautilus-2025/rest/http_get_transfers.json"}


@pytest.mark.parametrize("name", sorted(REST_SAMPLES))
def test_rest_sample_parses_to_its_body(samples_dir, name):
    path, body = REST_SAMPLES[name]
    data = json.dumps(load_sample(samples_dir, name)).encode()
    event = parse_rest(Frame(t=3.0, kind="rest", data=data, path=path, status=200))
    assert isinstance(event, ev.RestResponse), getattr(event, "what", event)
    assert isinstance(event.body, body) and event.path == path and event.t == 3.0


def test_decimals_stay_exact(samples_dir):
    raw = (samples_dir / "nautilus-2024" / "ws" / "trade_deleveraged.json").read_bytes()
    wire = [trade["price"] for trade in json.loads(raw)["contents"]["trades"]]
    parsed = [trade.price for trade in parse_ws(ws(raw)).contents.trades]
    assert all(isinstance(price, Decimal) for price in parsed)
    assert [str(price) for price in parsed] == wire
    assert max(len(price.split(".")[-1]) for price in wire) >= 16  # the 16-decimal DELEVERAGED price


def test_batched_orderbook_keeps_update_order(samples_dir):
    raw = (samples_dir / "nautilus-2024" / "ws" / "v4_orderbook_batched_data.json").read_bytes()
    updates = json.loads(raw)["contents"]
    event = parse_ws(ws(raw))
    assert len(event.contents) == len(updates) == 41
    for parsed, wire in zip(event.contents, updates, strict=False):
        for side in ("bids", "asks"):
            assert [(str(p), str(s)) for p, s in getattr(parsed, side)] == [tuple(lvl) for lvl in wire.get(side, [])]


def test_markets_frames_have_no_id():
    event = parse_ws(ws({"type": "channel_data", "connection_id": "c", "message_id": 5, "channel": "v4_markets",
                         "version": "1.0.0", "contents": {"oraclePrices": {"BTC-USD": {"oraclePrice": "1.5"}}}}))
    assert event.id is None and event.contents.oraclePrices["BTC-USD"].oraclePrice == Decimal("1.5")


@pytest.mark.parametrize(
    ("raw", "what", "where"),
    [
        (b"{not json", "malformed", "ws conn 1 frame at t=7.000"),
        (b"", "truncated", "ws conn 1"),
        (b'{"type":"channel_data","connection_id":"c","message_id":3,"channel":"v4_trades","id":"ETH-USD",'
         b'"contents":{"trades":[{"id":"1","side":"BUY","size":"1","price":[5],"createdAt":"x"}]}}',
         "Expected `decimal`, got `array` - at `$.contents.trades[0].price`", "channel_data v4_trades/ETH-USD"),
        (b'{"type":"channel_data","connection_id":"c","message_id":3,"channel":"v4_nope","contents":{}}',
         "unknown channel 'v4_nope'", "message_id 3"),
        (b'{"type":"hello","connection_id":"c","message_id":3}', "unknown message type 'hello'", "hello"),
        (b'{"type":"subscribed","connection_id":"c","channel":"v4_trades","contents":{}}',
         "missing required field `message_id`", "subscribed"),
        (b'{"type":"subscribed","connection_id":"c","message_id":1,"channel":"v4_trades"}',
         "missing required field `contents`", "subscribed"),
        (b'{"type":"connected","message_id":0}', "missing required field `connection_id`", "connected"),
        (b'{"connection_id":"c"}', "missing required field `type`", "ws conn 1"),
        (b'{"type":"channel_data","connection_id":"c","message_id":"3","channel":"v4_trades"}',
         "Expected `int | null`, got `str`", "ws conn 1"),
    ],
)
def test_malformed_frames_become_errors_that_say_what_and_where(raw, what, where):
    event = parse_ws(ws(raw))
    assert isinstance(event, ev.ParseError)
    assert what.lower() in event.what.lower() and where in event.where
    assert event.size == len(raw) and event.t == 7.0 and event.conn == 1


def test_rest_errors_and_unused_paths():
    bad_status = parse_rest(Frame(t=1, kind="rest", data=b'{"errors":[]}', path="/v4/perpetualMarkets", status=429))
    assert isinstance(bad_status, ev.ParseError) and "HTTP status 429" in bad_status.what
    bad_body = parse_rest(Frame(t=1, kind="rest", data=b'{"markets": 3}', path="/v4/perpetualMarkets", status=200))
    assert isinstance(bad_body, ev.ParseError) and "$.markets" in bad_body.what
    assert "rest /v4/perpetualMarkets (HTTP 200)" in bad_body.where
    assert parse_rest(Frame(t=1, kind="rest", data=b"{}", path="/v4/transfers?x=1", status=200)) is None
    assert parse_frame(Frame(t=1, kind="status", data=b"{}")) is None


def test_the_stream_goes_on_after_bad_frames():
    frames = [
        ws({"type": "connected", "connection_id": "c", "message_id": 0}, t=1),
        ws(b"garbage", t=2),
        Frame(t=2.5, kind="status", data=b'{"event":"connected"}'),
        ws({"type": "channel_data", "connection_id": "c", "message_id": 1, "channel": "v4_orderbook",
            "id": "BTC-USD", "contents": {"bids": [["1", "0"]]}}, t=3),
        ws({"type": "channel_data", "connection_id": "c", "message_id": 2, "channel": "v4_trades",
            "id": "BTC-USD", "contents": {"trades": []}}, t=4),
    ]
    out: list = []
    reactivex.from_iterable(frames).pipe(parse()).subscribe(out.append)
    assert [type(e).__name__ for e in out] == ["Connected", "ParseError", "ChannelData", "ChannelData"]
    books: list = []
    reactivex.from_iterable(frames).pipe(parse(), channel("v4_orderbook", "BTC-USD")).subscribe(books.append)
    assert [e.message_id for e in books] == [1]
    trades: list = []
    reactivex.from_iterable(frames).pipe(parse(), channel("v4_trades")).subscribe(trades.append)
    assert [e.message_id for e in trades] == [2]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    event = parse_frame(Frame(t=0.0, kind="ws", data=data))
    assert event is not None


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20),
       st.sampled_from(["subscribed", "channel_data", "channel_batch_data", "unsubscribed", "connected", "error"]),
       st.sampled_from(sorted(["v4_markets", "v4_orderbook", "v4_trades", "v4_candles", "v4_subaccounts",
                               "v4_parent_subaccounts", "v4_block_height"])))
def test_arbitrary_contents_never_raise(contents, kind, chan):
    data = {"type": kind, "connection_id": "c", "message_id": 1, "channel": chan, "id": "X", "contents": contents}
    assert parse_frame(ws(data)) is not None
