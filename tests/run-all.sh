#!/usr/bin/env bash
# README's test command. Sets up a fresh machine (Debian packages, dotnet restore), then runs every test: the recorder
# core's CTest suite (C), the .NET test projects, and the tool-package check (pack, install, run).
# Prints a closing line "N passed, N failed, N skipped" summing all of them.
# W7_SKIP_SETUP=1 skips the set-up (packages and restore); W7_SKIP_PACKAGE=1 skips the tool-package check;
# W7_SKIP_FUZZ=1 skips the hostile-input slice (fuzz/ci-slice.sh: corpus replay, mutations, memory bounds, libFuzzer,
# ASan+UBSan).
set -uo pipefail
cd "$(dirname "$0")/.."

# Every Debian package any test needs, in one list: add yours here.
debs=(
  cmake g++ make liblz4-dev lz4 zlib1g-dev libxxhash-dev   # the C recorder core
  libgtest-dev libbenchmark-dev                            # its tests and benchmark
  clang libclang-rt-14-dev afl++                           # fuzzing and sanitizers
  protobuf-compiler python3 python3-protobuf               # PANDA's Python plog reader (tests/python/read_plog.py)
  chromium chromium-driver                                 # the browser test of the reports
  git jq                                                   # the tool-package check clones the repository; jq for the jsonl test
)

setup() {
  local missing=() p
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "missing Debian packages; run this, then this script again:"
      echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
      exit 1
    fi
    echo "== set-up: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || { echo "apt-get update failed"; exit 1; }
    apt-get install -y -qq "${missing[@]}" >/dev/null || { echo "apt-get install ${missing[*]} failed"; exit 1; }
  fi
  command -v dotnet >/dev/null || { echo "the .NET 10 SDK (dotnet) is required: https://dot.net"; exit 1; }
  echo "== set-up: dotnet restore"
  dotnet restore Win7Proc.Offline.sln >/dev/null || { echo "dotnet restore failed"; exit 1; }
}
[ "${W7_SKIP_SETUP:-0}" = 1 ] || setup

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
dotnet test Win7Proc.Offline.sln --no-restore 2>&1 | tee "$log"
dotnet_rc=${PIPESTATUS[0]}
read -r n_passed n_failed n_skipped < <(awk '
  /(Passed|Failed)!/ && /Passed:/ {
    for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1); if ($i == "Skipped:") s += $(i+1) }
  } END { print p+0, f+0, s+0 }' "$log")

pkg_passed=0; pkg_failed=0
if [ "${W7_SKIP_PACKAGE:-0}" != 1 ]; then
  echo "== tool package: pack in a fresh clone, install with dotnet tool install, run every command"
  if bash tests/tool-package.sh; then pkg_passed=1; else pkg_failed=1; fi
fi

fuzz_passed=0; fuzz_failed=0
if [ "${W7_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== hostile input: the bounded campaign slice (fuzz/ci-slice.sh)"
  bash fuzz/ci-slice.sh 2>&1 | tee "$log"
  read -r fuzz_passed fuzz_failed < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log" | tail -1)
  fuzz_passed=${fuzz_passed:-0}; fuzz_failed=${fuzz_failed:-1}
fi

passed=$(( n_passed + c_total - c_failed + pkg_passed + fuzz_passed ))
failed=$(( n_failed + c_failed + pkg_failed + fuzz_failed ))
echo
echo "recorder: $((c_total - c_failed))/$c_total CTest tests passed; .NET: $n_passed passed, $n_failed failed, $n_skipped skipped; tool package: $pkg_passed passed, $pkg_failed failed; hostile-input slice: $fuzz_passed steps passed, $fuzz_failed failed"
echo "$passed passed, $failed failed, $n_skipped skipped"
if [ "$ctest_rc" -ne 0 ] || [ "$dotnet_rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
