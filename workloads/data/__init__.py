"""Datasets on disk: opening and checking a dataset folder against its manifest (`dataset`),
validating its files (`validate`), and reading them as rows (`readers`) or as Arrow and pandas
frames (`frames`). The folder layout itself is `workloads.layout`."""
