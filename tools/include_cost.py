#!/usr/bin/env python3
"""What including zoa costs a user's translation unit: compile wall time and the compiler's peak RSS (stdlib only).

Two translation units, each compiled with `g++ -std=c++17 -O2 -march=native -c` (the flags docs/building.md
recommends for applications):
  bare        a file holding only `#include <zoa/zoa.hpp>`
  quickstart  examples/quickstart.cpp (load a quantized ViT, stream three corruptions, adapt with ZOA)
For each TU and each tree (the working tree, and with --before REV a git revision, checked out by `git archive`
into a temporary directory), REPEAT compiles, interleaved (before, after, before, after, ...) so that load on a
shared machine hits both sides alike. Reported: CPU seconds (user + system of the driver and cc1plus, from wait4:
what a user waits for on an idle machine, and much less sensitive to other jobs than wall time), median and
minimum; median wall seconds; peak RSS; g++'s own count of the memory it allocated (the TOTAL of -ftime-report, from
one more compile that is not timed: the same on every run and under any load, so it shows a change even on a busy
machine); and the load average before and after.

With --pch, each TU is also compiled the way a project with a precompiled header compiles it (CMake's
`target_precompile_headers(app PRIVATE <zoa/zoa.hpp> ...)`): the TU's own zoa #include lines are compiled once into a
precompiled header with the same flags (its build time is reported: paid once per build directory and flags), then
the TU is compiled with `-include` of that header, interleaved with the plain compiles. With g++ the untimed compile
checks (-H) that the compiler really used the .gch.

usage: tools/include_cost.py [--before REV] [--repeat N] [--pch] [--cxx g++] [--flags "-O2 -march=native"]
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compile_once(cmd):
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) of one compiler run (wait4's rusage covers the
    driver's children: cc1plus, as) and the memory g++ allocated (MB, -ftime-report's TOTAL; None for other
    compilers), and the compiler's output."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.time() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("include_cost: compile failed: %s\n%s" % (" ".join(cmd), out.decode(errors="replace")))
    allocated = None
    for line in out.decode(errors="replace").splitlines():  # " TOTAL : 3.10 1.75 5.20 466M"
        if line.strip().startswith("TOTAL") and line.split()[-1][-1] in "kMG":
            v = line.split()[-1]
            allocated = float(v[:-1]) * {"k": 1 / 1024, "M": 1, "G": 1024}[v[-1]]
    return secs, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, allocated, out.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", help="a git revision to compare with (e.g. 71053fe)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pch", action="store_true",
                    help="also compile each TU with a precompiled header of its zoa includes")
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--flags", default="-O2 -march=native")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="zoa-include-cost-") as tmp:
        tmp = Path(tmp)
        trees = []
        if args.before:
            before = tmp / "before"
            before.mkdir()
            archive = subprocess.run(["git", "archive", args.before, "include", "examples/quickstart.cpp"], cwd=ROOT,
                                     stdout=subprocess.PIPE, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
            trees.append(("before " + args.before, before))
        trees.append(("working tree", ROOT))
        (tmp / "bare.cpp").write_text("#include <zoa/zoa.hpp>\n")
        tus = [("bare #include <zoa/zoa.hpp>", lambda tree: tmp / "bare.cpp"),
               ("examples/quickstart.cpp", lambda tree: tree / "examples" / "quickstart.cpp")]
        print("load before: %s" % open("/proc/loadavg").read().split()[:3])
        print("%s -std=c++17 %s -c, %d runs per cell, interleaved" % (args.cxx, args.flags, args.repeat))
        for tu_name, tu in tus:
            base = [args.cxx, "-std=c++17", *shlex.split(args.flags)]
            cells = [(name, tree, ["-I", str(tree / "include")]) for name, tree in trees]  # (label, tree, flags)
            if args.pch:  # each tree again, through a precompiled header of the TU's zoa includes
                suffix = ".pch" if "clang" in args.cxx else ".gch"
                for index, (name, tree) in enumerate(trees):
                    pdir = tmp / ("pch%d-%s" % (index, Path(tu(tree)).stem))
                    pdir.mkdir(exist_ok=True)
                    lines = [re.sub(r"\s*//.*", "", l) for l in tu(tree).read_text().splitlines()
                             if re.match(r'#include [<"]zoa/', l)]
                    (pdir / "zoa_pch.hpp").write_text("\n".join(lines) + "\n")
                    inc = ["-I", str(tree / "include")]
                    pch_file = pdir / ("zoa_pch.hpp" + suffix)
                    _, cpu, rss, _, _ = compile_once(base + inc + ["-x", "c++-header", str(pdir / "zoa_pch.hpp"),
                                                                   "-o", str(pch_file)])
                    print("%-28s %-20s precompiled header of its %d zoa includes: CPU %5.2f s, peak RSS %4.0f MB, "
                          "%4.0f MB on disk" % (tu_name, name, len(lines), cpu, rss, pch_file.stat().st_size / 2**20),
                          flush=True)
                    cells.append((name + " +pch", tree,
                                  ["-I", str(pdir)] + inc + ["-include", "zoa_pch.hpp", "-Winvalid-pch"]))
            results = {name: [] for name, _, _ in cells}
            for _ in range(args.repeat):
                for name, tree, extra in cells:
                    results[name].append(compile_once(base + extra + ["-c", str(tu(tree)), "-o", str(tmp / "out.o")]))
            allocated = {}
            for name, tree, extra in cells:  # one more compile per cell, untimed: -ftime-report costs time
                allocated[name] = None
                if "clang" not in args.cxx:
                    pch = name.endswith("+pch")
                    cmd = base + extra + ["-c", str(tu(tree)), "-o", str(tmp / "out.o"), "-ftime-report"]
                    _, _, _, allocated[name], out = compile_once(cmd + (["-H"] if pch else []))
                    # g++ -H marks a precompiled header it used with "!"
                    if pch and not any(l.startswith("! ") and l.endswith("zoa_pch.hpp.gch") for l in out.splitlines()):
                        sys.exit("include_cost: %s did not use its precompiled header:\n%s" % (tu_name, out[-2000:]))
            for name, _, _ in cells:
                wall = [r[0] for r in results[name]]
                cpu = [r[1] for r in results[name]]
                rss = max(r[2] for r in results[name])
                print("%-28s %-25s CPU median %5.2f s (min %5.2f)  wall median %5.1f s  peak RSS %4.0f MB%s"
                      % (tu_name, name, statistics.median(cpu), min(cpu), statistics.median(wall), rss,
                         "" if allocated[name] is None else "  allocated %4.0f MB" % allocated[name]), flush=True)
        print("load after: %s" % open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
