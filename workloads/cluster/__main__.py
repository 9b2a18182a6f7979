"""`python -m workloads.cluster up|down|status ...`."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
