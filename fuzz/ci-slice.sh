#!/usr/bin/env bash
# The bounded CI slice of the hostile-input campaign (docs/robustness.md), a few minutes in all:
#   1. corpus replay: every input that ever failed (fuzz/corpus/{trace,plog,scenario}) through its reader's contract
#   2. deterministic mutations of every sample (fixed seed): trace, plog, scenario
#   3. resource bounds: peak memory (VmHWM) of crafted inputs against the documented bounds
#   4. libFuzzer on the recorder core's capture code (W7FUZZ_SECONDS, default 60 s)
#   5. the recorder core's CTest suite under ASan+UBSan
# Usage: bash fuzz/ci-slice.sh   (from anywhere; needs the .NET SDK, cmake, liblz4-dev, clang, libclang-rt-14-dev)
# Environment: W7FUZZ_COUNT (random mutations per target, default 150), W7FUZZ_SECONDS (libFuzzer time, default 60),
#              W7FUZZ_SEED (default 1). Prints one line per step, then "N passed, N failed"; exit 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
count="${W7FUZZ_COUNT:-150}" seconds="${W7FUZZ_SECONDS:-60}" seed="${W7FUZZ_SEED:-1}"
passed=0 failed=0
log_dir=build/fuzz-logs
mkdir -p "$log_dir"

step() { # name, command...: runs a step, counts it, keeps its log
  local name="$1"; shift
  local start=$SECONDS
  if "$@" > "$log_dir/$name.log" 2>&1; then passed=$((passed + 1)); status=ok; else failed=$((failed + 1)); status=FAILED; fi
  local summary
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed|executions|recorder-fuzz:|sanitize:|corpus replay:|bound:' "$log_dir/$name.log" | grep -v '^ok ' | tr '\n' ';' | sed 's/;$//')
  echo "$status $name ($((SECONDS - start)) s): ${summary:-see $log_dir/$name.log}"
  [ "$status" = ok ] || grep -m10 '^FAIL' "$log_dir/$name.log" | sed 's/^/    /'
}

# The simulator needs libw7rec.so (the recorder core's shared library) beside its assembly.
cmake -S src/recorder -B build/recorder -DCMAKE_BUILD_TYPE=Release > "$log_dir/recorder-cmake.log" 2>&1 \
  && cmake --build build/recorder --target w7rec_shared -j2 >> "$log_dir/recorder-cmake.log" 2>&1 \
  || { echo "FAILED building the recorder core (see $log_dir/recorder-cmake.log)"; echo "0 passed, 1 failed"; exit 1; }
if ! dotnet build fuzz/Win7Proc.Offline.Fuzz -c Release -o build/w7fuzz > "$log_dir/build.log" 2>&1; then
  tail -20 "$log_dir/build.log"; echo "0 passed, 1 failed"; exit 1
fi
w7fuzz() { dotnet build/w7fuzz/w7fuzz.dll "$@"; }

step corpus-replay w7fuzz replay --corpus fuzz/corpus
step mutate-trace w7fuzz mutate --target trace --count "$count" --seed "$seed" --stride 2048 --save build/fuzz-failures
step mutate-plog w7fuzz mutate --target plog --count "$count" --seed "$seed" --stride 512 --save build/fuzz-failures
step mutate-scenario w7fuzz mutate --target scenario --count "$count" --seed "$seed" --stride 1024 --save build/fuzz-failures
step bounds w7fuzz bounds
step recorder-libfuzzer fuzz/recorder-fuzz.sh "$seconds"
step recorder-asan-ubsan fuzz/sanitize.sh
[ -d build/fuzz-failures ] && echo "new failing inputs (add them to fuzz/corpus/ once understood): build/fuzz-failures/"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
