#!/bin/bash
# The unit and in-process integration tests under AddressSanitizer + UndefinedBehaviorSanitizer
# (with LeakSanitizer), then the threaded in-process suites under ThreadSanitizer. Any report
# fails the run (-fno-sanitize-recover, halt_on_error). Used by `make sanitize` and CI.
set -euo pipefail
jobs=${JOBS:-$(nproc)}
werror=${WERROR:-OFF}

cmake -S . -B build-asan -DTUNDRA_SANITIZE=address+undefined -DTUNDRA_WERROR="$werror" >/dev/null
cmake --build build-asan -j "$jobs"
(
  cd build-asan
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest -L 'unit|integration' -E format_check --output-on-failure -j "$jobs"
)

# The suites whose code runs on several threads: the device's data/control threads over the
# fake TUN and bind, the UAPI server (its connections and Stop), the bridge, the L2 MAC table and
# the TCP transport (senders on several threads while its loop runs).
tsan_tests=(device_integration_test uapi_server_test bridge_test cli_hook_runner_test l2_test
  tcp_transport_test)
cmake -S . -B build-tsan -DTUNDRA_SANITIZE=thread -DTUNDRA_WERROR="$werror" >/dev/null
cmake --build build-tsan -j "$jobs" --target "${tsan_tests[@]}"
(
  cd build-tsan
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  ctest -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$" --output-on-failure -j "$jobs"
)
