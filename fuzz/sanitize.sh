#!/usr/bin/env bash
# The recorder core's CTest suite built with clang under AddressSanitizer + UndefinedBehaviorSanitizer
# (any report fails the test: -fno-sanitize-recover). Usage: fuzz/sanitize.sh. Needs clang, libclang-rt-14-dev.
# Closing line: "sanitize: N tests passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/recorder-asan
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
# Executables and the shared library share one ASan runtime (-shared-libasan: libclang_rt.asan-x86_64.so).
export LD_LIBRARY_PATH="$(dirname "$(clang -print-file-name=libclang_rt.asan-x86_64.so)")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cmake -S src/recorder -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DW7REC_BUILD_BENCH=OFF -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined -shared-libasan" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined -shared-libasan" > "$build.cmake.log" 2>&1 \
  || { cat "$build.cmake.log"; exit 1; }
cmake --build "$build" -j2 > "$build.build.log" 2>&1 || { grep -m20 -B2 -A5 'error' "$build.build.log" || tail -30 "$build.build.log"; exit 1; }
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
set +e
ctest --test-dir "$build" --output-on-failure -j2 > "$build.ctest.log" 2>&1
status=$?
set -e
summary=$(grep -oE '[0-9]+ tests failed out of [0-9]+' "$build.ctest.log" | tail -1)
failed=$(echo "${summary:-1 tests failed out of 0}" | awk '{print $1}')
total=$(echo "${summary:-x x x x x 0}" | awk '{print $6}')
echo "sanitize: $((total - failed)) tests passed, $failed failed (log: $build.ctest.log)"
if [ "$status" -ne 0 ]; then grep -m10 -A10 'ERROR: AddressSanitizer\|runtime error:\|Failed\|\*\*\*' "$build.ctest.log" | head -60; exit 1; fi
