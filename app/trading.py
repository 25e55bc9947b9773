"""Live trading, opted into on the command line: the chain to trade on and how to reach the wallet.

Testnet unless `--mainnet` is given AND the confirmation phrase is typed at the terminal; the mnemonic comes
only from `$DYDX_MNEMONIC` or the OS keyring and is never printed, logged or recorded. A `--node-url` on the
loopback is a plain-text local node (a dev chain, or the tests' stand-in)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from dydx_v4_client.network import Network

from streams.execution.live_broker import LiveBroker
from streams.execution.networks import (
    MAINNET_CONFIRMATION,
    NetworkRefusedError,
    local_network,
    on_loopback,
    select_network,
)
from streams.execution.secrets import Secret, load_mnemonic

MAINNET_PROMPT = f"Live trading on MAINNET uses real money. Type exactly: {MAINNET_CONFIRMATION}"


@dataclass(frozen=True)
class TradingRequest:
    """`--broker live` as asked on the command line, before mainnet's confirmation is typed: the dashboard
    asks for it in a modal screen once it runs, where the terminal is its own."""

    mainnet: bool
    node_url: str | None
    subaccount: int
    parent: bool = False

    def check(self) -> None:
        """Refuse at once what no confirmation can allow (NetworkRefusedError)."""
        if self.mainnet and on_loopback(self.node_url):
            raise NetworkRefusedError(_LOOPBACK_MAINNET.format(self.node_url))

    def choose(self, typed: str = "") -> LiveTrading:
        """The network, with what the user typed as mainnet's confirmation (NetworkRefusedError)."""
        return LiveTrading.choose(mainnet=self.mainnet, node_url=self.node_url, subaccount=self.subaccount,
                                  parent=self.parent, ask=lambda _prompt: typed)


_LOOPBACK_MAINNET = ("a node on the loopback ({}) is taken for a local dev chain, not mainnet: "
                     "drop --mainnet, or --node-url to use the mainnet node")


@dataclass(frozen=True)
class LiveTrading:
    network: Network
    subaccount: int = 0
    parent: bool = False  # the subaccount's isolated children are followed and traded (`--parent-subaccount`)

    @classmethod
    def choose(cls, *, mainnet: bool, node_url: str | None, subaccount: int, parent: bool = False,
               ask: Callable[[str], str] | None = None) -> LiveTrading:
        """The network the user asked for; mainnet asks for the typed confirmation (NetworkRefusedError if it
        does not match or cannot be asked)."""
        if node_url is not None and on_loopback(node_url):
            if mainnet:  # its chain id is the dev chain's: mainnet would refuse every signature
                raise NetworkRefusedError(_LOOPBACK_MAINNET.format(node_url))
            return cls(local_network(node_url), subaccount, parent)
        confirmation = ""
        if mainnet:
            confirmation = (ask or _ask_terminal)(f"{MAINNET_PROMPT}\n> ")
        return cls(select_network(mainnet=mainnet, confirmation=confirmation, node_url=node_url), subaccount, parent)

    async def connect(self) -> LiveBroker:
        return await LiveBroker.connect(self.network, self._mnemonic, subaccount=self.subaccount, parent=self.parent)

    @cached_property
    def _mnemonic(self) -> Secret:
        """Read once: reading takes it out of the environment, and a reconnect needs it again."""
        return load_mnemonic()


def _ask_terminal(prompt: str) -> str:
    if not sys.stdin.isatty():
        return ""  # a confirmation must be typed by a person
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline()
