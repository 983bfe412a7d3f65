#!/bin/bash
# `make fuzz`: builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) in BUILD_DIR
# and runs each for SECONDS, starting from the seed corpus in tests/fuzz/corpus/<target>. New
# inputs go to BUILD_DIR/corpus/<target> (the repo's corpus is only read); crashes to
# BUILD_DIR/artifacts/. Prints executions and exec/s per target; exits non-zero if any target
# crashed (or failed to run).
#   usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]    (FUZZ_FLAGS: extra libFuzzer flags)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(handshake data uapi pi_header vnet netlink decompress config tcp_frame l2)
jobs=${JOBS:-2}
cxx=${FUZZ_CXX:-clang++-14}
cc=${FUZZ_CC:-clang-14}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=$cc CXX=$cxx cmake -S . -B "$build" -DTUNDRA_FUZZ=ON -DTUNDRA_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}" >"$build/fuzz_build.log" 2>&1 || {
  tail -30 "$build/fuzz_build.log" >&2
  exit 1
}

status=0
results=()
mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  log="$build/fuzz_$t.log"
  echo "fuzz: $t for ${seconds}s" >&2
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" ${FUZZ_FLAGS:-} \
    "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    status=1
    results+=("$(printf '%-10s FAILED (exit %d): see %s' "$t" "$rc" "$log")")
    grep -E "ERROR|check failed|SUMMARY|Test unit written" "$log" | head -5 >&2
  else
    results+=("$(printf '%-10s %12s execs %8s exec/s' "$t" "${execs:-?}" "${rate:-?}")")
  fi
done
echo "fuzz: ${seconds}s per target"
printf '%s\n' "${results[@]}"
exit $status
