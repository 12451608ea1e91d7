#!/usr/bin/env bash
# The tool package, as a user gets it: in a fresh clone of this repository's HEAD, `dotnet pack`, then
# `dotnet tool install --tool-path DIR`; the installed tool analyses, dumps, draws and simulates. Then a new commit
# packs a newer version and `dotnet tool update` installs it. Exit 0 when all of that works.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { echo "tool-package: $*"; }
fail() { echo "tool-package: FAILED: $*" >&2; exit 1; }

git clone -q "$repo" "$work/src" || fail "git clone"
cd "$work/src"
count=$(git rev-list --count HEAD)
say "pack (expect version 0.2.$count)"
dotnet pack src/Win7Proc.Offline.Cli -c Release -o "$work/feed" -v q -nologo >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "dotnet pack"; }
pkg="$work/feed/Win7Proc.Offline.0.2.$count.nupkg"
[ -f "$pkg" ] || fail "no $pkg (have: $(ls "$work/feed"))"
# The listing goes to a variable first: `| grep -q` would close the pipe early and fail the pipeline (pipefail).
listing=$(python3 -m zipfile -l "$pkg") || fail "cannot list $pkg"
grep -q 'libw7rec.so' <<< "$listing" || fail "the package lacks libw7rec.so"

dotnet tool install --tool-path "$work/tools" --add-source "$work/feed" Win7Proc.Offline --version "0.2.$count" >/dev/null || fail "dotnet tool install"
tool="$work/tools/win7proc-offline"
cd "$work"
export DOTNET_EnableDiagnostics=0
out=$("$tool" --version) && grep -q "^0\.2\.$count" <<< "$out" || fail "--version is not 0.2.$count: $("$tool" --version)"
"$tool" "$work/src/samples/seed-story/trace.lz4" -o seed.plog -q || fail "analyse"
out=$("$tool" dump seed.plog --kind nt_create_user_process) && grep -q 'nt_create_user_process' <<< "$out" || fail "dump"
out=$("$tool" procstory seed.plog) && grep -q 'svchost' <<< "$out" || fail "procstory"
"$tool" simulate "$work/src/samples/files/scenario.json" -o files.lz4 -q || fail "simulate"
"$tool" files.lz4 -o files.plog -q || fail "analyse the simulated trace"
say "installed 0.2.$count: analyse, dump, procstory, simulate work"

cd "$work/src"
git -c user.name=test -c user.email=test@example.invalid commit -q --allow-empty -m "a newer commit"
dotnet pack src/Win7Proc.Offline.Cli -c Release -o "$work/feed" -v q -nologo >"$work/pack2.log" 2>&1 || { cat "$work/pack2.log"; fail "second dotnet pack"; }
dotnet tool update --tool-path "$work/tools" --add-source "$work/feed" Win7Proc.Offline >/dev/null || fail "dotnet tool update"
out=$("$tool" --version) && grep -q "^0\.2\.$((count + 1))" <<< "$out" || fail "update did not install 0.2.$((count + 1)): $("$tool" --version)"
say "a new commit packs 0.2.$((count + 1)) and dotnet tool update installs it"
