"""What tests build their inputs from: frames around real Indexer messages, and market state with real
parameters. One place, so a change to a model's fields is one edit here rather than one per test module."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import reactivex
from hypothesis import strategies as st
from reactivex import Observable

from streams.kernel.frames import Frame
from streams.market.parse import parse
from streams.market.state import MarketInfo


def load_sample(samples_dir: Path, relative: str) -> Any:
    """A sample's JSON; nautilus-2025 REST captures are unwrapped from their `result` envelope."""
    data = json.loads((samples_dir / relative).read_text())
    if isinstance(data, dict) and "requestId" in data and "result" in data:
        return data["result"]
    return data


def ws_frame(message: dict[str, Any], t: float, conn: int = 0, **envelope: Any) -> Frame:
    """A WebSocket frame at time `t` carrying `message` (e.g. a sample) with `envelope` fields replaced."""
    return Frame(t=t, kind="ws", data=json.dumps({**message, **envelope}).encode(), conn=conn)


def rest_frame(body: Any, path: str, t: float, status: int = 200) -> Frame:
    return Frame(t=t, kind="rest", data=json.dumps(body).encode(), path=path, status=status)


def run_frames(frames: list[Frame], *operators: Callable[[Observable], Observable]) -> list[Any]:
    """Frames -> parse() -> `operators`, synchronously (event time only): everything that came out."""
    out: list[Any] = []
    reactivex.from_iterable(frames).pipe(parse(), *operators).subscribe(out.append)
    return out


# ETH-USD's mainnet parameters (July 2024), the market most tests trade
ETH_PARAMETERS: dict[str, Any] = dict(
    status="ACTIVE", market_type="CROSS", oracle_price=Decimal(3000), next_funding_rate=Decimal(0),
    initial_margin_fraction=Decimal("0.05"), maintenance_margin_fraction=Decimal("0.03"), open_interest=Decimal(0),
    open_interest_lower_cap=Decimal(0), open_interest_upper_cap=Decimal(0), tick_size=Decimal("0.1"),
    step_size=Decimal("0.001"), atomic_resolution=-9, quantum_conversion_exponent=-9,
    step_base_quantums=1_000_000, subticks_per_tick=100_000, clob_pair_id="1",
)
_DECIMALS = {name for name, value in ETH_PARAMETERS.items() if isinstance(value, Decimal)} | {
    "price_change_24h", "volume_24h"}


def market_info(market: str = "ETH-USD", t: float = 0.0, **fields: Any) -> MarketInfo:
    """A market's state: ETH-USD's parameters unless `fields` say otherwise. Money fields may be given as
    strings or ints (`oracle_price="3393.3"`), as a test reads best."""
    given = {name: Decimal(value) if name in _DECIMALS and isinstance(value, str | int) else value
             for name, value in fields.items()}
    return MarketInfo(t=t, market=market, **{**ETH_PARAMETERS, **given})


mutation = st.one_of(  # one edit of a frame's bytes, for `mutate`
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("swap"), st.integers(0, 10**6), st.sampled_from([b'"', b"{", b"}", b"[", b"]", b",", b":",
                                                                       b"-", b"e", b"0", b"null", b"\\"])),
)


def mutate(data: bytes, ops: list[tuple[str, int, object]]) -> bytes:
    """`data` with the edits `ops` (drawn from `mutation`) made in turn, positions wrapped to its length."""
    for op, at, arg in ops:
        at = at % (len(data) + 1)
        if op == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ arg]) + data[at + 1:]
        elif op == "delete":
            data = data[:at] + data[at + arg:]
        elif op in ("insert", "swap"):
            data = data[:at] + arg + data[at + (1 if op == "swap" else 0):]
        elif op == "truncate":
            data = data[:at]
    return data
