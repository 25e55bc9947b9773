"""Fixtures of the live-trading scenario (tests/support/live_scenario.py): a throwaway wallet and the
session the loopback indexer plays to it, shared by the headless and the dashboard live tests."""

from __future__ import annotations

import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.wallet import Wallet

from tests.support.dydx_node import throwaway_mnemonic
from tests.support.live_scenario import LiveScenario
from tests.support.trading_session import trading_config, write_trading_session


@pytest.fixture(scope="module")
def words() -> str:
    return throwaway_mnemonic()


@pytest.fixture(scope="module")
def wallet(words) -> Wallet:
    return Wallet(KeyPair.from_mnemonic(words), 0, 0)


@pytest.fixture(scope="module")
def session(tmp_path_factory, wallet) -> LiveScenario:
    directory = tmp_path_factory.mktemp("live-trading")
    config_path, config = trading_config(directory)
    venue = write_trading_session(directory / "recording", wallet.address, config)
    return LiveScenario(config_path, config, directory / "recording", venue)
