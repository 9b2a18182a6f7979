"""Where every random draw of the generator comes from: one home for seeds and hashes.

Tasks draw from random streams seeded by (seed, kind, part index), so a part's bytes depend on
the dataset's seed and scale, never on the worker that made it. What several tasks must draw
alike (the real rows of a date cut by a part boundary, a player's name) comes from a hash of what
is drawn instead: `mix` of a `salt` of the seed and the item.
"""

from __future__ import annotations

import numpy as np

#: Kind ids: each kind of draw has its own streams.
TEXT_KIND = 1
MATCHES_KIND = 2
GOALS_KIND = 3
PLAYERS_KIND = 4
NAMES_KIND = 5


def rng(seed: int, kind: int, part: int = 0) -> np.random.Generator:
    """The random stream of (seed, kind, part)."""
    return np.random.default_rng(np.random.SeedSequence([seed, kind, part]))


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: uint64 -> well-mixed uint64 (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def salt(seed: int, *what: int) -> np.uint64:
    """A hash of the seed and more whole numbers, to mix into the hashes of drawn items."""
    h = mix(np.array([seed], np.uint64))
    for w in what:
        h = mix(h ^ np.array([w], np.uint64))
    return h[0]
