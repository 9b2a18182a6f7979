"""parbench reports: speedup, efficiency and scaling figures from asv's stored results.

`python -m reports` writes reports/html/index.html. Modules: `metrics` (pure formulas),
`model` (cells and derived tables), `load` (asv's files), `figures`, `page`, `build`.
"""
