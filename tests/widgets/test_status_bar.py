"""The status bar in replay (playing, paused, at the end, with the session's PnL), live, reconnecting
and while connecting, with the paper broker or trading live on testnet or mainnet."""

from __future__ import annotations

import pytest

from tests.support.dashboard import PanelApp, T, traded_pnl
from widgets.status_bar import StatusBar, StatusState, Trading, perf_line, where_line

MB = 2**20
ADDRESS = "dydx1qyfq6x0jkm2tjp3rk6mv8e7l0ja5sqg9vq8k4f"
REPLAY = StatusState("replay", "default", T, 0.42, 10.0, rate=12_345.6, latency=0.0123, memory=182 * MB)
STATES = {
    "replay": REPLAY,
    "paused": StatusState("replay", "default", T, 0.42, 2.0, paused=True, rate=0.0, latency=None, memory=182 * MB),
    "end": StatusState("replay", "default", T, 1.0, None, done=True, rate=0.0, memory=190 * MB),
    "live": StatusState("live", "mainnet", T, rate=85.2, latency=0.0031, memory=201 * MB),
    "connecting": StatusState("replay", "default", T, 0.42, None, note="connecting to live…", rate=40_112.0,
                              latency=0.094, memory=182 * MB),
    "reconnecting": StatusState("live", "mainnet", T, connection="reconnecting in 3 s (attempt 2): closed (code 1006)",
                                rate=0.0, memory=201 * MB),
    "pnl": StatusState("replay", "default", T, 0.42, 10.0, pnl=traded_pnl(), rate=12_345.6, latency=0.0123,
                       memory=182 * MB),
    "trading-testnet": StatusState("live", "testnet", T, trading=Trading("dydx-testnet-4", ADDRESS, 0),
                                   rate=85.2, latency=0.0031, memory=201 * MB),
    "trading-mainnet": StatusState("live", "mainnet", T, trading=Trading("dydx-mainnet-1", ADDRESS, 3),
                                   pnl=traded_pnl(), rate=85.2, latency=0.0031, memory=201 * MB),
    "none": StatusState(),
    "none-connecting": StatusState(note="connecting to mainnet… reconnecting in 1 s (attempt 1): refused (l: give up)"),
}


@pytest.mark.parametrize("size", {"80": (80, 2), "160": (160, 2)}.values(), ids=["80", "160"])
@pytest.mark.parametrize("state", STATES)
def test_snapshot(snap_compare, state: str, size: tuple[int, int]) -> None:
    assert snap_compare(PanelApp(StatusBar(), STATES[state]), terminal_size=size)


def test_where_reads_from_source_to_playback_and_perf_from_rate_to_memory() -> None:
    assert where_line(REPLAY).plain == " REPLAY   paper  default  2025-01-02 10:20:42Z  42%  ▶ ×10"
    assert where_line(STATES["paused"]).plain.endswith("⏸ paused ×2")
    assert where_line(STATES["connecting"]).plain.endswith("▶ max  connecting to live…")
    assert where_line(STATES["live"]).plain.endswith("● live")
    assert where_line(STATES["reconnecting"]).plain.endswith("○ reconnecting in 3 s (attempt 2): closed (code 1006)")
    assert where_line(STATES["pnl"]).plain.endswith("▶ ×10  PnL +38.67 fees 13.00")
    assert where_line(STATES["none-connecting"]).plain.startswith("no source  connecting to mainnet… reconnecting")
    assert where_line(STATES["trading-testnet"]).plain.startswith(
        " LIVE    LIVE ORDERS  dydx-testnet-4 dydx1qyf…8k4f/0  testnet  ")
    assert perf_line(REPLAY).plain == "12,346/s  e2e 12ms  182MB"
    assert perf_line(STATES["paused"]).plain == "0/s  e2e —  182MB"
