#!/usr/bin/env bash
# Install a Java runtime for the Spark engine (OpenJDK 17, headless) unless a Java 17 or newer is
# already on PATH.
if java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then
    echo "java: already installed ($(command -v java))"
    exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" java openjdk-17-jre-headless
