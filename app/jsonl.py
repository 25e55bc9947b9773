"""One JSON object per line for `--no-ui`: every object has `t` (event time) and `kind`, then the event's
own fields. Decimals are strings (exact), keys keep the order of the event's fields, so the same replay
prints the same bytes every time."""

from __future__ import annotations

from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(decimal_format="string")


def line(kind: str, event: Any) -> bytes:
    fields = msgspec.to_builtins(event, builtin_types=(), str_keys=True)
    t = fields.pop("t", None)
    if "kind" in fields:  # the event's own kind (e.g. a fill's TRADE/LIQUIDATION) keeps a qualified name
        fields[f"{kind}_kind"] = fields.pop("kind")
    return _encoder.encode({"t": t, "kind": kind, **fields}) + b"\n"
