#!/usr/bin/env bash
# Wall time of a few programs run bare and under `maple-vma record` (with
# strace --seccomp-bpf, the default, and with --no-seccomp): the median of
# N runs each (docs/mm.md "Recording a trace").
#
#   bash tools/maple-vma/record-overhead.sh build/release/tools/maple-vma [N]
set -euo pipefail
tool=$(realpath "$1")
runs=${2:-5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/maple-rec-ovh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cat >small.c <<'C'
#include <stdio.h>
#include <stdlib.h>
struct node { long key; struct node *next; };
int main(int argc, char **argv) {
  struct node *head = NULL;
  for (int i = 0; i < 1000; ++i) {
    struct node *n = malloc(sizeof *n);
    n->key = i * argc;
    n->next = head;
    head = n;
  }
  long sum = 0;
  for (struct node *n = head; n; n = n->next) sum += n->key;
  printf("%ld %s\n", sum, argv[0]);
  return 0;
}
C
programs=(
  "python3|/usr/bin/python3 -c 'import json; json.dumps(list(range(200000)))'"
  "gcc -O2|gcc -O2 -c small.c -o small.o"
  "sh pipeline|sh -c 'seq 1 200000 | sort -n | uniq | wc -l >/dev/null'"
  "node -e|node -e 'let a = []; for (let i = 0; i < 1e6; i++) a.push({i}); '"
  "java -version|java -version"
)
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# time_of MODE COMMAND: one run's wall seconds.
time_of() {
  local mode=$1 cmd=$2 t0 t1
  rm -rf rec
  t0=$(now)
  case $mode in
    bare) bash -c "exec $cmd" >/dev/null 2>&1 || true ;;
    seccomp) "$tool" record -o rec --quiet -- bash -c "exec $cmd" >/dev/null 2>&1 || true ;;
    plain) "$tool" record -o rec --quiet --no-seccomp -- bash -c "exec $cmd" >/dev/null 2>&1 || true ;;
  esac
  t1=$(now)
  echo "$t1 - $t0" | bc
}
echo "| program | bare (s) | record (s) | ratio | record --no-seccomp (s) | ratio | trace lines | snapshots |"
echo "|---|---|---|---|---|---|---|---|"
for p in "${programs[@]}"; do
  name=${p%%|*}
  cmd=${p#*|}
  declare -A med=()
  for mode in bare seccomp plain; do
    for _ in $(seq "$runs"); do time_of "$mode" "$cmd"; done | median >"$tmp/m"
    med[$mode]=$(cat "$tmp/m")
    if [[ $mode == seccomp ]]; then
      lines=$(wc -l <rec/trace.strace)
      snaps=$(find rec -name 'maps.*' | wc -l)
    fi
  done
  printf '| %s | %.3f | %.3f | %.1fx | %.3f | %.1fx | %s | %s |\n' "$name" "${med[bare]}" \
    "${med[seccomp]}" "$(echo "${med[seccomp]} / ${med[bare]}" | bc -l)" "${med[plain]}" \
    "$(echo "${med[plain]} / ${med[bare]}" | bc -l)" "$lines" "$snaps"
done
