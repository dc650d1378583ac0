"""The captures of a real Docker Engine in ../shared/reference/docker-20.10/ (or $MINICONTAINER_REFERENCE),
for tests that compare our rules with Docker's."""

import os
import re

import pytest

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference", "docker-20.10")
SHARED = os.environ.get("MINICONTAINER_REFERENCE", REFERENCE)


def reference(name: str) -> str:
    """A capture without its comment lines; the test is skipped where the captures are not."""
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip(f"reference capture not found at {path}")
    text = open(path).read()
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"


def split_tables(text: str) -> dict[str, str]:
    """iptables-save text by table name (the reference lists filter and nat in either order)."""
    return {m.group(1): m.group(0) for m in re.finditer(r"\*(\w+)\n.*?COMMIT\n", text, re.S)}
