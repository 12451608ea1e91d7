#!/bin/sh
# Regenerates docs/procstory-timeline.png: the seed-story sample's procstory --html page, rendered by the installed
# headless Chromium (Debian: apt-get install chromium). Review the picture; it is not compared pixel by pixel.
# Usage: docs/procstory-timeline.sh [path/to/win7proc-offline]   (default: dotnet run the CLI project)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tool=${1:-}
html=$(mktemp --suffix=.html)
trap 'rm -f "$html"' EXIT
if [ -n "$tool" ]; then
  "$tool" procstory "$root/samples/seed-story/trace.lz4" --html "$html"
else
  dotnet run --project "$root/src/Win7Proc.Offline.Cli" -- procstory "$root/samples/seed-story/trace.lz4" --html "$html"
fi
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,560 \
  --screenshot="$here/procstory-timeline.png" "file://$html" 2>/dev/null
echo "wrote $here/procstory-timeline.png"
