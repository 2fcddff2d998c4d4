# bash: functions, a subshell, command substitution, a pipeline, background
# jobs and wait (every one a fork of bash; external commands exec'd).
f() { local n=$1; echo $((n * n)); }
total=0
for i in 1 2 3 4 5; do total=$((total + $(f "$i"))); done
(cd /usr/lib && ls | head -n 3 >/dev/null)
sort -n <<<"$(seq 1 2000 | tac)" | tail -n 1 >/dev/null &
seq 1 5000 | grep -c 7 >/dev/null &
wait
echo "total $total"
