"""Plaintext only on this machine: which hosts are the loopback, and which URLs would travel unencrypted to
another machine."""

from __future__ import annotations

import pytest

from streams.kernel.loopback import is_loopback, plaintext_off_loopback


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("10.0.0.1", False), ("::", False), ("indexer.dydx.trade", False),
    ("localhost.evil.example", False), ("127.0.0.1.nip.io", False), ("", False), (None, False),
])
def test_the_loopback_is_this_machine_only(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("url", "refused"), [
    ("http://indexer.example.com", True), ("ws://10.0.0.1:8080/v4/ws", True), ("HTTP://example.com", True),
    ("http://0.0.0.0:8080", True), ("http://127.0.0.1:8080", False), ("ws://[::1]:9/v4/ws", False),
    ("http://localhost", False), ("https://indexer.dydx.trade", False), ("wss://indexer.dydx.trade/v4/ws", False),
])
def test_plaintext_is_refused_off_the_loopback_only(url, refused):
    assert plaintext_off_loopback(url) is refused
