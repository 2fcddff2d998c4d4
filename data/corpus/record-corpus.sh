#!/usr/bin/env bash
# Records the corpus (data/corpus/README.md): each program under
# `maple-vma record` with a minimal environment, in a work directory
# (default /tmp/maple-corpus), then copies trace.strace.xz (xz -9), the
# maps files, cmd.txt and meta.txt into data/corpus/NAME.
#
#   bash data/corpus/record-corpus.sh MAPLE_VMA [NAME...]
set -euo pipefail
corpus=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tool=$(realpath "$1")
shift
all=(python-shm-memfd python-mp-pool make-c-project node-workers java-source-launcher sqlite3-cli
  git-log perl-script sh-pipeline bash-jobs cxx-threads-fork xz-mt)
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${all[@]}")
work=${MAPLE_CORPUS_WORK:-/tmp/maple-corpus}
mkdir -p "$work/home"

# rec NAME CMD...: records CMD in $work/NAME (its stdout dropped).
rec() {
  local name=$1 out=$work/out/$1
  shift
  rm -rf "$out"
  local rc=0
  (cd "$work/$name" && env -i PATH=/usr/bin:/bin HOME="$work/home" LANG=C.UTF-8 \
    "$tool" record -o "$out" -- "$@" >/dev/null) || rc=$?
  echo "$name: exit $rc"
  local dest=$corpus/$name
  rm -f "$dest"/maps.* "$dest"/trace.strace.xz "$dest"/cmd.txt "$dest"/meta.txt
  mkdir -p "$dest"
  cp "$out"/maps.* "$out"/cmd.txt "$out"/meta.txt "$dest"/
  xz -9 -T1 -c "$out/trace.strace" >"$dest/trace.strace.xz"
}

for name in "${names[@]}"; do
  rm -rf "${work:?}/$name"
  mkdir -p "$work/$name"
  [[ -d $corpus/$name/workload ]] && cp -r "$corpus/$name/workload/." "$work/$name/"
  cd "$work/$name"
  case $name in
    python-shm-memfd) rec "$name" /usr/bin/python3 shm_memfd.py ;;
    python-mp-pool) rec "$name" /usr/bin/python3 mp_pool.py ;;
    make-c-project) rec "$name" make -j2 ;;
    node-workers) rec "$name" node workers.js ;;
    java-source-launcher) rec "$name" java Hello.java ;;
    sqlite3-cli) rec "$name" sqlite3 test.db ".read workload.sql" ;;
    git-log)
      sh gen-repo.sh "$work/$name/repo" >/dev/null
      rec "$name" git -C repo log --stat -n 300
      ;;
    perl-script) rec "$name" perl words.pl ;;
    sh-pipeline)
      rec "$name" dash -c 'seq 1 50000 | sort -rn | uniq | head -n 3; ls -l /usr/lib | wc -l; x=$(grep -c ID /etc/os-release); echo "$x"'
      ;;
    bash-jobs) rec "$name" bash jobs.sh ;;
    cxx-threads-fork)
      g++ -O2 -pthread threads_fork.cpp -o threads_fork
      rec "$name" ./threads_fork
      ;;
    xz-mt)
      sh gen-input.sh input.txt
      rec "$name" xz -T2 -1 -k -f input.txt
      ;;
    *) echo "unknown corpus entry $name" >&2 && exit 2 ;;
  esac
done
