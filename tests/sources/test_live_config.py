"""The live source's configuration: what the CLI's values become, what REST calls and connections
follow from it, and what is refused before anything connects."""

from __future__ import annotations

import httpx
import pytest

from streams.sources.endpoints import MAINNET, resolve_endpoints
from streams.sources.live import LiveConfig, LiveSource, RestCall, _Failure, parse_markets

ADDRESS = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"


def test_markets_from_the_command_line():
    assert parse_markets("btc-usd, ETH-USD,,BTC-USD ") == ("BTC-USD", "ETH-USD")
    assert parse_markets("") == ()


def test_defaults_are_mainnet_btc_and_eth():
    config = LiveConfig()
    assert config.endpoints == MAINNET and config.markets == ("BTC-USD", "ETH-USD")
    assert [str(sub) for sub in config.subscriptions()] == [
        "v4_markets", "v4_orderbook:BTC-USD", "v4_trades:BTC-USD", "v4_candles:BTC-USD/1MIN",
        "v4_orderbook:ETH-USD", "v4_trades:ETH-USD", "v4_candles:ETH-USD/1MIN"]


def test_rest_calls_fetch_markets_candle_history_and_the_subaccount():
    config = LiveConfig(resolve_endpoints("testnet"), ("ETH-USD",), candles=("1MIN", "1HOUR"),
                        address=ADDRESS, subaccount_number=128, candle_history=500)
    assert [call.target for call in config.rest_calls()] == [
        "/v4/perpetualMarkets",
        "/v4/candles/perpetualMarkets/ETH-USD?resolution=1MIN&limit=500",
        "/v4/candles/perpetualMarkets/ETH-USD?resolution=1HOUR&limit=500",
        f"/v4/addresses/{ADDRESS}/subaccountNumber/128",
    ]
    assert [call.target for call in LiveConfig(candle_history=0).rest_calls()] == ["/v4/perpetualMarkets"]
    assert RestCall("/v4/height").target == "/v4/height"


@pytest.mark.parametrize("options, message", [
    ({"candle_history": 1001}, "candle_history must be 0..1000"),
    ({"rest_attempts": 0}, "rest_attempts must be at least 1"),
    ({"ping_interval": 10.0, "ping_timeout": 10.0}, "ping_timeout must be positive and shorter"),
    ({"candles": ("1MIN", "2HOURS")}, "unknown candle resolution '2HOURS'"),
])
def test_bad_settings_are_refused_before_connecting(options, message):
    with pytest.raises(ValueError, match=message):
        LiveConfig(**options)


def test_client_pings_can_be_turned_off():
    assert LiveConfig(ping_interval=0.0, ping_timeout=0.0).ping_interval == 0.0


def test_more_than_32_markets_open_a_second_connection():
    assert LiveSource(LiveConfig(markets=tuple(f"M{i}-USD" for i in range(32)))).connections == 1
    assert LiveSource(LiveConfig(markets=tuple(f"M{i}-USD" for i in range(33)))).connections == 2


def test_resync_names_only_planned_subscriptions():
    source = LiveSource(LiveConfig(markets=("ETH-USD",)))
    with pytest.raises(ValueError, match="not subscribed to v4_orderbook:BTC-USD"):
        source.resync("v4_orderbook", "BTC-USD", "crossed book")


async def test_stop_before_start_does_nothing():
    source = LiveSource()
    await source.stop()
    with pytest.raises(RuntimeError, match="has not been started"):
        _ = source.loop


def _status_error(status: int, headers: dict[str, str] | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "https://indexer.dydx.trade/v4/perpetualMarkets")
    response = httpx.Response(status, headers=headers, content=b'{"errors":[{"msg":"slow down"}]}',
                              request=request)
    return httpx.HTTPStatusError("failed", request=request, response=response)


@pytest.mark.parametrize("exc, retryable, status, retry_after", [
    (_status_error(429, {"Retry-After": "7"}), True, 429, 7.0),
    (_status_error(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), True, 429, 0.0),
    (_status_error(503), True, 503, 0.0),
    (_status_error(404), False, 404, 0.0),
    (httpx.ReadTimeout("timed out"), True, None, 0.0),
    (ValueError("Expecting value: line 1 column 1 (char 0)"), False, 200, 0.0),
])
def test_which_rest_failures_are_retried(exc, retryable, status, retry_after):
    failure = _Failure.of(exc)
    assert (failure.retryable, failure.status, failure.retry_after) == (retryable, status, retry_after)
    assert failure.answer == (b'{"errors":[{"msg":"slow down"}]}' if isinstance(exc, httpx.HTTPStatusError)
                              else None)
