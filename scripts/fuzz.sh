#!/usr/bin/env bash
# fuzz.sh [TARGET...]: builds the libFuzzer targets (fuzz/, clang-14, into build/fuzz) and runs
# each for a bounded time, starting from a scratch copy of its seed corpus fuzz/corpus/<target>
# (the repository's corpus is never written). Fails if any target crashes, leaks, times out or
# breaks an invariant, and prints the input that did it. Without arguments: every target.
# Env: NEWSPUSH_FUZZ_SECONDS  seconds per target (default 12)
#      NEWSPUSH_BUILD_JOBS    build jobs (default: the cores)
# One target longer:  NEWSPUSH_FUZZ_SECONDS=600 scripts/fuzz.sh command
# Replay one input:   build/fuzz/fuzz/command_fuzz path/to/input
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/deps.sh" fuzz

seconds="${NEWSPUSH_FUZZ_SECONDS:-12}"
all=(api_request article command cursor messages notification origin redis_url static_path
     stream_query terminal_text token trending_payload web_push websocket)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

# Longest input worth trying: a little over what each parser meets in practice, so that time goes
# into structure rather than into megabytes of filler.
max_len() {
  case "$1" in
    cursor) echo 192 ;;
    redis_url | origin | static_path) echo 512 ;;
    command | messages | terminal_text) echo 2048 ;;
    *) echo 4096 ;;
  esac
}
dict_of() {
  case "$1" in
    article | command | notification | trending_payload | messages | terminal_text | web_push) echo json ;;
    *) echo "$1" ;;
  esac
}

"$root/scripts/build.sh" fuzz

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1"
if [ -x /usr/bin/llvm-symbolizer-14 ]; then export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14; fi

# Scratch space, kept after a failure so the crash input stays where the message says.
runs="$root/build/fuzz/runs"
rm -rf "$runs"
failed=()
for target in "${targets[@]}"; do
  bin="$root/build/fuzz/fuzz/${target}_fuzz"
  [ -x "$bin" ] || { echo "fuzz.sh: unknown target '$target' (have: ${all[*]})" >&2; exit 2; }
  work="$runs/$target"
  mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
  cp -R "$root/fuzz/corpus/$target/." "$work/corpus/"
  dict="$root/fuzz/dict/$(dict_of "$target").dict"
  dict_flag=()
  [ -f "$dict" ] && dict_flag=("-dict=$dict")
  start=$(date +%s)
  status=0
  # The seed inputs run first, so a crash input added to the corpus is a regression test too.
  TMPDIR="$work/tmp" "$bin" "$work/corpus" "${dict_flag[@]}" -max_total_time="$seconds" \
    -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" >"$work/log" 2>&1 || status=$?
  stats="$(grep -E '^#[0-9]+.*(DONE|INITED)' "$work/log" | tail -1 | sed -E 's/ +/ /g' || true)"
  if [ "$status" -ne 0 ]; then
    echo "=== fuzz $target: FAILED (exit $status) after $(( $(date +%s) - start )) s ==="
    grep -E 'ERROR|invariant broken|runtime error|SUMMARY' "$work/log" | head -5 || true
    for input in "$work"/artifacts/*; do [ -e "$input" ] && echo "input: $input"; done
    echo "log: $work/log"
    failed+=("$target")
  else
    echo "=== fuzz $target: ok in $(( $(date +%s) - start )) s: $stats ==="
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
rm -rf "$runs"
