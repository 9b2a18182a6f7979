#!/usr/bin/env bash
# Install a single-node Slurm (slurmctld, slurmd, client tools) and munge on Debian/Ubuntu.
exec bash "$(dirname "$0")/apt-install.sh" slurm slurmctld slurmd slurm-client munge
