"""Container names: Docker's validation rule and a generator of readable random names."""

from __future__ import annotations

import random
import re

from minicontainer.errors import MCError

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

# Our own word lists (Docker uses adjective_scientist; these name people who built networks).
ADJECTIVES = [
    "agile", "brave", "calm", "clever", "curious", "daring", "eager", "fervent", "gentle", "happy",
    "hopeful", "jolly", "keen", "lucid", "merry", "modest", "nimble", "patient", "quiet", "quick",
    "relaxed", "serene", "sharp", "steady", "tender", "upbeat", "vibrant", "wise", "witty", "zealous",
]
SURNAMES = [
    "baran", "bellovin", "cerf", "clark", "davies", "deering", "estrin", "floyd", "hinden", "jacobson",
    "kahn", "kleinrock", "lampson", "metcalfe", "mills", "mockapetris", "perlman", "postel", "pouzin",
    "reynolds", "saltzer", "shenker", "stevens", "tanenbaum", "tomlinson", "vixie", "zhang", "braden",
]


def validate_name(name: str) -> str:
    bare = name[1:] if name.startswith("/") else name
    if not NAME_RE.match(bare):
        raise MCError(f"Error response from daemon: Invalid container name ({bare}), "
                      "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", 125)
    return bare


def random_name(rng: random.Random | None = None) -> str:
    rng = rng or random.SystemRandom()
    return f"{rng.choice(ADJECTIVES)}_{rng.choice(SURNAMES)}"
