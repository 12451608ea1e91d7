#!/bin/sh
# Rebuilds every samples/NAME/trace.lz4 from samples/NAME/scenario.json (seed-story's scenario from generate.py first).
# Usage: samples/regenerate.sh [path/to/win7proc-offline]   (default: dotnet run the CLI project)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tool=${1:-}
python3 "$here/seed-story/generate.py" > "$here/seed-story/scenario.json"
for dir in "$here"/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  [ -f "$dir/scenario.json" ] || continue
  if [ -n "$tool" ]; then
    "$tool" simulate "$dir/scenario.json" -o "$dir/trace.lz4" --compression-level 9
  else
    dotnet run --project "$here/../src/Win7Proc.Offline.Cli" -- simulate "$dir/scenario.json" -o "$dir/trace.lz4" --compression-level 9
  fi
  echo "$name: $(wc -c < "$dir/trace.lz4") bytes"
done
