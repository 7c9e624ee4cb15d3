# Run as `busybox sh busybox_signals.sh` from / on Mica and from a scratch root on the host
# (tests/apps/CMakeLists.txt): traps and signals to the shell itself, command substitution,
# subshells and an 8-stage pipeline whose data fits in a pipe. Nothing here needs two
# processes to run at the same time (see busybox_jobs.sh for that).
trap 'echo "EXIT trap, status $?"' EXIT
echo "busybox sh: signals"

trap 'echo caught USR1' USR1
kill -USR1 $$
echo "after kill -USR1"
trap 'echo caught USR2; usr2=yes' USR2
kill -s USR2 $$
echo "usr2 handled: $usr2"
trap - USR2
trap '' HUP
kill -HUP $$
echo "ignored HUP: survived"
trap 'echo "caught TERM"' TERM
kill -TERM $$
echo "after TERM"
trap 'echo "caught INT"' INT
kill -INT $$
echo "after INT"

echo "-- command substitution and subshells"
inner=$(echo "from a subshell"; exit 4)
echo "captured: $inner"
nested=$(echo "outer $(echo "inner $(echo deepest)")")
echo "nested: $nested"
(x=changed; echo "in the subshell x=$x"; exit 6)
echo "subshell status $?, x=${x:-unset}"
echo "subshell exit status of false: $(false; echo $?)"
count=$( (echo a; echo b; echo c) | wc -l)
echo "lines from a subshell through a pipe: $count"

echo "-- an 8-stage pipeline"
result=$(echo "pear apple fig apple Banana fig kiwi apple" | cat | tr ' ' '\n' | sed 's/Banana/banana/' | sort | uniq | wc -l | cat)
echo "distinct fruit: $result"
echo "pear apple fig apple banana fig kiwi apple" | tr ' ' '\n' | sort | uniq -c | sort -rn | sed -n '1p' | tr -s ' ' | cat
echo "pipeline status is the last command's: $(true | false; echo $?)"
echo "! negates: $(! false; echo $?)"

echo "-- functions and status"
f() { echo "in f with $#: $*"; return 9; }
f one two three
echo "f returned $?"
exit 5
