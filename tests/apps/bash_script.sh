# Run as `bash-static bash_script.sh` (Debian's bash-static) from / on Mica and from a scratch
# root on the host (tests/apps/CMakeLists.txt): traps (EXIT, INT, USR1, ERR), signals to the
# shell itself, subshells, command substitution and pipelines of builtins. Only builtins: no
# other program is in the guest.
trap 'echo "EXIT trap: status $?"' EXIT
echo "bash $BASH_VERSINFO: traps and subshells"

trap 'echo "caught INT"' INT
kill -INT $$
echo "after INT"
trap 'echo "caught USR1 (signal $1)"' USR1
kill -USR1 $$
kill -s USR1 $$
trap -p USR1
trap - USR1
trap '' TERM
kill -TERM $$
echo "ignored TERM: survived"
trap 'echo "ERR trap for status $?"' ERR
false
trap - ERR

echo "-- subshells"
x=outer
(x=inner; echo "in the subshell: x=$x, BASH_SUBSHELL=$BASH_SUBSHELL")
echo "after: x=$x"
( exit 12 )
echo "subshell status $?"
(trap 'echo "subshell EXIT trap"' EXIT; echo "subshell body")
captured=$(echo one; (echo two; (echo three)))
echo "captured:" $captured
echo "nested substitution: $(echo "a$(echo "b$(echo c)")")"
echo "the subshell's \$\$ is the parent's: $( [ "$(echo $$)" = "$$" ] && echo yes || echo no)"

echo "-- pipelines"
printf '%s\n' pear apple fig apple banana | while read -r fruit; do echo "${#fruit} $fruit"; done | {
  total=0
  while read -r len name; do total=$((total + len)); done
  echo "total letters: $total"
}
set -o pipefail
false | true
echo "pipefail status: $?"
set +o pipefail
true | false | true
echo "PIPESTATUS: ${PIPESTATUS[*]}"
lines=0
# (Process substitution, < <(...), needs /dev/fd, which Mica does not have yet: a here-string
# of a command substitution reads the same lines.)
while read -r line; do lines=$((lines + 1)); done <<< "$(for i in {1..50}; do echo "$i"; done)"
echo "command substitution lines: $lines"
declare -A colors=([red]=1 [green]=2)
echo "associative array keys: $(printf '%s\n' "${!colors[@]}" | { mapfile -t k; IFS=,; echo "${#k[@]}"; })"
echo "arithmetic: $(( (6 * 7) % 10 )), string: ${x^^}"
exit 3
