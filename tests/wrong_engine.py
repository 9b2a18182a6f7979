"""A deliberately wrong engine (registered through PARBENCH_ENGINES by test_benchmarks)."""

from workloads.engines.pandas import PandasEngine


class WrongEngine(PandasEngine):
    name = "wrong"
    max_workers = None  # fails at every worker count

    def home_advantage(self, inp):
        return super().home_advantage(inp) + 1
