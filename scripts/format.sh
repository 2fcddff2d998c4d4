#!/usr/bin/env bash
# clang-format (Debian's clang-format 14) with the committed .clang-format.
#
#   bash scripts/format.sh --check [PATH...]   report files that are not formatted; exit 1 if any
#   bash scripts/format.sh [PATH...]           reformat them in place
#
# PATHs are files or directories; the default is every C++ source of
# include/ src/ tests/ bench/ examples/ fuzz/. Environment: MAPLE_CLANG_FORMAT
# (default clang-format-14, else clang-format).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
paths=("$@")
[[ ${#paths[@]} -gt 0 ]] || paths=(include src tests bench examples fuzz tools)

fmt=${MAPLE_CLANG_FORMAT:-}
if [[ -z $fmt ]]; then
  for f in clang-format-14 clang-format; do
    if command -v "$f" >/dev/null 2>&1; then
      fmt=$f
      break
    fi
  done
fi
if [[ -z $fmt ]]; then
  echo "format.sh: clang-format not found (bash scripts/deps.sh installs it)" >&2
  exit 1
fi

files=()
while IFS= read -r f; do files+=("$f"); done < <(
  find "${paths[@]}" -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.hpp' -o -name '*.cc' \) |
    sort)

if [[ $check -eq 0 ]]; then
  "$fmt" -i --style=file "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi

bad=0
for f in "${files[@]}"; do
  if ! "$fmt" --dry-run -Werror --style=file "$f" >/dev/null 2>&1; then
    n=$("$fmt" --style=file "$f" | diff "$f" - | grep -c '^<' || true)
    echo "not formatted: $f ($n lines differ)"
    bad=$((bad + 1))
  fi
done
if [[ $bad -ne 0 ]]; then
  echo "format: $bad of ${#files[@]} files differ from clang-format ($fmt); fix: bash scripts/format.sh PATH..."
  exit 1
fi
echo "format: ${#files[@]} files formatted ($fmt)"
