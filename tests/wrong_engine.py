"""Deliberately wrong engines, registered through the `engines` setting ($PARBENCH_ENGINES) by
test_benchmarks, test_cli and test_engines."""

from collections import Counter

from workloads.engines.base import Engine
from workloads.engines.pandas import PandasEngine


class WrongEngine(PandasEngine):
    name = "wrong"
    max_workers = None  # fails at every worker count

    def home_advantage(self, matches):
        return super().home_advantage(matches) + 1


class IncompleteEngine(Engine):
    """Implements one workload of the spec only: the registry refuses it, naming the others."""

    name = "incomplete"

    def wordcount(self, text):
        return Counter(w for path in text.paths for w in open(path).read().split())
