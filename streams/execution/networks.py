"""Which dYdX chain the live broker trades on: testnet unless the user asked for mainnet twice over.

Mainnet needs both the explicit flag and the confirmation phrase typed by the user; the app and the headless
runner pass through whatever was typed, and anything but the exact phrase is refused with a message that
says what to type. A local node (a dev chain or a test stand-in) is reachable only on the loopback.
"""

from __future__ import annotations

from typing import TypeGuard
from urllib.parse import urlsplit

from dydx_v4_client.network import Network, local_node, make_insecure, make_mainnet, make_testnet

from streams.kernel.loopback import is_loopback

MAINNET_CONFIRMATION = "I understand this trades real money on mainnet"
MAINNET_CHAIN_ID = "dydx-mainnet-1"

MAINNET_NODE = "oegs.dydx.trade:443"
MAINNET_INDEXER = "https://indexer.dydx.trade"
MAINNET_WEBSOCKET = "wss://indexer.dydx.trade/v4/ws"
TESTNET_NODE = "oegs-testnet.dydx.exchange:443"


class NetworkRefusedError(Exception):
    """The requested network is not allowed; the message says why and what would allow it."""


def select_network(*, mainnet: bool = False, confirmation: str = "", node_url: str | None = None) -> Network:
    """Testnet (TLS) by default; mainnet only with `mainnet=True` and the typed `MAINNET_CONFIRMATION`."""
    if not mainnet:
        return make_testnet(node_url=node_url or TESTNET_NODE)
    if confirmation.strip() != MAINNET_CONFIRMATION:
        raise NetworkRefusedError(
            "mainnet trades real money: it needs the mainnet flag and the confirmation typed exactly as "
            f"{MAINNET_CONFIRMATION!r}" + (" (what was typed does not match)" if confirmation.strip() else "")
        )
    return make_mainnet(rest_indexer=MAINNET_INDEXER, websocket_indexer=MAINNET_WEBSOCKET,
                        node_url=node_url or MAINNET_NODE)


def on_loopback(node_url: str | None) -> TypeGuard[str]:
    """Whether a node address (host:port) names a node on this machine."""
    return bool(node_url) and is_loopback(urlsplit(f"//{node_url}").hostname)


def local_network(node_url: str, *, rest_indexer: str = "", websocket_indexer: str = "") -> Network:
    """A plain-text gRPC node on this machine (chain id `localdydxprotocol`): a dev chain or a stand-in."""
    if not on_loopback(node_url):
        raise NetworkRefusedError(f"an unencrypted node connection is only allowed on the loopback, not {node_url!r}")
    return make_insecure(local_node, rest_indexer=rest_indexer, websocket_indexer=websocket_indexer,
                         node_url=node_url)
