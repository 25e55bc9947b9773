"""Which addresses are this machine, and the rule built on it: a plaintext (http://, ws://) connection is
allowed only to this machine, where nobody on the path can read or change it."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

PLAINTEXT_SCHEMES = ("http", "ws")


def is_loopback(host: str | None) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (brackets allowed)."""
    if not host:
        return False
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plaintext_off_loopback(url: str) -> bool:
    """Whether `url` would travel unencrypted to another machine."""
    parts = urlsplit(url)
    return parts.scheme.lower() in PLAINTEXT_SCHEMES and not is_loopback(parts.hostname)


def refusal(what: str, url: str) -> str:
    """The one line that refuses a plaintext `url` off the loopback."""
    return (f"{what} {url!r} is unencrypted and not on this machine: use https:// or wss:// (plaintext is "
            "allowed only on 127.0.0.1, ::1 or localhost)")
