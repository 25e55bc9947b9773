"""What keeps the live broker from trading by accident or leaking its key: testnet unless mainnet is
confirmed twice over, plain-text node connections only on the loopback, and a mnemonic that only the
environment or the OS keyring can provide and that never shows itself."""

from __future__ import annotations

import os
import pickle

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as NoKeyring

from streams.execution.networks import MAINNET_CONFIRMATION, NetworkRefusedError, local_network, select_network
from streams.execution.secrets import MnemonicUnavailableError, Secret, load_mnemonic
from tests.support.dydx_node import throwaway_mnemonic


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, entries: dict[tuple[str, str], str]) -> None:
        super().__init__()
        self.entries = entries

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[(service, username)]


@pytest.fixture
def words() -> str:
    return throwaway_mnemonic()


def test_testnet_is_the_default():
    network = select_network()
    assert network.node.chain_id == "dydx-testnet-4"
    assert network.rest_indexer == "https://indexer.v4testnet.dydx.exchange"
    network.node.channel.close()


@pytest.mark.parametrize(("confirmation", "detail"), [
    ("", "it needs the mainnet flag and the confirmation typed exactly as"),
    ("yes", "what was typed does not match"),
    (MAINNET_CONFIRMATION.lower(), "what was typed does not match"),
])
def test_mainnet_without_the_typed_confirmation_is_refused(confirmation, detail):
    with pytest.raises(NetworkRefusedError, match=detail) as refused:
        select_network(mainnet=True, confirmation=confirmation)
    assert MAINNET_CONFIRMATION in str(refused.value)


def test_the_confirmation_alone_is_not_the_flag():
    network = select_network(confirmation=MAINNET_CONFIRMATION)
    assert network.node.chain_id == "dydx-testnet-4"
    network.node.channel.close()


def test_mainnet_with_the_flag_and_what_the_user_typed():
    network = select_network(mainnet=True, confirmation=f"  {MAINNET_CONFIRMATION}\n")
    assert network.node.chain_id == "dydx-mainnet-1"
    assert (network.rest_indexer, network.websocket_indexer) == ("https://indexer.dydx.trade",
                                                                  "wss://indexer.dydx.trade/v4/ws")
    network.node.channel.close()


def test_a_plain_text_node_only_on_the_loopback():
    for url in ("127.0.0.1:9090", "localhost:9090", "[::1]:9090"):
        network = local_network(url)
        assert network.node.chain_id == "localdydxprotocol"
        network.node.channel.close()
    with pytest.raises(NetworkRefusedError, match="only allowed on the loopback, not 'dydx-grpc.example:9090'"):
        local_network("dydx-grpc.example:9090")


def test_a_secret_never_shows_itself(words):
    secret = Secret(words)
    assert secret.reveal() == words
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r}", f"{secret}"):
        assert shown == "Secret('<redacted>')"
    assert repr([secret]) == "[Secret('<redacted>')]"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_the_environment_comes_first(words):
    def keyring_must_not_be_asked(service: str, user: str) -> str:
        raise AssertionError("keyring asked")

    secret = load_mnemonic(environ={"DYDX_MNEMONIC": f" {words}\n"}, get_password=keyring_must_not_be_asked)
    assert secret.reveal() == words


def test_the_mnemonic_leaves_the_environment_once_read(words, monkeypatch):
    monkeypatch.setenv("DYDX_MNEMONIC", words)
    assert load_mnemonic(get_password=lambda service, user: None).reveal() == words
    assert "DYDX_MNEMONIC" not in os.environ  # children and /proc/PID/environ readers never see it


@pytest.fixture
def use_keyring():
    """Install a keyring backend for one test; the machine's own comes back after it."""
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


def test_then_the_os_keyring_by_address_or_default(words, use_keyring):
    use_keyring(MemoryKeyring({("dydx-bot", "dydx1me"): words, ("dydx-bot", "default"): "other words"}))
    assert load_mnemonic("dydx1me", environ={}).reveal() == words
    assert load_mnemonic(environ={}).reveal() == "other words"
    with pytest.raises(MnemonicUnavailableError, match="keyring set dydx-bot dydx1else"):
        load_mnemonic("dydx1else", environ={"DYDX_MNEMONIC": "  "})


def test_no_keyring_on_this_machine_says_how_to_provide_one(use_keyring):
    use_keyring(NoKeyring())
    with pytest.raises(MnemonicUnavailableError, match="the OS keyring is unavailable .*set DYDX_MNEMONIC"):
        load_mnemonic(environ={})
