#!/bin/sh
# What GCC vectorized in fused.c, per flag set, with the source line.
#   ./vecinfo.sh
cd "$(dirname "$0")"
for flags in "" "-march=native"; do
    echo "== gcc -O3 -fno-math-errno -ffp-contract=off -fopenmp $flags"
    gcc -O3 -fno-math-errno -ffp-contract=off -fopenmp $flags -fopt-info-vec-optimized \
        -c fused.c -o /dev/null 2>&1 |
    sed -n 's/^fused.c:\([0-9]*\):[0-9]*: optimized: \(.*\)/\1 \2/p' | sort -n -u |
    while read -r line what; do
        printf '%5s %-55s | %s\n' "$line" "$what" "$(sed -n "${line}p" fused.c | sed 's/^ *//' | cut -c1-60)"
    done
done
