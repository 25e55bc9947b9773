"""Where the wallet mnemonic comes from: the environment or the OS keyring, nowhere else.

The mnemonic travels as a `Secret` whose repr and str are redacted, so no log line, recording, traceback
or exception message can carry it by accident; only `reveal()` hands out the words, at the one place that
derives the key.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Callable, MutableMapping

import keyring
from keyring.errors import KeyringError

ENV_VAR = "DYDX_MNEMONIC"
KEYRING_SERVICE = "dydx-bot"
KEYRING_DEFAULT_USER = "default"


class Secret:
    """A string that never shows itself: `str`, `repr` and f-strings print a placeholder."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('<redacted>')"

    __str__ = __repr__

    def __reduce__(self) -> typing.NoReturn:
        raise TypeError("a Secret cannot be pickled (it would end up on disk in clear)")


class MnemonicUnavailableError(Exception):
    """No mnemonic in the environment nor in the keyring; the message says how to provide one."""


def load_mnemonic(
    address: str | None = None,
    *,
    environ: MutableMapping[str, str] = os.environ,
    get_password: Callable[[str, str], str | None] = keyring.get_password,
) -> Secret:
    """`$DYDX_MNEMONIC`, else the keyring entry (service `dydx-bot`, user = `address` or "default"). The
    variable is taken out of the environment as it is read: no child process, crash reporter or
    /proc/PID/environ reader of ours gets it after that."""
    if words := environ.pop(ENV_VAR, "").strip():
        return Secret(words)
    user = address or KEYRING_DEFAULT_USER
    how = (f"set {ENV_VAR} in the environment or store it with `keyring set {KEYRING_SERVICE} {user}`")
    try:
        stored = get_password(KEYRING_SERVICE, user)
    except KeyringError as exc:
        raise MnemonicUnavailableError(f"no wallet mnemonic: the OS keyring is unavailable ({exc}); {how}") from None
    if not stored or not stored.strip():
        raise MnemonicUnavailableError(f"no wallet mnemonic: {how}")
    return Secret(stored.strip())
