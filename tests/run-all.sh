#!/usr/bin/env bash
# Runs every test: the recorder core's CTest suite (C), then the .NET test projects.
# Prints a closing line "N passed, N failed, N skipped" summing both.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== recorder core (C): build and CTest"
cmake -S src/recorder -B build/recorder -DCMAKE_BUILD_TYPE=Release >/dev/null || { echo "cmake configure failed"; exit 1; }
cmake --build build/recorder -j2 || { echo "recorder build failed"; exit 1; }
ctest --test-dir build/recorder --output-on-failure 2>&1 | tee "$log"
ctest_rc=${PIPESTATUS[0]}
c_total=$(sed -nE 's/.* tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\2/p' "$log" | tail -1)
c_failed=$(sed -nE 's/.* tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/p' "$log" | tail -1)
c_total=${c_total:-0}; c_failed=${c_failed:-0}

echo "== .NET: dotnet test"
dotnet test Win7Proc.Offline.sln 2>&1 | tee "$log"
dotnet_rc=${PIPESTATUS[0]}
read -r n_passed n_failed n_skipped < <(awk '
  /(Passed|Failed)!/ && /Passed:/ {
    for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1); if ($i == "Skipped:") s += $(i+1) }
  } END { print p+0, f+0, s+0 }' "$log")

passed=$(( n_passed + c_total - c_failed ))
failed=$(( n_failed + c_failed ))
echo
echo "recorder: $((c_total - c_failed))/$c_total CTest tests passed; .NET: $n_passed passed, $n_failed failed, $n_skipped skipped"
echo "$passed passed, $failed failed, $n_skipped skipped"
if [ "$ctest_rc" -ne 0 ] || [ "$dotnet_rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
