#!/usr/bin/env python3
"""docs_check_detects_drift: tools/check_docs.py passes on a tutorial page and fails on the same page with one
printed number changed (the last digit of the first percentage in its checked output block), naming that line.
usage: docs_drift.py BUILD_DIR WORK_DIR"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
build, work = Path(sys.argv[1]), Path(sys.argv[2])
work.mkdir(parents=True, exist_ok=True)
page = (ROOT / "docs" / "tutorials" / "adapt-your-own-network.md").read_text()
start = page.index("<!-- check:output")
m = re.compile(r"([0-9]+\.[0-9]*)([0-9])%").search(page, start)
changed = m.group(1) + str((int(m.group(2)) + 1) % 10) + "%"
line = page[page.rfind("\n", 0, m.start()) + 1:page.find("\n", m.end())]
(work / "same.md").write_text(page)
(work / "drift.md").write_text(page[:m.start()] + changed + page[m.end():])


def check(name):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "check_docs.py"), "--build", str(build), str(work / name)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("$ check_docs.py %s -> exit %d\n%s" % (name, r.returncode, r.stdout))
    return r


same, drift = check("same.md"), check("drift.md")
wanted = line.replace(m.group(0), changed).strip()
ok = same.returncode == 0 and drift.returncode == 1 and wanted in drift.stdout
print("docs_drift: changed %s to %s in '%s': %s" % (m.group(0), changed, line.strip(),
                                                     "detected" if ok else "NOT DETECTED"))
sys.exit(0 if ok else 1)
