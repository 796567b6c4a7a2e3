# Sourced by the script tests: expect NAME WANT_RC PATTERN OUTPUT RC prints "ok" or "FAIL" and
# counts failures in $fails; finish exits non-zero when any check failed.
fails=0
expect() {
  if [ "$5" -ne "$2" ] || ! grep -q -- "$3" <<<"$4"; then
    echo "FAIL $1: rc $5 (want $2), output: $4"; fails=$((fails + 1))
  else echo "ok   $1"; fi
}
finish() { [ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }; }
