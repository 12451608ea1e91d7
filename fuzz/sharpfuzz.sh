#!/usr/bin/env bash
# Coverage-guided fuzzing of the .NET readers with SharpFuzz (NuGet SharpFuzz 2.3.0, tool SharpFuzz.CommandLine 2.3.0)
# and Debian's afl++. Usage: fuzz/sharpfuzz.sh TARGET [SECONDS]   TARGET = trace | plog | scenario (default 600 s).
# The project's assemblies are instrumented in a copy (build/sharpfuzz/); afl-fuzz feeds inputs to `w7fuzz afl
# TARGET`, which runs them through the CLI's contract (a broken contract is a crash). Crashes land in
# build/afl-TARGET/default/crashes/: check each, then keep it in fuzz/corpus/TARGET/ (replayed in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: fuzz/sharpfuzz.sh trace|plog|scenario [SECONDS]}" seconds="${2:-600}"
tools=build/sharpfuzz-tool out=build/sharpfuzz
[ -x "$tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" > /dev/null
cmake -S src/recorder -B build/recorder -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build/recorder --target w7rec_shared -j2 > /dev/null
rm -rf "$out"  # instrument fresh copies (sharpfuzz refuses an assembly twice)
dotnet publish fuzz/Win7Proc.Offline.Fuzz -c Release -o "$out" > "$out.publish.log" 2>&1 || { tail -20 "$out.publish.log"; exit 1; }
for dll in "$out"/Win7Proc.Offline.*.dll "$out"/win7proc-offline.dll; do
  case "$dll" in *Fuzz.dll) continue ;; esac
  "$tools/sharpfuzz" "$dll" > /dev/null
done
seeds="build/afl-seeds-$target"
rm -rf "$seeds" && mkdir -p "$seeds"
case "$target" in
  trace) for f in samples/*/trace.lz4; do cp "$f" "$seeds/$(basename "$(dirname "$f")").lz4"; done ;;
  plog) cp fuzz/corpus/plog/seed-*.plog "$seeds/" ;;
  scenario) for f in samples/*/scenario.json; do cp "$f" "$seeds/$(basename "$(dirname "$f")").json"; done ;;
  *) echo "unknown target $target"; exit 2 ;;
esac
# The target is dotnet itself: SharpFuzz instruments the assemblies, not the binary afl-fuzz inspects.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1
timeout --signal=INT "$((seconds + 30))" afl-fuzz -i "$seeds" -o "build/afl-$target" -t 20000 -m none -V "$seconds" \
  -- dotnet "$out/w7fuzz.dll" afl "$target" > "build/afl-$target.log" 2>&1 || true
stats="build/afl-$target/default/fuzzer_stats"
[ -f "$stats" ] || { tail -15 "build/afl-$target.log"; echo "sharpfuzz $target: afl-fuzz did not run"; exit 1; }
execs=$(awk -F': *' '/^execs_done/{print $2}' "$stats" 2>/dev/null || echo 0)
crashes=$(ls "build/afl-$target/default/crashes" 2>/dev/null | grep -vc README || true)
paths=$(awk -F': *' '/^corpus_count/{print $2}' "$stats" 2>/dev/null || echo 0)
echo "sharpfuzz $target: $execs executions in $seconds s, corpus $paths, $crashes crashes"
[ "$crashes" -eq 0 ]
