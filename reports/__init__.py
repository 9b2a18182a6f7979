"""parbench reports: the verdict, side-by-side times and scaling from asv's stored results.

`python -m reports` writes reports/html/index.html, one self-contained page per machine.
Modules: `metrics` (every formula, pure), `model` (cells with their identity, and every number
the page derives), `load` (asv's files), `sidecar` (the benchmarks' records: reasons, data
sizes, versions), `figures` (SVG), `page` (HTML), `export` (CSV), `build`.
"""
