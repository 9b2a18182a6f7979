"""The workloads whose plans hold a whole input, in a form that holds a part of it at a time:
used under a memory budget (docs/engines.md, "Under a memory budget").

Polars' streaming engine streams scans, filters and group-bys by few keys through bounded
buffers, but a sort, the build side of a join and a collect hold every row they get. So
`unbeaten_streaks` (a sort by team) and `top_scorers` (a join, then a group-by by scorer whose
keys are as many as the goals' scorers) split their rows by a hash of the key into parts, as a
distributed engine shuffles: one streaming pass writes every row to the Parquet file of its part
in the engine's private folder (`sink_parquet` to a `PartitionBy`), and the in-memory plan then
runs on one part at a time. The number of parts comes from the bytes of the input and the memory
the plan may fill. `team_ratings`, whose passes read every match, reads them from a coded Parquet
file in each pass instead of holding them. What a workload writes goes as it ends.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from workloads import spec
from workloads.data.dataset import Input
from workloads.engines.polars import plans
from workloads.engines.polars.engine import Budget
from workloads.spec import JOIN_KEY

#: Bytes the largest part holds at its peak per byte of the CSV input it came from, measured at
#: scale 300 (docs/measurements/2026-12-06-polars-memory-budget.md): a part of the sort peaks at
#: about four times its rows' bytes, and a hash of 316 teams makes parts of unequal size.
SORT_BYTES_PER_INPUT_BYTE = 2.0
JOIN_BYTES_PER_INPUT_BYTE = 1.0
#: Parts written at once by one pass: each has a Parquet writer with buffers of its own.
MAX_PARTS = 64
#: Rows per Parquet row group of a part: a writer holds one row group until it is full.
ROW_GROUP_ROWS = 16_384
#: The column `PartitionBy` splits by (not written to the parts' files).
PART = "part"


def input_bytes(*inputs: Input) -> int:
    return sum(os.path.getsize(path) for table in inputs for path in table.paths)


def parts_for(budget: Budget, size: int, per_byte: float) -> int:
    """How many parts a plan that holds `per_byte` bytes per byte of its `size`-byte input needs
    to hold one part at a time within `budget`."""
    return min(MAX_PARTS, max(1, math.ceil(size * per_byte / max(1, budget.memory))))


@contextlib.contextmanager
def workspace(budget: Budget) -> Iterator[Path]:
    """A folder of the engine's for one run's parts, removed when the run ends, however."""
    folder = Path(tempfile.mkdtemp(prefix="parts-", dir=budget.folder))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def split(plan: pl.LazyFrame, key: pl.Expr, parts: int, folder: Path, tag: str = "") -> None:
    """Write every row of `plan` in one streaming pass to the part that the hash of `key`
    picks: files `<part>-<tag>-<n>.parquet` in `folder` (none for an empty part). Rows in any
    order: kept in order, the streaming engine would hold one input of a union while the other
    streams."""
    def path(args: pl.io.partition.FileProviderArgs) -> str:
        return str(folder / f"{args.partition_keys.item()}-{tag}-{args.index_in_partition}.parquet")

    target = pl.PartitionBy(folder, key={PART: key.hash() % parts}, include_key=False,
                            file_path_provider=path)
    plan.sink_parquet(target, maintain_order=False, row_group_size=ROW_GROUP_ROWS, mkdir=True,
                      engine=plans.ENGINE)


def part(folder: Path, index: int) -> pl.LazyFrame | None:
    """The rows of part `index` in `folder` (None where it has none). The files are listed here,
    not globbed by Polars: the folder's name is taken literally."""
    files = sorted(str(p) for p in folder.glob(f"{index}-*.parquet"))
    return pl.scan_parquet(files, glob=False, hive_partitioning=False) if files else None


# --------------------------------------------------------------------------- the workloads


def unbeaten_streaks(matches: Input, budget: Budget) -> spec.Streaks:
    """The sides of the matches split by team, the team as a categorical (four bytes a row); then
    per part the in-memory plan's sorts and runs (`plans.longest_runs`): a team's matches all lie
    in one part."""
    parts = parts_for(budget, input_bytes(matches), SORT_BYTES_PER_INPUT_BYTE)
    streaks: spec.Streaks = {}
    with workspace(budget) as folder:
        sides = plans.streak_sides(plans.scan(matches))
        coded = sides.with_columns(pl.col("team").cast(pl.Categorical))
        plans.guarded(lambda: split(coded, pl.col("team").to_physical(), parts, folder), matches)
        for index in range(parts):
            rows = part(folder, index)
            if rows is not None:
                streaks.update(plans.longest_runs(rows.collect(engine=plans.ENGINE)))
    return streaks


def top_scorers(goals: Input, matches: Input, budget: Budget) -> spec.TopScorers:
    """Two splits, as a distributed join and group-by shuffle: the goals that count and the
    matches' tournaments split by the join key, each part joined on its own; the joined
    (tournament, scorer) rows split by scorer, each part counted and its best scorers kept; the
    best of those per tournament is the answer, since each scorer's goals lie in one part. Teams
    and tournaments, a few hundred names, are categoricals (four bytes a row); the scorers, as
    many as a tenth of the goals, stay strings (a categorical's names live as long as Polars)."""
    parts = parts_for(budget, input_bytes(goals, matches), JOIN_BYTES_PER_INPUT_BYTE)
    names = [pl.col(c).cast(pl.Categorical) for c in ("home_team", "away_team", "tournament")]
    key = pl.struct(pl.col("date"), *(pl.col(c).to_physical() for c in JOIN_KEY[1:]))
    with workspace(budget) as folder:
        scored, fixtures, pairs = folder / "goals", folder / "matches", folder / "pairs"
        plans.guarded(lambda: split(plans.scoring(plans.scan(goals)).with_columns(names[:2]),
                                    key, parts, scored), goals)
        plans.guarded(lambda: split(plans.fixtures(plans.scan(matches)).with_columns(names),
                                    key, parts, fixtures), matches)
        for index in range(parts):
            these, those = part(scored, index), part(fixtures, index)
            if these is not None and those is not None:
                joined = these.join(those, on=list(JOIN_KEY)).select("tournament", "scorer")
                split(joined, pl.col("scorer"), parts, pairs, tag=str(index))
        bests = [plans.best_scorers(plans.counted(rows)).collect(engine=plans.ENGINE)
                 for rows in (part(pairs, index) for index in range(parts)) if rows is not None]
    if not bests:
        return {}
    best = plans.best_scorers(pl.concat(bests).lazy()).collect(engine=plans.ENGINE)
    return plans.tops(best.with_columns(pl.col("tournament").cast(pl.String)))


def team_ratings(matches: Input, budget: Budget) -> spec.Ratings:
    """The matches coded once into a Parquet file of the engine's folder: the teams as
    categoricals and the `plans.rating_terms`. Each pass is then one streaming query over it:
    every match joined to the last pass's ratings of its two teams (a table of a few hundred
    rows), its error summed per team. The passes read the file again rather than hold it;
    nothing holds more than the teams."""
    with workspace(budget) as folder:
        coded = folder / "coded.parquet"
        plan = plans.scan(matches).select(home=pl.col("home_team").cast(pl.Categorical),
                                          away=pl.col("away_team").cast(pl.Categorical),
                                          **plans.rating_terms())
        plans.guarded(lambda: plan.sink_parquet(coded, maintain_order=False,
                                                engine=plans.ENGINE), matches)
        scan_coded = pl.scan_parquet(coded, glob=False, hive_partitioning=False)
        teams = (pl.concat([scan_coded.select(team="home"), scan_coded.select(team="away")])
                 .group_by("team").len("played").collect(engine=plans.ENGINE)
                 .with_columns(rating=pl.lit(0.0)))
        for _ in range(spec.RATING_PASSES):
            rating = teams.lazy().select("team", "rating")
            d = pl.col("home_rating") - pl.col("away_rating") + pl.col("bonus")
            e = pl.col("y") - 1.0 / (1.0 + (-d).exp())
            errors = (scan_coded
                      .join(rating.rename({"team": "home", "rating": "home_rating"}), on="home")
                      .join(rating.rename({"team": "away", "rating": "away_rating"}), on="away")
                      .select("home", "away", e=e))
            gradient = (pl.concat([errors.select(team="home", g="e"),
                                   errors.select(team="away", g=-pl.col("e"))])
                        .group_by("team").agg(pl.col("g").sum()).collect(engine=plans.ENGINE))
            teams = teams.join(gradient, on="team", how="left").select(
                "team", "played", rating=pl.col("rating")
                + spec.RATING_STEP * pl.col("g").fill_null(0.0) / pl.col("played"))
    names = teams["team"].cast(pl.String).to_list()
    return dict(zip(names, teams["rating"].to_list(), strict=True))


#: The workloads with an out-of-core form; the others' plans stream within a budget as they are.
FORMS = {"team_ratings": team_ratings, "unbeaten_streaks": unbeaten_streaks,
         "top_scorers": top_scorers}
