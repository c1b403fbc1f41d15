#!/usr/bin/env python3
"""Run the commands the docs show and fail when a number the docs print differs from what the command prints.

Pages mark what is checked with HTML comments (invisible when the page is rendered):

  <!-- check:run ID -->              on the line before a ```sh block: the block runs (bash -e -o pipefail) and
                                     its output (stdout + stderr) is stored as ID
  <!-- check:run ID: COMMAND -->     runs COMMAND, not shown on the page (a variant the prose quotes)
  <!-- check:output ID [ignore=RE] -->  on the line before a ``` block: each of its lines must appear, in this order,
                                     as a line of ID's output; matches of RE (timings) are blanked on both sides
  NUMBER<!-- check:ID RE -->         the number right before the comment must equal group 1 of RE searched in ID's
                                     output (prose and tables)
  <!-- check:recorded-with ISA -->   the numbers were printed by a build whose `zoa version` says `(ISA)`; on a build
                                     for other instruction sets, decimal numbers are compared within --tolerance
                                     (quantized outputs are exact per build, not across instruction sets)

Commands run as a user following the page from the repository root would type them, but in a scratch directory
that holds symlinks to the repository's examples/, tools/ and to the build directory (as build/), so a command that
writes into the current directory cannot touch the repository; `/tmp/...` paths and `/path/to/zoa` are redirected
into the scratch directory too (and mapped back in the output); build commands (`cmake --build`, `make`) are skipped,
the check runs against the given build. The check fails when a command leaves a file in
the scratch directory itself (tutorials must write only under /tmp/) or changes `git status` of the linked
examples/ and tools/.
All runs execute first, in page order (pages in the order given; by default the tutorials alphabetically, their
README last), in one scratch directory (a later run may use files an earlier one wrote, as the user's /tmp would
hold them); then every output block and number is compared, so a page may quote a run defined on another page.

usage: tools/check_docs.py [--build DIR] [--keep] [--list] [--show] [PAGE...]    (default: docs/tutorials/*.md)
       tools/check_docs.py --links [FILE...]    (default: README.md and docs/**/*.md): relative links resolve inside
                                                the repository, #fragments name an existing heading; and no
                                                tracked file mentions ../shared/, /work/shared or /work/wt/
Exit status: 0 all checks hold, 1 a check failed (each mismatch printed), 2 a page is malformed.
"""
import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = re.compile(r"^\s*<!--\s*check:(run|output)\s+([\w.-]+)(.*?)-->\s*$")
RECORDED = re.compile(r"<!--\s*check:recorded-with\s+(.*?)\s*-->")  # the `zoa version` build that printed the numbers
DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")
# Quantized outputs differ between instruction sets (a code flips where a value lands within ulps of a rounding
# boundary; adaptation then follows a slightly different path): on a build for other instruction sets than the
# recording, decimal numbers may differ by this much (measured: see docs/building.md#docs-that-cannot-drift).
DEFAULT_TOLERANCE = 2.5
INLINE = re.compile(r"<!--\s*check:([\w.-]+)\s+(.*?)\s*-->")
NUMBER_BEFORE = re.compile(r"(-?[0-9]+(?:[.,][0-9]+)*)\s*%?\s*\**\s*$")
TMP = re.compile(r"(?<![\w.\-/])/tmp/")


class Page:
    def __init__(self, path):
        self.path = path
        self.lines = path.read_text().splitlines()
        self.items = []  # ("run", id, command, line) | ("output", id, lines, ignore, line) | ("value", ...)
        self.recorded = None
        self.parse()

    def error(self, line, msg):
        print("%s:%d: %s" % (self.rel(), line, msg))
        sys.exit(2)

    def rel(self):
        try:
            return str(self.path.relative_to(ROOT))
        except ValueError:
            return str(self.path)

    def block_after(self, i):
        """The fenced block starting at line i (or i + 1 after one blank line): (its lines, index after it)."""
        j = i
        if j < len(self.lines) and not self.lines[j].strip():
            j += 1
        if j >= len(self.lines) or not self.lines[j].lstrip().startswith("```"):
            self.error(i, "a check marker must be followed by a ``` block")
        k = j + 1
        while k < len(self.lines) and not self.lines[k].lstrip().startswith("```"):
            k += 1
        if k == len(self.lines):
            self.error(j + 1, "unterminated ``` block")
        return self.lines[j + 1:k], k + 1

    def parse(self):
        i = 0
        while i < len(self.lines):
            line = self.lines[i]
            if line.lstrip().startswith("```"):  # a block no marker claims: markers inside it are examples
                i += 1
                while i < len(self.lines) and not self.lines[i].lstrip().startswith("```"):
                    i += 1
                i += 1
                continue
            m = MARK.match(line)
            if m:
                kind, ident, rest = m.group(1), m.group(2), m.group(3).strip()
                if kind == "run" and rest.startswith(":"):
                    self.items.append(("run", ident, rest[1:].strip(), i + 1))
                elif kind == "run":
                    block, end = self.block_after(i + 1)
                    self.items.append(("run", ident, "\n".join(block), i + 1))
                    i = end
                    continue
                else:
                    ignore = None
                    if rest:
                        mi = re.fullmatch(r'ignore=(?:"(.*)"|(\S+))', rest)
                        if not mi:
                            self.error(i + 1, "unknown option %r (expected ignore=REGEX)" % rest)
                        ignore = re.compile(mi.group(1) or mi.group(2))
                    block, end = self.block_after(i + 1)
                    self.items.append(("output", ident, block, ignore, i + 1))
                    i = end
                    continue
            else:
                mr = RECORDED.search(line)
                if mr:
                    self.recorded = mr.group(1)
                for mv in INLINE.finditer(line):
                    if mv.group(1) in ("run", "output", "recorded-with"):
                        continue
                    before = NUMBER_BEFORE.search(line[:mv.start()])
                    if not before:
                        self.error(i + 1, "no number right before <!-- check:%s ... -->" % mv.group(1))
                    self.items.append(("value", mv.group(1), before.group(1), re.compile(mv.group(2)), i + 1))
            i += 1


def scratch_dir(build):
    d = Path(tempfile.mkdtemp(prefix="zoa-docs-check-"))
    for name in ("examples", "tools"):
        (d / name).symlink_to(ROOT / name)
    (d / "build").symlink_to(build)
    (d / "tmp").mkdir()
    return d


def to_scratch(text, d):
    # the check runs against an existing build: build commands are skipped (no second build racing the first)
    text = re.sub(r"(?m)^\s*(cmake --build|make)\b.*$", ":", text)
    text = TMP.sub(str(d / "tmp") + "/", text)  # first: the scratch directory itself lives under /tmp/
    return text.replace("/path/to/zoa", str(d))


def from_scratch(text, d):
    return text.replace(str(d / "tmp") + "/", "/tmp/").replace(str(d / "tmp"), "/tmp").replace(str(d), "/path/to/zoa")


def git_status():
    try:  # without git (or outside a clone) only the scratch-directory check applies
        # only what the scratch directory links to (build/ is ignored): edits elsewhere during a run (a developer
        # editing docs/ while make test runs) are not the tutorials' doing
        r = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "examples", "tools"],
                           cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return set()
    return set(r.stdout.splitlines()) if r.returncode == 0 else set()


LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def slugs(path):
    """GitHub's heading anchors of a Markdown file: lower case, punctuation dropped, spaces to '-', -N for repeats."""
    seen, out = {}, set()
    text = CODE.sub(lambda m: m.group(0) if m.group(0).startswith("`") and "\n" not in m.group(0) else "",
                    path.read_text())
    for line in text.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower().replace("`", "")).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out


def check_links(files):
    """Every relative link of the Markdown files resolves to a file inside the repository (and to an existing
    heading when it has a #fragment). Returns the number of broken links (each printed)."""
    bad, count = 0, 0
    for f in files:
        text = CODE.sub("", f.read_text())
        for m in LINK.finditer(text):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            count += 1
            path, _, frag = target.partition("#")
            dest = (f.parent / path).resolve() if path else f.resolve()
            where = "%s: link %s" % (f.relative_to(ROOT), target)
            if ROOT not in dest.parents and dest != ROOT:
                bad += 1
                print("%s leaves the repository (docs must stand alone)" % where)
            elif not dest.exists():
                bad += 1
                print("%s: no such file" % where)
            elif frag and dest.suffix == ".md" and frag not in slugs(dest):
                bad += 1
                print("%s: %s has no heading with anchor #%s" % (where, dest.relative_to(ROOT), frag))
        for m in re.finditer(r"(?<![\w./-])((?:\.\./)+[\w.-][\w./-]*|/work/[\w./-]+)", f.read_text()):
            dest, from_root = (f.parent / m.group(1)).resolve(), (ROOT / m.group(1)).resolve()
            outside = lambda d: ROOT not in d.parents and d != ROOT
            if m.group(1).startswith("/work/") or outside(dest) or (
                    not dest.exists() and (outside(from_root) or not from_root.exists())):
                bad += 1
                print("%s: path %s leaves the repository (docs must stand alone)" % (f.relative_to(ROOT), m.group(1)))
    print("check_docs: %d relative links in %d files, %d broken" % (count, len(files), bad))
    return bad + check_tracked_files()


def check_tracked_files():
    """No tracked file (source comments, scripts, docs) points into the development machine's shared material,
    which is not part of the repository. Returns the number of such references (each printed)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0  # not a clone: the docs check above still applies
    bad = 0
    outside = re.compile(r"\.\./shared/|/work/shared|/work/wt/")
    for name in filter(None, listed.decode().split("\0")):
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 4 << 20:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if outside.search(line) and path != Path(__file__).resolve():
                bad += 1
                print("%s:%d: refers outside the repository: %s" % (name, n, line.strip()[:100]))
    return bad


def build_isa(build):
    """What `zoa version` of the build says in parentheses (instruction sets of the CLI and kernels), or None."""
    try:
        r = subprocess.run([str(build / "bin" / "zoa"), "version"], capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    m = re.search(r"\((.*)\)", r.stdout)
    return m.group(1) if r.returncode == 0 and m else None


def same_numbers(want, got, tol):
    """want == got, or (tol set) equal once decimal numbers are masked, and each decimal number within tol."""
    if want == got or tol is None:
        return want == got
    a, b = DECIMAL.findall(want), DECIMAL.findall(got)
    return (DECIMAL.sub("#", want) == DECIMAL.sub("#", got) and len(a) == len(b)
            and all(abs(float(x) - float(y)) <= tol + 1e-9 for x, y in zip(a, b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory holding bin/ (default: build)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--list", action="store_true", help="list the checks without running anything")
    ap.add_argument("--show", action="store_true", help="print every run's output (to update a page)")
    ap.add_argument("--links", action="store_true",
                    help="instead, check that every relative link in README.md and docs/ stays in the repository "
                         "and resolves (file and #heading)")
    ap.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                    help="on a build for other instruction sets than the pages were recorded with: how far a decimal "
                         "number may differ (default %(default)s; exact on the recording's instruction sets)")
    ap.add_argument("pages", nargs="*")
    args = ap.parse_args()
    if args.links:
        files = [Path(p).resolve() for p in args.pages] or [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
        return 1 if check_links(files) else 0
    pages = [Path(p).resolve() for p in args.pages] or sorted((ROOT / "docs" / "tutorials").glob("*.md"),
                                                              key=lambda p: (p.name == "README.md", p.name))
    parsed = [Page(p) for p in pages]
    if args.list:
        for p in parsed:
            for it in p.items:
                print("%s:%d: %s %s" % (p.rel(), it[-1], it[0], it[1]))
        return 0
    build = Path(args.build).resolve()
    if not (build / "bin").is_dir():
        print("check_docs: %s has no bin/ (build first: make build)" % build)
        return 2
    recorded = next((p.recorded for p in parsed if p.recorded), None)
    isa = build_isa(build)
    tol = None if recorded is None or isa == recorded else args.tolerance
    if tol is not None:
        print("check_docs: the pages were recorded with a build for (%s), this one is for (%s): decimal numbers are "
              "compared within ±%g (docs/quantization.md#10-outputs-across-instruction-sets)" % (recorded, isa, tol))
    d = scratch_dir(build)
    before = git_status()
    outputs, failures, checks, total = {}, 0, 0, time.time()
    try:
        for p in parsed:  # 1. every run, in page order
            for it in p.items:
                if it[0] != "run":
                    continue
                where, ident, command = "%s:%d" % (p.rel(), it[-1]), it[1], it[2]
                if ident in outputs:
                    p.error(it[-1], "run id %r used twice" % ident)
                t0 = time.time()
                r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", to_scratch(command, d)], cwd=d,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                outputs[ident] = from_scratch(r.stdout, d)
                print("check_docs: %s: run %s: exit %d, %.1f s" % (where, ident, r.returncode, time.time() - t0),
                      flush=True)
                if r.returncode != 0:
                    failures += 1
                    print("  FAILED (exit %d); output:\n%s" % (r.returncode, outputs[ident]))
                elif args.show:
                    print(outputs[ident])
                stray = sorted(x.name for x in d.iterdir() if x.name not in ("examples", "tools", "build", "tmp"))
                if stray:
                    failures += 1
                    print("  FAILED: wrote %s into the current directory (tutorials write only under /tmp/)"
                          % ", ".join(stray))
                    for x in stray:
                        shutil.rmtree(d / x) if (d / x).is_dir() else (d / x).unlink()
        for p in parsed:  # 2. every output block and number against the runs' outputs
            for it in p.items:
                if it[0] == "run":
                    continue
                where, ident = "%s:%d" % (p.rel(), it[-1]), it[1]
                if ident not in outputs:
                    p.error(it[-1], "check refers to run %r, which no marker defines" % ident)
                out = outputs[ident]
                if it[0] == "output":
                    block, ignore = it[2], it[3]
                    blank = (lambda s, ig=ignore: ig.sub("…", s)) if ignore else (lambda s: s)
                    actual = [blank(line).rstrip() for line in out.splitlines()]
                    pos = 0
                    for k, want in enumerate(block):
                        want = blank(want).rstrip()
                        if not want:
                            continue
                        checks += 1
                        found = next((j for j in range(pos, len(actual)) if same_numbers(want, actual[j], tol)), None)
                        if found is not None:
                            pos = found + 1
                        else:
                            failures += 1
                            print("%s: line %d of the output block is not in %s's output (in order):\n  page:    %s"
                                  % (where, k + 1, ident, want))
                            close = difflib.get_close_matches(want, actual, n=1, cutoff=0.5)
                            print("  printed: %s" % (close[0] if close else "(no similar line)"))
                else:
                    checks += 1
                    number, regex = it[2], it[3]
                    m = regex.search(out)
                    if not m:
                        failures += 1
                        print("%s: %r matches nothing in %s's output" % (where, regex.pattern, ident))
                    elif not same_numbers(number, m.group(1), tol):
                        failures += 1
                        print("%s: the page says %s, %s printed %s (%r)" % (where, number, ident, m.group(1),
                                                                            regex.pattern))
        changed = sorted(git_status() - before)
        if changed:
            failures += 1
            print("check_docs: FAILED: the commands changed the repository: %s" % "; ".join(changed))
    finally:
        if args.keep:
            print("check_docs: scratch directory kept: %s" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    runs = sum(1 for p in parsed for it in p.items if it[0] == "run")
    print("check_docs: %d pages, %d runs, %d checked lines and numbers, %d failed, %.0f s"
          % (len(parsed), runs, checks, failures, time.time() - total))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
