"""Markdown tables from raw outputs of the fused_* binaries.

    python3 table.py raw/run1.txt raw/run2.txt [...]            # every build, per rows x threads
    python3 table.py --compact raw/run1.txt raw/run2.txt [...]  # RESULTS.md's tables

Each line `build variant rows threads median_us ns_per_row min_us reps maxdiff`;
a cell shows the median (us) of each run, "r1 / r2", and the ns-per-row table
the mean of the runs.
"""
import sys
from collections import defaultdict

compact = "--compact" in sys.argv
runs = []
for path in [a for a in sys.argv[1:] if a != "--compact"]:
    d = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        d[(f[0], f[1], int(f[2]), int(f[3]))] = float(f[4])
    runs.append(d)

keys = set().union(*runs)
builds = [b for b in ("base", "avx2", "native", "native512", "djvec", "djvec_native")
          if any(k[0] == b for k in keys)]
variants = []
for k in sorted(keys, key=lambda k: k[1]):
    if k[1] not in variants:
        variants.append(k[1])
order = ["1_aos", "1m_aos_malloc", "2_soa", "3_chunk64", "3_chunk256", "3_chunk1024", "3a_aos_chunk64", "3a_aos_chunk256", "3a_aos_chunk1024",
         "4_fused_scalar", "4v_fused_vec", "4vg_fused_vec_opaque", "values_only", "libm_only"]
variants = [v for v in order if v in variants] + [v for v in variants if v not in order]
rows_list = sorted({k[2] for k in keys})
threads_list = sorted({k[3] for k in keys})

def print_variant_table(title, cell):
    """A markdown table: one row per variant, one column per build; cell(build, variant)
    gives the text ("-" when missing); rows with no data are left out."""
    print(title)
    print("| variant | " + " | ".join(builds) + " |")
    print("|---|" + "---|" * len(builds))
    for v in variants:
        cells = [cell(b, v) for b in builds]
        if any(c.strip("- /") for c in cells):
            print(f"| {v} | " + " | ".join(cells) + " |")


def full_tables():
    for rows in rows_list:
        for nt in threads_list:
            def per_call(b, v):
                vals = [r.get((b, v, rows, nt)) for r in runs]
                return " / ".join("-" if x is None else f"{x:.0f}" if x >= 100 else f"{x:.1f}"
                                  for x in vals)

            def per_row(b, v):
                vals = [r[(b, v, rows, nt)] for r in runs if (b, v, rows, nt) in r]
                return f"{sum(vals) / len(vals) * 1e3 / rows:.1f}" if vals else "-"

            print_variant_table(f"\n**{rows} rows, {nt} thread{'s' if nt > 1 else ''}** — median us "
                                "per call (run 1 / run 2)\n", per_call)
            print_variant_table(f"\nns per row (mean of runs), {rows} rows, {nt} thread(s)\n", per_row)


def compact_tables():
    cols = [(b, t) for t in threads_list for b in ("base", "native", "djvec", "djvec_native")]
    for rows in rows_list:
        print(f"\n**{rows} rows** — median us per call, run 1 / run 2; last column: ns per row of "
              f"djvec_native, 1 thread (mean of runs)\n")
        print("| variant | " + " | ".join(f"{b} {t}T" for b, t in cols) + " | ns/row |")
        print("|---|" + "---:|" * (len(cols) + 1))
        for v in variants:
            cells = []
            for b, t in cols:
                vals = [r.get((b, v, rows, t)) for r in runs]
                cells.append(" / ".join("-" if x is None else f"{x:.0f}" if x >= 100 else f"{x:.1f}"
                                        for x in vals))
            if all(c.strip("- /") == "" for c in cells):
                continue
            ns = [r[("djvec_native", v, rows, 1)] for r in runs if ("djvec_native", v, rows, 1) in r]
            nscell = f"{sum(ns) / len(ns) * 1e3 / rows:.1f}" if ns else "-"
            print(f"| {v} | " + " | ".join(cells) + f" | {nscell} |")


if compact:
    compact_tables()
else:
    full_tables()
