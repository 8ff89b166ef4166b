#!/usr/bin/env bash
# Every tool answers --help with its usage and --version with the project's
# version, both with exit code 0.   usage: help_version.sh VERSION TOOL...
set -u
version=$1
shift
pass=0
fail=0
# expect NAME FLAG PATTERN COMMAND...: the command exits 0 and prints PATTERN.
expect() {
  local name=$1 flag=$2 pattern=$3
  shift 3
  local out rc
  out=$("$@" "$flag" 2>&1); rc=$?
  if [ $rc -eq 0 ] && grep -qi "$pattern" <<<"$out"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $name $flag: exit $rc, wanted '$pattern': $(head -c 200 <<<"$out")"
    fail=$((fail + 1))
  fi
}
for tool in "$@"; do
  case $tool in
    *.py|*/crust-scenario|*/crust-swarm|*/crust-internet) run=(python3 "$tool") ;;
    *) run=("$tool") ;;
  esac
  expect "$(basename "$tool")" --help "usage\|options" "${run[@]}"
  expect "$(basename "$tool")" --version "$version" "${run[@]}"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
