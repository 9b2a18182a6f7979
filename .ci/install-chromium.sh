#!/usr/bin/env bash
# Install headless Chromium (Debian's `chromium` package) for the report's browser test.
exec bash "$(dirname "$0")/apt-install.sh" chromium chromium
