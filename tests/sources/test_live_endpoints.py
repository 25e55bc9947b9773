"""Endpoints: mainnet by default, `--network testnet` switches, explicit URLs override both."""

from __future__ import annotations

import re

import pytest

from streams.sources.endpoints import MAINNET, TESTNET, Endpoints, resolve_endpoints


def test_mainnet_is_the_default():
    assert resolve_endpoints() == MAINNET == Endpoints("https://indexer.dydx.trade",
                                                      "wss://indexer.dydx.trade/v4/ws")
    assert MAINNET.tls


def test_testnet_switches_both_urls():
    assert resolve_endpoints("testnet") == TESTNET == Endpoints(
        "https://indexer.v4testnet.dydx.exchange", "wss://indexer.v4testnet.dydx.exchange/v4/ws")


def test_explicit_urls_override_the_network_one_at_a_time():
    assert resolve_endpoints("testnet", rest_url="http://127.0.0.1:8080/") == Endpoints(
        "http://127.0.0.1:8080", TESTNET.ws)
    local = resolve_endpoints("mainnet", ws_url="ws://127.0.0.1:9/v4/ws")
    assert local == Endpoints(MAINNET.rest, "ws://127.0.0.1:9/v4/ws") and not local.tls


@pytest.mark.parametrize("network, rest, ws, message", [
    ("devnet", None, None, "unknown network 'devnet' (choose from mainnet, testnet)"),
    ("mainnet", "ws://127.0.0.1:1", None, "REST URL must look like https://host[:port]"),
    ("mainnet", None, "https://indexer.dydx.trade/v4/ws", "WebSocket URL must look like wss://host[:port]"),
    ("mainnet", None, "ws:///v4/ws", "WebSocket URL must look like wss://"),
])
def test_bad_choices_are_refused_with_a_message_naming_them(network, rest, ws, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_endpoints(network, rest, ws)
