"""parbench's core: the workloads (`spec`), the dataset layout (`layout`), the data they read
(`data`), the engines that run them (`engines`), the clusters those engines can use (`cluster`),
the checks of a cluster's address (`probes`), what all of it runs on (`runtime`), and the
command line (`cli`)."""

from workloads.runtime import legacy

legacy.install()
