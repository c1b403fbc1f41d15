#!/usr/bin/env python3
"""docs_check_detects_drift: tools/check_docs.py passes on a tutorial page and fails on the same page with one
printed number changed, naming that line. Two changes of the first percentage in the page's checked output block:
+5 points (detected on any build), and +1 in its last digit (detected on a build for the instruction sets the
numbers were recorded with, where the check is exact; elsewhere the check allows --tolerance and says so).
usage: docs_drift.py BUILD_DIR WORK_DIR"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
build, work = Path(sys.argv[1]), Path(sys.argv[2])
work.mkdir(parents=True, exist_ok=True)
page = (ROOT / "docs" / "tutorials" / "adapt-your-own-network.md").read_text()
# the instruction sets the tutorials' numbers were recorded with (docs/tutorials/README.md) apply to the copies too
sys.path.insert(0, str(ROOT / "tools"))
import check_docs  # noqa: E402  (its page parser finds the marker, not the syntax example in a code block)
recorded = check_docs.Page(ROOT / "docs" / "tutorials" / "README.md").recorded
page = "<!-- check:recorded-with %s -->\n\n" % recorded + page
start = page.index("<!-- check:output")
m = re.compile(r"([0-9]+)\.([0-9]*)([0-9])%").search(page, start)
line = page[page.rfind("\n", 0, m.start()) + 1:page.find("\n", m.end())]
decimals = len(m.group(2)) + 1
changes = {
    "plus5.md": "%.*f%%" % (decimals, float(m.group(0)[:-1]) + 5.0),
    "digit.md": m.group(1) + "." + m.group(2) + str((int(m.group(3)) + 1) % 10) + "%",
}
(work / "same.md").write_text(page)
for name, changed in changes.items():
    (work / name).write_text(page[:m.start()] + changed + page[m.end():])


def check(name):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "check_docs.py"), "--build", str(build), str(work / name)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("$ check_docs.py %s -> exit %d\n%s" % (name, r.returncode, r.stdout))
    return r


ok = check("same.md").returncode == 0
if not ok:
    print("docs_drift: the unchanged page fails")
for name, changed in changes.items():
    r = check(name)
    wanted = line.replace(m.group(0), changed).strip()
    detected = r.returncode == 1 and wanted in r.stdout
    exact = "compared within" not in r.stdout
    print("docs_drift: %s: changed %s to %s in '%s': %s" % (
        name, m.group(0), changed, line.strip(),
        "detected" if detected else "not detected" + ("" if exact or name == "plus5.md" else
                                                       " (allowed: this build is for other instruction sets)")))
    if not detected and (exact or name == "plus5.md"):
        ok = False
sys.exit(0 if ok else 1)
