#!/usr/bin/env bash
# The long version of the campaign (hours): many more seeded mutations with a fine truncation stride, the full-size
# bombs, libFuzzer on the recorder core for an hour, and SharpFuzz/afl++ on each .NET reader.
# Usage: bash fuzz/long.sh [SEED]. Failing inputs go to build/fuzz-failures/ (keep them in fuzz/corpus/).
set -uo pipefail
cd "$(dirname "$0")/.."
seed="${1:-$RANDOM}"
W7FUZZ_COUNT=20000 W7FUZZ_SECONDS=3600 W7FUZZ_SEED="$seed" bash fuzz/ci-slice.sh
dotnet build/w7fuzz/w7fuzz.dll mutate --stride 64 --count 5000 --seed "$((seed + 1))" --save build/fuzz-failures
dotnet build/w7fuzz/w7fuzz.dll bounds --full
for target in trace plog scenario; do bash fuzz/sharpfuzz.sh "$target" 3600; done
