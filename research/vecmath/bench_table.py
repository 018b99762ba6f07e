"""Run every bench_<variant> binary a few times (this VM is noisy) and print
the per-line minimum as a markdown table: rows = loops, columns = builds.

    make && python3 bench_table.py [repeats]
"""
import re
import subprocess
import sys

BUILDS = [("sse2", "SSE2 (baseline)"), ("avx2", "-mavx2 -mfma"),
          ("avx512", "-mavx512f/dq/vl"), ("t512", "target(avx512) attr"),
          ("t2", "target(avx2,fma) attr")]
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
best = {}
order = []
for b, _ in BUILDS:
    for _ in range(reps):
        out = subprocess.run([f"./bench_{b}"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.match(r"(.*?)\s+([\d.]+) ns/elem", line)
            name, v = m.group(1).strip(), float(m.group(2))
            if name not in order:
                order.append(name)
            best[(name, b)] = min(best.get((name, b), 1e9), v)
print("| ns/element (min of %d runs) | " % reps + " | ".join(h for _, h in BUILDS) + " |")
print("|---|" + "---:|" * len(BUILDS))
for name in order:
    print(f"| {name} | " + " | ".join(f"{best[(name, b)]:.2f}" for b, _ in BUILDS) + " |")
