"""The base of every config section: immutable, strict (an unknown key is refused), keyword-only."""

from __future__ import annotations

from msgspec import Struct


class Section(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One table of the config file (`streams.config` assembles them)."""
