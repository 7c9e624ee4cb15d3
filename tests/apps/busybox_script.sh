# Run as `busybox sh busybox_script.sh` from / on Mica and from a scratch root on the host
# (tests/apps/CMakeLists.txt), with the same busybox; the outputs must be identical.
# Everything it writes is under $TMPDIR/bbtest (TMPDIR is /tmp on Mica).
set -e
dir=${TMPDIR:-/tmp}/bbtest
rm -rf "$dir"
mkdir -p "$dir/sub/deeper"
echo "hello from busybox sh"

echo "one two three" > "$dir/a.txt"
echo "appended line" >> "$dir/a.txt"
cat "$dir/a.txt"
echo "lines in a.txt: $(wc -l < "$dir/a.txt")"
for fruit in pear apple fig banana apple; do echo "$fruit"; done > "$dir/fruit.txt"

echo "-- sort"
sort "$dir/fruit.txt"
echo "-- sort -u | wc -l"
sort -u "$dir/fruit.txt" | wc -l
echo "-- grep"
grep -c apple "$dir/fruit.txt"
grep -n an "$dir/fruit.txt"
grep -q kiwi "$dir/fruit.txt" || echo "no kiwi"
echo "-- sed"
sed -e 's/apple/APPLE/' -e '/fig/d' "$dir/fruit.txt"
echo "-- pipeline on data/words.txt"
grep -v '^#' data/words.txt | sort | uniq -c | sed -n '1,4p'
echo "-- wc"
wc -w < data/words.txt
echo "-- a pipeline larger than a pipe (64 KiB)"
seq 1 50000 | wc -lc

echo "-- ls"
touch "$dir/sub/file1" "$dir/sub/file2"
ls -1 "$dir"
ls -1 "$dir/sub"
echo "-- rm"
rm "$dir/a.txt"
rm -r "$dir/sub/deeper"
cd "$dir"
ls -1 . sub
cd ..
rm -r "$dir"
if [ -d "$dir" ]; then echo "$dir still there"; else echo "bbtest removed"; fi

status=$(false || echo $?)
echo "status of false: $status"
echo "arithmetic: $((6 * 7))"
exit 3
