"""This machine's platform in Go's names (what image indexes use) and picking an index entry for it."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass

# uname -m -> (GOARCH, variant). Docker normalizes arm64's variant to v8.
_GOARCH = {
    "x86_64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i386": ("386", ""), "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""), "riscv64": ("riscv64", ""),
}


@dataclass(frozen=True)
class Platform:
    """os/architecture[/variant], as an image index names it."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host() -> Platform:
    machine = _platform.machine()
    arch, variant = _GOARCH.get(machine, (machine, ""))
    return Platform("linux", arch, variant)


def parse(text: str) -> Platform:
    """'linux/arm64/v8' or 'linux/amd64'."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f'"{text}": unknown operating system or architecture: invalid argument')
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def _variant(entry: dict) -> str:
    v = entry.get("variant", "")
    return "v8" if entry.get("architecture") == "arm64" and not v else v


def choose(manifests: list[dict], want: Platform) -> dict | None:
    """The index entry for `want`. An entry without a variant fits any (arm64 counts as v8); buildkit's
    attestation entries (unknown/unknown) never match."""
    fits = []
    for entry in manifests:
        p = entry.get("platform") or {}
        if p.get("os") != want.os or p.get("architecture") != want.architecture:
            continue
        variant = _variant(p)
        if want.variant and variant and variant != want.variant:
            continue
        fits.append(entry)
    # An exact variant match beats an entry that left the variant out.
    fits.sort(key=lambda e: _variant(e.get("platform") or {}) != want.variant)
    return fits[0] if fits else None
