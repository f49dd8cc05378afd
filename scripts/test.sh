#!/bin/bash
# Runs the whole hyper2kvm test suite, as CI does (.ci/run calls this file):
#   1. installs every Debian package the project needs (scripts/install-deps.sh)
#   2. checks the C sources' format (clang-format, .clang-format)
#   3. builds with -Werror under ASan+UBSan and runs every unit and integration
#      test with CTest, corpus guest 1 included (a missing tool fails a test;
#      nothing is skipped; the other corpus guests are labelled outside-ci)
#   4. builds with ThreadSanitizer and runs the tests labelled "threads"
#      (batches, parallel copies, cancellation, kills and signals)
#   5. runs the unit tests under valgrind on a build without sanitizers
#   6. builds the libFuzzer targets with clang and runs each over its corpus
#      for a bounded time
#   7. builds the release library and the API reference (Doxygen, warnings
#      are errors), checks the exported ABI against abi/libhyper2kvm.abi
#      (abidiff), installs both into a staging prefix and compiles examples/
#      against it through pkg-config
# usage: scripts/test.sh [--quick]   (--quick: steps 1-3 only)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
out=${H2K_BUILD_ROOT:-$top/build-ci}
mkdir -p "$out"

step() { printf '\n=== %s\n' "$*"; }

step "installing dependencies"
bash scripts/install-deps.sh

step "format (clang-format)"
bash scripts/format-check.sh

step "build (ASan+UBSan, -Werror) and test"
cmake -S . -B "$out/asan" -DCMAKE_BUILD_TYPE=Debug -DH2K_WERROR=ON -DH2K_SANITIZE=ON >/dev/null
cmake --build "$out/asan" -j"$jobs"
(cd "$out/asan" && ctest --output-on-failure -j"$jobs" -LE outside-ci --timeout 2400)

[ "$quick" = 1 ] && exit 0

step "ThreadSanitizer build: the tests that run several threads"
cmake -S . -B "$out/tsan" -DCMAKE_BUILD_TYPE=Debug -DH2K_WERROR=ON -DH2K_TSAN=ON >/dev/null
cmake --build "$out/tsan" -j"$jobs"
(cd "$out/tsan" && ctest --output-on-failure -j"$jobs" -L threads --timeout 1200)

step "unit tests under valgrind"
cmake -S . -B "$out/valgrind" -DCMAKE_BUILD_TYPE=Debug -DH2K_WERROR=ON \
    "-DH2K_TEST_WRAPPER=valgrind;--quiet;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite;--track-fds=no" >/dev/null
cmake --build "$out/valgrind" -j"$jobs"
(cd "$out/valgrind" && ctest --output-on-failure -j"$jobs" -L unit)

step "fuzz targets (libFuzzer, bounded runs over the corpus)"
CC=clang cmake -S . -B "$out/fuzz" -DCMAKE_BUILD_TYPE=Debug -DH2K_FUZZ=ON \
    -DH2K_BUILD_TESTS=OFF >/dev/null
cmake --build "$out/fuzz" -j"$jobs"
bash scripts/run-fuzzers.sh "$out/fuzz" "${H2K_FUZZ_SECONDS:-10}"

step "release build, API reference, ABI check"
cmake -S . -B "$out/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DH2K_WERROR=ON \
    -DH2K_BUILD_TESTS=OFF -DH2K_DOCS=ON -DCMAKE_INSTALL_PREFIX="$out/prefix" >/dev/null
cmake --build "$out/release" -j"$jobs"
bash scripts/abi-check.sh "$out/release/src/libhyper2kvm.so"

step "install and build examples against the installed library"
cmake --install "$out/release" >/dev/null
test -f "$out/prefix/share/doc/hyper2kvm/html/index.html"
bash scripts/build-examples.sh "$out/prefix"

echo
echo "all test steps passed"
