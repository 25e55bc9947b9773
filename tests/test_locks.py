"""The set-up cannot be broken by a new upstream release: what `tools/venv.sh` installs is named, version and hash,
by the locks alone, and everything any locked package asks for (its extras' requirements included) is in them.

`tools/venv.sh` installs the pinned pip of `tools/pip.lock` first, then `requirements.lock` with `--no-deps`, so no
installer ever resolves a requirement against the registry; these tests prove that this loses nothing."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker as Markers
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def pins(lock: Path) -> dict[str, tuple[str, str | None, set[str]]]:
    """name -> (version, marker, sha256 hashes) of a requirements file exported by `uv export`."""
    found: dict[str, tuple[str, str | None, set[str]]] = {}
    name = None
    for line in lock.read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            found[name] = (match[2], match[3], set())
        elif name is not None and (digest := HASH.search(line)):
            found[name][2].add(digest[1])
    return found


LOCKED = {**pins(ROOT / "requirements.lock"), **pins(ROOT / "tools" / "pip.lock")}
UV_LOCK = {canonicalize_name(package["name"]): package
           for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}


def test_the_exported_locks_pin_exactly_what_uv_lock_says_with_its_hashes() -> None:
    assert "pip" in LOCKED and len(LOCKED) > 100
    for name, (version, _marker, hashes) in LOCKED.items():
        package = UV_LOCK[name]
        assert package["version"] == version, name
        artifacts = [package.get("sdist", {}), *package.get("wheels", [])]
        known = {artifact["hash"].removeprefix("sha256:") for artifact in artifacts if "hash" in artifact}
        assert hashes and hashes <= known, f"{name}: hashes not in uv.lock"


def applies(marker: str | None, extra: str = "") -> bool:
    """Whether an environment marker holds on this machine (for a requirement asked for with `extra`)."""
    if marker is None:
        return True
    return Markers(marker).evaluate({**default_environment(), "extra": extra})


def wanted_here() -> list[Requirement]:
    """The project's own requirements and its dependency groups', as pyproject.toml states them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    groups = project["dependency-groups"].values()
    return [Requirement(text) for text in [*project["project"]["dependencies"], *(t for g in groups for t in g)]]


def test_every_requirement_of_every_locked_package_and_its_extras_is_satisfied_by_the_lock() -> None:
    """Walks the requirement graph from the project down, through the extras each package asks for (such as
    pytest-cov's `coverage[toml]`): every requirement whose marker applies here names a locked package, at a
    locked version its specifier allows."""
    seen: set[tuple[str, str]] = set()
    todo = [(requirement, "") for requirement in wanted_here()]
    while todo:
        requirement, extra = todo.pop()
        if not applies(str(requirement.marker) if requirement.marker else None, extra):
            continue
        name = canonicalize_name(requirement.name)
        assert name in LOCKED, f"{requirement} is not in the lock"
        version, marker, _ = LOCKED[name]
        assert applies(marker), f"{name} is locked only where `{marker}`, but {requirement} needs it here"
        allowed = requirement.specifier.contains(version, prereleases=True)
        assert allowed, f"locked {name}=={version} breaks {requirement}"
        for wanted_extra in {"", *requirement.extras}:
            if (name, wanted_extra) in seen:
                continue
            seen.add((name, wanted_extra))
            for text in metadata.requires(name) or []:
                todo.append((Requirement(text), wanted_extra))
    assert ("coverage", "toml") in seen  # the extra that an old pip could not resolve from a hash-checked lock


@pytest.mark.skipif(not sys.prefix.endswith(".venv"), reason="runs in the project's own .venv, made by tools/venv.sh")
def test_the_venv_has_the_locked_installer_and_the_locked_versions() -> None:
    for name, (version, marker, _) in LOCKED.items():
        if applies(marker):
            assert metadata.version(name) == version, name
