"""Where the live source connects: the Indexer's REST and WebSocket URLs per network.

Mainnet is the default, `--network testnet` switches, and explicit URLs override both (that is how
tests and the recorder point the source at 127.0.0.1). Plaintext URLs are refused unless on the loopback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from streams.kernel.loopback import plaintext_off_loopback, refusal
from streams.kernel.settings import Section


def _require_scheme(what: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"{what} URL must look like {schemes[-1]}://host[:port]..., not {url!r}")
    if plaintext_off_loopback(url):
        raise ValueError(refusal(f"{what} URL", url))


@dataclass(frozen=True)
class Endpoints:
    rest: str
    ws: str

    def __post_init__(self) -> None:
        _require_scheme("REST", self.rest, ("http", "https"))
        _require_scheme("WebSocket", self.ws, ("ws", "wss"))

    @property
    def tls(self) -> bool:
        return self.ws.startswith("wss://")


MAINNET = Endpoints(rest="https://indexer.dydx.trade", ws="wss://indexer.dydx.trade/v4/ws")
TESTNET = Endpoints(rest="https://indexer.v4testnet.dydx.exchange",
                    ws="wss://indexer.v4testnet.dydx.exchange/v4/ws")
NETWORKS = {"mainnet": MAINNET, "testnet": TESTNET}


def resolve_endpoints(network: str = "mainnet", rest_url: str | None = None,
                      ws_url: str | None = None) -> Endpoints:
    """The network's endpoints, with either URL replaced when given explicitly."""
    try:
        base = NETWORKS[network]
    except KeyError:
        raise ValueError(f"unknown network {network!r} (choose from {', '.join(NETWORKS)})") from None
    return Endpoints(rest=(rest_url or base.rest).rstrip("/"), ws=ws_url or base.ws)


class LiveSection(Section, frozen=True):
    """`[live]`: where live data comes from - the dashboard's `l` switch, and `--live` - unless the
    command line says otherwise (`--network`, `--rest-url`, `--ws-url`, `--markets` win over it)."""

    network: Literal["mainnet", "testnet"] = "mainnet"
    rest_url: str | None = None
    ws_url: str | None = None
    markets: tuple[str, ...] = ("BTC-USD", "ETH-USD")

    def check(self) -> None:
        urls = (("rest_url", self.rest_url, ("http", "https")), ("ws_url", self.ws_url, ("ws", "wss")))
        for key, url, schemes in urls:
            parts = urlsplit(url or "")
            if url is not None and (parts.scheme not in schemes or not parts.netloc):
                raise ValueError(f"{key}: expected a {' or '.join(schemes)} URL such as {schemes[-1]}://host[:port]")
        if not self.markets:
            raise ValueError("markets: name at least one market, e.g. [\"BTC-USD\"]")
