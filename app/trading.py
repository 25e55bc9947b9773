"""Live trading, opted into on the command line: the chain to trade on and how to reach the wallet.

Testnet unless `--mainnet` is given AND the confirmation phrase is typed at the terminal; the mnemonic comes
only from `$DYDX_MNEMONIC` or the OS keyring and is never printed, logged or recorded. A `--node-url` on the
loopback is a plain-text local node (a dev chain, or the tests' stand-in)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from dydx_v4_client.network import Network

from streams.execution.live_broker import LiveBroker
from streams.execution.networks import (
    MAINNET_CONFIRMATION,
    NetworkRefusedError,
    local_network,
    on_loopback,
    select_network,
)
from streams.execution.secrets import load_mnemonic


@dataclass(frozen=True)
class LiveTrading:
    network: Network
    subaccount: int = 0

    @classmethod
    def choose(cls, *, mainnet: bool, node_url: str | None, subaccount: int,
               ask: Callable[[str], str] | None = None) -> LiveTrading:
        """The network the user asked for; mainnet asks for the typed confirmation (NetworkRefusedError if it
        does not match or cannot be asked)."""
        if node_url is not None and on_loopback(node_url):
            if mainnet:  # its chain id is the dev chain's: mainnet would refuse every signature
                raise NetworkRefusedError(f"a node on the loopback ({node_url}) is taken for a local dev chain, "
                                     "not mainnet: drop --mainnet, or --node-url to use the mainnet node")
            return cls(local_network(node_url), subaccount)
        confirmation = ""
        if mainnet:
            confirmation = (ask or _ask_terminal)(
                f"Live trading on MAINNET uses real money. Type exactly: {MAINNET_CONFIRMATION}\n> ")
        return cls(select_network(mainnet=mainnet, confirmation=confirmation, node_url=node_url), subaccount)

    async def connect(self) -> LiveBroker:
        return await LiveBroker.connect(self.network, load_mnemonic(), subaccount=self.subaccount)


def _ask_terminal(prompt: str) -> str:
    if not sys.stdin.isatty():
        return ""  # a confirmation must be typed by a person
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline()
