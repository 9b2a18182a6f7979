"""`python -m datagen`: see `datagen.cli`."""

from datagen.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
