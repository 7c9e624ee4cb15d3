# Debian's gawk on Mica (tests/apps/dynamic.cmake), compared with the host's run.
BEGIN { FS = " " }
{ count[$1]++; total += NF; lines[NR] = toupper($0) }
END {
    n = asorti(count, keys)
    for (i = 1; i <= n; i++) printf "%s=%d\n", keys[i], count[keys[i]]
    printf "fields %d lines %d\n", total, NR
    print lines[1]
    print gensub(/([a-z]+)/, "[\\1]", "g", "one two three")
    printf "%.4f %d %s\n", atan2(1, 1) * 4, int(7.9), sprintf("%05d", 42)
    split("c b a", arr); asort(arr); print arr[1] arr[2] arr[3]
}
