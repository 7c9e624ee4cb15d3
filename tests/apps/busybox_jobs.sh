# Run as `busybox sh busybox_jobs.sh` (tests/apps/CMakeLists.txt): background jobs that run
# alongside the shell, `wait`, killing a background sleep, and a pipeline whose writer
# produces more than a pipe holds (64 KiB). These need processes that run side by side
# (MICA_PROCESS_TESTS). Output is the same whatever the order the jobs ran in.
dir=${TMPDIR:-/tmp}/bbjobs
rm -rf "$dir"
mkdir -p "$dir"
echo "busybox sh: jobs"

echo "-- background jobs and wait"
for i in 1 2 3 4; do
  (seq 1 $((i * 1000)) | wc -l > "$dir/job$i") &
done
wait
cat "$dir/job1" "$dir/job2" "$dir/job3" "$dir/job4"
(exit 7) &
pid=$!
wait $pid
echo "wait for one job: status $?"
sleep 0.2 &
sleep 0.1 &
wait
echo "two sleeps waited for"

echo "-- killing a background sleep"
# The shell reports a job killed by a signal ("Terminated", "Hangup") on its stderr only when
# `wait` is what reaps it; if the child dies and its SIGCHLD arrives before `wait` starts (on
# one CPU the killed child runs and dies within kill(): always, on Linux too), the shell reaps
# it quietly at the end of `kill`. So those reports go to /dev/null; the status is the check.
sleep 30 &
pid=$!
kill $pid
wait $pid 2>/dev/null
echo "killed sleep: status $?"
# (Not SIGINT: a non-interactive shell's background job ignores it once it has set that up,
# so whether SIGINT kills it depends on which comes first, on Linux too.)
sleep 30 &
pid=$!
kill -HUP $pid
wait $pid 2>/dev/null
echo "hung-up sleep: status $?"
kill -0 $pid 2>/dev/null || echo "it is gone"

echo "-- the shell takes a signal while waiting"
trap 'echo caught USR1 while waiting' USR1
(sleep 0.2; kill -USR1 $$) &
helper=$!
sleep 1 &
wait $!
wait $helper
wait
echo "waited"

echo "-- pipelines larger than a pipe"
seq 1 100000 | cat | tr 0 o | sed 's/^1/one/' | sort | uniq | wc -l | cat
seq 1 20000 | sed 's/$/ padding to make the lines longer than before/' | cat | cat | cat | cat | cat | wc -c
seq 1 100000 | head -n 3
echo "the writer ended by SIGPIPE after head: $(seq 1 1000000 | head -n 1 > /dev/null; echo ok)"

echo "-- a reader that waits for a writer"
# (Through a pipe: Mica has no named FIFOs yet - mknod of a FIFO is ENOSYS.)
(sleep 0.1; echo "through the pipe") | cat
wait
echo "-- /proc of a background job"
sleep 30 &  # long enough to be killed: a 1 s sleep could end first on a loaded machine
job=$!
[ -d /proc/$job ] && echo "its directory: yes"
[ "$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$job/status)" = "$$" ] && echo "its parent is this shell: yes"
[ "$(cut -d' ' -f5 /proc/$job/stat)" = "$(cut -d' ' -f5 /proc/$$/stat)" ] && echo "same process group: yes"
kill $job
wait $job 2>/dev/null
echo "killed: status $?"
[ -d /proc/$job ] || echo "gone once waited for: yes"
rm -rf "$dir"
echo done
