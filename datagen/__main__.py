"""`python -m datagen`: see `datagen.cli`."""

from datagen.cli import main

raise SystemExit(main())
