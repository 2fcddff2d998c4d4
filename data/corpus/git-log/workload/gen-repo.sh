#!/bin/sh
# Generates the repository that `git log --stat` and `git grep` read
# (not recorded): 300 commits over 20 files, then packed.
set -e
repo=$1
rm -rf "$repo"
git init -q "$repo"
cd "$repo"
git config user.email corpus@example.com
git config user.name corpus
for i in $(seq 1 300); do
  f=src/file$((i % 20)).txt
  mkdir -p src
  printf 'line %d of commit %d\n' "$i" "$i" >>"$f"
  git add "$f"
  GIT_AUTHOR_DATE="2024-01-01T00:00:$((i % 60))" GIT_COMMITTER_DATE="2024-01-01T00:00:$((i % 60))" \
    git commit -q -m "commit $i"
done
git gc -q
