"""A driver on an emulated host: `python tests/hosts_driver.py ENGINE WORKERS DATASET WORKLOAD...`
runs the workloads on one started engine (its cluster's address from the environment) and prints
one JSON object: each workload's answer checked against the dataset's manifest ("ok", or the
error's first line), and, for Ray, the addresses of the cluster's live nodes as Ray sees them."""

from __future__ import annotations

import json
import sys

from workloads import engines, spec
from workloads.data.dataset import Dataset
from workloads.runtime.errors import first_line


def main(engine_name: str, workers: str, folder: str, *workloads: str) -> None:
    data = Dataset.open(folder)
    checked: dict[str, str] = {}
    nodes: list[str] = []
    with engines.create(engine_name, int(workers)) as engine:
        for name in workloads:
            try:
                spec.get(name).check(data.answer(name), engine.run(name, data))
                checked[name] = "ok"
            except Exception as exc:  # the test shows which workload failed, and why
                checked[name] = first_line(exc)
        if engine_name == "ray":
            import ray

            nodes = [n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]]
    print(json.dumps({"checked": checked, "nodes": nodes}))


if __name__ == "__main__":
    main(*sys.argv[1:])
