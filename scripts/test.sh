#!/usr/bin/env bash
# Installs build prerequisites and runs every test: unit tests and the black-box server tests
# (which start the real binary on loopback over the repository's tests/data/corpus), needing
# nothing beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --all-targets "$@"
