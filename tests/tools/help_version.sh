#!/usr/bin/env bash
# Every tool answers --help with its usage and --version with the project's
# version, both with exit code 0.   usage: help_version.sh VERSION TOOL...
set -u
version=$1
shift
pass=0
fail=0
for tool in "$@"; do
  name=$(basename "$tool")
  case $tool in
    *.py|*/crust-scenario|*/crust-swarm) run=(python3 "$tool") ;;
    *) run=("$tool") ;;
  esac
  out=$("${run[@]}" --help 2>&1); rc=$?
  if [ $rc -eq 0 ] && grep -qi "usage\|options" <<<"$out"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $name --help: exit $rc: $(head -c 200 <<<"$out")"
    fail=$((fail + 1))
  fi
  out=$("${run[@]}" --version 2>&1); rc=$?
  if [ $rc -eq 0 ] && grep -q "$version" <<<"$out"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $name --version: exit $rc, wanted $version: $(head -c 200 <<<"$out")"
    fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
