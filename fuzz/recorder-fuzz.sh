#!/usr/bin/env bash
# libFuzzer on the recorder core's capture code against fuzzer-controlled guest pages (src/recorder/fuzz/).
# Usage: fuzz/recorder-fuzz.sh [SECONDS]   (default 60; 0 = until stopped). Needs clang and libclang-rt-14-dev.
# New inputs go to build/recorder-fuzz/corpus; crashes are written to fuzz/corpus/recorder/ (kept and replayed).
# Closing line: "recorder-fuzz: N executions in S s, N crashes"; exit 1 on a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build=build/recorder-fuzz
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
cmake -S src/recorder -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DW7REC_FUZZ=ON -DW7REC_BUILD_TESTS=OFF -DW7REC_BUILD_BENCH=OFF -DCMAKE_C_FLAGS="$flags" > "$build.cmake.log" 2>&1 \
  || { cat "$build.cmake.log"; exit 1; }
cmake --build "$build" --target w7rec_fuzz_capture -j2 > "$build.build.log" 2>&1 || { tail -30 "$build.build.log"; exit 1; }
mkdir -p "$build/corpus" fuzz/corpus/recorder
log="$build/fuzz.log"
set +e
"$build/fuzz/w7rec_fuzz_capture" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -len_control=20 \
  -artifact_prefix=fuzz/corpus/recorder/ -print_final_stats=1 "$build/corpus" fuzz/corpus/recorder > "$log" 2>&1
status=$?
set -e
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
crashes=$(grep -c 'ERROR: \(AddressSanitizer\|libFuzzer\)\|runtime error:' "$log" || true)
echo "recorder-fuzz: $execs executions in $seconds s, $crashes crashes (log: $log)"
if [ "$status" -ne 0 ]; then grep -m5 -A5 'ERROR\|runtime error' "$log" || tail -20 "$log"; exit 1; fi
