#!/usr/bin/env bash
# Runs a system test suite (default: the fault suite, tests/faults.rs) with
# every process it starts logging at debug level into one directory, then
# greps every log line for the DefectDojo token and anything shaped like an
# Authorization credential. Fails if one is found, or if no log was written
# (a grep of nothing proves nothing).
#
#   scripts/grep-test-logs.sh                 # the fault suite
#   scripts/grep-test-logs.sh --test bounds   # another suite
#   scripts/grep-test-logs.sh --test alerts   # the alert webhook URL too
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d -t wstg-test-logs.XXXXXX)
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--test faults)
cargo build --workspace --bins
WSTG_TEST_LOG_DIR="$dir" FAULT_LOG=debug WSTG_LOG_LEVEL=debug cargo test "${args[@]}"
logs=$(find "$dir" -name '*.log' -size +0 | wc -l)
if [ "$logs" -eq 0 ]; then
    echo "grep-test-logs: no process wrote a log in $dir" >&2
    exit 1
fi
# The system tests' DefectDojo token, the alert receiver's URL secret
# (test_support::receiver), and credential shapes of any value.
if grep -rlE -e 'system-test-dojo-token' -e 'T0-B0-[0-9a-f]{32}' \
    -e '(Token|Bearer|Basic) [A-Za-z0-9._~+/=-]{16,}' \
    -e '(api_key|password|token)=[^*[&[:space:]]{6,}' "$dir"; then
    echo "grep-test-logs: a credential appears in the logs above (kept in $dir)" >&2
    exit 1
fi
lines=$(cat "$dir"/*.log | wc -l)
echo "grep-test-logs: $logs process logs, $lines lines, no credential"
rm -rf "$dir"
