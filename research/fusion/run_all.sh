#!/bin/sh
# Build and run every variant of the experiment; raw output to stdout.
#   ./run_all.sh > raw/run1.txt      (about 1 minute)
# Extra arguments go to every binary, e.g. ./run_all.sh --rows 10000 --threads 1
set -e
cd "$(dirname "$0")"
make -s all
for b in base avx2 native native512 djvec djvec_native; do
    echo "# $(date +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$b" = base ]; then ./fused_$b --malloc "$@"; else ./fused_$b "$@"; fi
done
echo "# $(date +%T) load: $(cut -d' ' -f1-3 /proc/loadavg)"
