#!/usr/bin/env bash
# Replays trace directories with `maple-vma replay DIR --check --html` and
# opens each report in headless Chromium: the page's self-check must pass
# (the figures it renders agree with what it draws), the figures it reads
# back must equal the replay's own --stats, its maps and charts must be SVG
# elements of the rendered DOM, nothing may reach the console, and the
# report must be self-contained and small. The exit status of the replay
# must be the same with and without --html. A screenshot of each report is
# left beside it.
#
#   run_html_report.sh TOOL OUTDIR DIR...          the trace directories
#   run_html_report.sh TOOL OUTDIR --each PARENT   every trace directory in PARENT
#
# Exit 0 all pass, 1 a check failed, 77 skipped (Chromium absent or unable
# to run, or PARENT absent). MAPLE_CHROMIUM: the browser (default chromium).
set -u
tool=$1 out=$2
shift 2
skip() {
  echo "SKIPPED: $*"
  exit 77
}
fail() {
  echo "FAIL: $*"
  failed=1
}

dirs=()
if [ "${1:-}" = "--each" ]; then
  [ -d "${2:-}" ] || skip "trace collection ${2:-} does not exist"
  for d in "$2"/*/; do
    compgen -G "$d/trace.strace*" >/dev/null && dirs+=("${d%/}")
  done
else
  dirs=("$@")
fi
[ ${#dirs[@]} -gt 0 ] || skip "no trace directory"

chromium=${MAPLE_CHROMIUM:-chromium}
command -v "$chromium" >/dev/null 2>&1 || skip "$chromium is not installed"
mkdir -p "$out" || exit 1
profile=$(mktemp -d) || exit 1
trap 'rm -rf "$profile"' EXIT
browse() {  # browse URL ARGS...: headless Chromium, console messages on stderr
  local url=$1
  shift
  timeout 120 "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@" "$url"
}

failed=0 ran=0
for dir in "${dirs[@]}"; do
  name=$(basename "$dir")
  html="$out/$name.html"
  rm -f "$html" "$out/$name.png"
  "$tool" replay "$dir" --check --quiet >/dev/null 2>&1
  rc_plain=$?
  "$tool" replay "$dir" --check --quiet --stats --html "$html" >"$out/$name.stats" 2>/dev/null
  rc=$?
  [ "$rc" = "$rc_plain" ] || fail "$name: exit $rc with --html, $rc_plain without"
  [ -s "$html" ] || {
    fail "$name: no report written (exit $rc)"
    continue
  }
  size=$(stat -c %s "$html")
  [ "$size" -lt $((4 << 20)) ] || fail "$name: report is $size bytes"
  # Self-contained: nothing to fetch.
  if grep -Eiq '<(link|img|iframe|object|embed)[ >]|[ "]src=|url\(|@import' "$html"; then
    fail "$name: the report refers to external resources"
  fi

  # One run: the DOM after the page's scripts ran, and the screenshot.
  browse "file://$html" --dump-dom --hide-scrollbars --window-size=1100,1400 \
    --screenshot="$out/$name.png" >"$out/$name.dom.html" 2>"$out/$name.console.txt"
  dom="$out/$name.dom.html"
  if [ ! -s "$dom" ]; then
    # No DOM at all: the browser did not run (no page makes it print nothing).
    [ $ran = 1 ] || skip "$chromium cannot run headless here: $(tail -n 3 "$out/$name.console.txt")"
    fail "$name: $chromium printed no DOM"
    continue
  fi
  ran=1
  check=$(sed -n '/<div id="selfcheck">/,/<\/div>/p' "$dom")
  grep -q 'self-check: PASS' <<<"$check" || fail "$name: page self-check: ${check:0:600}"
  if grep -E 'CONSOLE|Uncaught' "$out/$name.console.txt"; then
    fail "$name: console messages (above)"
  fi
  # The figures the page rendered = the replay's own --stats.
  sed -n 's/^  mm \([0-9]*\) (pid [0-9]*): \([0-9]*\) VMAs, \([0-9]*\) splits, \([0-9]*\) merges, tree height \([0-9]*\), \([0-9]*\) nodes.*/mm \1 vmas \2 splits \3 merges \4 height \5 nodes \6/p' \
    "$out/$name.stats" | sort >"$out/$name.want"
  grep '^mm [0-9]* vmas ' <<<"$check" | sort >"$out/$name.got"
  [ -s "$out/$name.want" ] || fail "$name: no address space in the --stats output"
  diff "$out/$name.want" "$out/$name.got" >/dev/null ||
    fail "$name: rendered figures differ from --stats: $(diff "$out/$name.want" "$out/$name.got" | head -5)"
  mms=$(grep -c '<section class="mm"' "$dom")
  [ "$mms" = "$(wc -l <"$out/$name.want")" ] || fail "$name: $mms sections"
  maps=$(grep -o '<svg class="map"' "$dom" | wc -l)
  charts=$(grep -o '<svg class="chart"' "$dom" | wc -l)
  if [ "$maps" -eq 0 ] || [ "$charts" -eq 0 ]; then
    fail "$name: $maps maps, $charts charts in the DOM"
  fi
  grep -q '^maps '"$maps"' ' <<<"$check" || fail "$name: the page counted other maps than the DOM has"
  [ -s "$out/$name.png" ] || fail "$name: no screenshot"
  echo "$name: exit $rc, $size bytes, $mms address spaces, $maps maps, $charts charts," \
    "screenshot $out/$name.png"
done
exit $failed
