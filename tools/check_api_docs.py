#!/usr/bin/env python3
"""List public declarations in include/zoa/ that have no `///` comment (heuristic, stdlib only).

A declaration is a statement at namespace scope or in the public part of a class/struct, outside any namespace
whose name is `detail` or ends in `_detail`. It counts as documented when
  - the line right above it (above its `template <...>` header; plain `//` lines in between are skipped) starts
    with `///`, or one of its lines carries a trailing `///<`;
  - it directly follows (no blank line) a documented declaration of the same name (an overload group under one
    comment, a specialisation of a documented template);
  - it is a one-line declaration right below a one-line declaration documented by a `///` line above it (a block
    of one-liners, e.g. accessors, under one comment; a trailing `///<` documents only its own line).
Not counted: preprocessor lines, lines holding only an ALL_CAPS macro, access labels, static_assert, friend,
`using namespace`, forward declarations, `= default` / `= delete` members, destructors, copy/move constructors and
assignments, enumerators, the policy protocol lines `using axis = ...;` / `using default_option = ...;`, class
template specialisations (their primary template carries the comment), classes nested in a private part,
out-of-class member definitions (`T<P>::f(...) {...}`: the declaration in the class carries the comment), and
anything inside function bodies.

Usage: tools/check_api_docs.py [--detail] [--summary] [--quiet] [paths...]
  paths     headers or directories (default: include/zoa)
  --detail  also list functions inside `detail` namespaces (they need a one-line `///` too)
  --summary print counts per directory instead of one line per declaration
  --quiet   print only the total
  --throws  instead, list documented declarations whose body calls zoa::require/zoa::fail directly but whose
            comment has no `Throws:` line nor "Same contract as" (callees that throw are not followed)
Exit status: 0 always (a report, not a gate); the last line is `undocumented: N of M declarations`.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def strip_code(text):
    """Blank out comments, string/char literals, preprocessor lines and lines holding only an ALL_CAPS macro call
    (ZOA_DETAIL_..._BEGIN), keeping newlines (so offsets map to lines)."""
    text = re.sub(r"(?m)^[ \t]*[A-Z][A-Z0-9_]*(?:\(\))?[ \t]*$", lambda m: " " * len(m.group(0)), text)
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if at_line_start and c == "#":  # preprocessor line, with continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
            continue
        if c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(]*)\(', text[i:])
            if m:
                end = text.find(")" + m.group(1) + '"', i)
                end = n if end < 0 else end + len(m.group(1)) + 2
                out.append('""' + "".join(ch if ch == "\n" else " " for ch in text[i + 2:end]))
                i = end
                continue
        if c in "\"'":
            # a digit separator (1'000) is not a char literal
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n - 1) - i - 1) + c)
            i = j + 1
            continue
        if c == "\n":
            at_line_start = True
        out.append(c)
        i += 1
    return "".join(out)


TEMPLATE_HEAD = re.compile(r"^\s*template\s*<")
ACCESS = re.compile(r"^\s*(public|private|protected)\s*:$")
CLASS_KW = re.compile(r"^\s*(?:alignas\s*\([^)]*\)\s*)?(struct|class|union)\b")
ENUM_KW = re.compile(r"^\s*enum\b")
NAMESPACE_KW = re.compile(r"^\s*(?:inline\s+)?namespace\b\s*([\w:]*)")
INIT_LIST = re.compile(r"\)\s*(?:const\s*)?(?:noexcept\s*(?:\([^)]*\))?\s*)?:(?!:)")


def strip_template_heads(s):
    """Remove leading `template <...>` headers (balanced angle brackets)."""
    while True:
        m = TEMPLATE_HEAD.match(s)
        if not m:
            return s
        depth, j = 0, m.end() - 1
        while j < len(s):
            if s[j] == "<":
                depth += 1
            elif s[j] == ">":
                depth -= 1
                if depth == 0:
                    break
            elif s[j] in "()":
                pass
            j += 1
        s = s[j + 1:]


def decl_name(s):
    """A best-effort name for a declaration (for overload grouping and the report)."""
    s = strip_template_heads(s).strip()
    m = CLASS_KW.match(s)
    if m:
        m2 = re.match(r"\s*(?:struct|class|union)\s+(?:\[\[[^\]]*\]\]\s*)?(?:alignas\s*\([^)]*\)\s*)?(\w+)", s)
        return m2.group(1) if m2 else "?"
    m = ENUM_KW.match(s)
    if m:
        m2 = re.match(r"\s*enum\s+(?:class\s+|struct\s+)?(\w+)", s)
        return m2.group(1) if m2 else "?"
    m = re.match(r"\s*using\s+(\w+)\s*=", s)
    if m:
        return m.group(1)
    m = re.search(r"(operator\s*(?:\(\)|[^\s(]+)|~?\w+)\s*\(", s)
    if m:
        return m.group(1).replace(" ", "")
    prev = None
    while prev != s:  # drop template argument lists: is_policy_v<policy<Options...>> = true
        prev, s = s, re.sub(r"<[^<>]*>", "", s)
    m = re.search(r"(\w+)\s*(?:\[[^\]]*\]\s*)*(?:=|\{|;|$)", s)
    return m.group(1) if m else "?"


def skipped(s, class_name):
    """True for statements that need no documentation."""
    t = strip_template_heads(s).strip()
    if not t or t == ";":
        return True
    if re.match(r"^(static_assert|friend|using\s+namespace|extern\s+template)\b", t):
        return True
    if re.match(r"^(true|false|[-+\w.]+)\s*;$", t):  # the other branch of an #if inside an initialiser
        return True
    if re.match(r"^using\s+(axis|default_option)\s*=", t):
        return True
    if re.match(r"^(?:struct|class|union)\s+\w+\s*;$", t):  # forward declaration
        return True
    if re.search(r"=\s*(default|delete)\s*;$", t):
        return True
    if re.match(r"^[^(=]*?\b\w+\s*(?:<[^;{()=]*>)?\s*::\s*~?\w+\s*\(", t) and not re.match(r"^[^(]*\boperator\b", t):
        return True  # out-of-class definition of a member declared (and documented) in its class
    if class_name:
        if re.match(r"^(?:virtual\s+)?~", t):
            return True
        cn = re.escape(class_name)
        # copy/move constructor and assignment
        if re.match(r"^(?:constexpr\s+)?%s\s*\(\s*(?:const\s+)?%s\s*(?:<[^>]*>)?\s*&&?\s*\w*\s*\)" % (cn, cn), t):
            return True
        if re.match(r"^(?:constexpr\s+)?%s\s*(?:<[^>]*>)?\s*&\s*operator\s*=\s*\(\s*(?:const\s+)?%s\s*(?:<[^>]*>)?\s*&&?"
                    % (cn, cn), t):
            return True
    return False


class Scope:
    def __init__(self, kind, name="", access="public", detail=False, hidden=False):
        self.kind = kind  # ns, class, enum, body
        self.name = name
        self.access = access
        self.detail = detail
        self.hidden = hidden  # a class nested in a private part, or a template specialisation
        self.prev = None  # (end_line, name, documented, one_line, spreads_to_next_one_liner) of the previous declaration in this scope


def scan(path, include_detail=False):
    """Yield (line, name, text, documented, in_detail, is_function) for each counted declaration of one header."""
    raw = path.read_text()
    lines = raw.split("\n")
    code = strip_code(raw)
    line_of = []
    ln = 1
    for ch in code:
        line_of.append(ln)
        if ch == "\n":
            ln += 1

    def documented_at(start_line, end_line):
        for k in range(start_line - 1, min(end_line, len(lines))):
            if "///<" in lines[k]:
                return True
        k = start_line - 2
        while k >= 0 and lines[k].strip().startswith("//") and not lines[k].strip().startswith("///"):
            k -= 1  # plain // comments between the /// block and the declaration are fine
        return k >= 0 and lines[k].strip().startswith("///")

    def says_throws(start_line):  # does the /// block above start_line mention Throws?
        k = start_line - 2
        while k >= 0 and lines[k].strip().startswith("template <"):
            k -= 1
        found = False
        while k >= 0 and lines[k].strip().startswith("//"):
            found = found or any(w in lines[k] for w in ("Throws", "throws", "Same contract as", "same contract as"))
            k -= 1
        return found

    def blank_between(a, b):  # any blank line strictly between lines a and b (1-based)?
        return any(not lines[k].strip() for k in range(a, b - 1))

    stack = [Scope("ns")]
    stmt, stmt_start = [], None
    brace_in_stmt = 0  # braces of brace-initialisers inside a constructor initialiser list
    results = []

    def finish(end_line):
        nonlocal stmt, stmt_start
        text = " ".join("".join(stmt).split())
        sc = stack[-1]
        if text and stmt_start is not None and sc.kind in ("ns", "class") and sc.access == "public" \
                and not sc.hidden:
            cls = sc.name if sc.kind == "class" else ""
            if not skipped(text, cls):
                name = decl_name(text)
                start_line = line_of[stmt_start]
                doc = documented_at(start_line, end_line)
                # a trailing ///< documents its own line only; a /// above documents a following block of one-liners
                spreads = doc and not any("///<" in lines[k] for k in range(start_line - 1, end_line))
                if not doc and sc.prev and sc.prev[2] and not blank_between(sc.prev[0], start_line) and (
                        sc.prev[1] == name or (sc.prev[3] and sc.prev[4] and start_line == end_line == sc.prev[0] + 1)):
                    doc = spreads = True
                sc.prev = (end_line, name, doc, start_line == end_line, spreads)
                is_fn = "(" in strip_template_heads(text).split("=")[0] and not CLASS_KW.match(strip_template_heads(text))
                if not sc.detail or (include_detail and is_fn):
                    body = code[stmt_start:pos[0] + 1]
                    throws = bool(re.search(r"\b(require|fail)\s*\(", body))
                    results.append((start_line, name, text, doc, sc.detail, is_fn, throws and not says_throws(start_line)))
        stmt, stmt_start = [], None

    i, n = 0, len(code)
    pos = [0]
    while i < n:
        pos[0] = i
        c = code[i]
        sc = stack[-1]
        if sc.kind in ("body", "enum"):
            if c == "{":
                stack.append(Scope("body"))
            elif c == "}":
                stack.pop()
                if stack[-1].kind not in ("body", "enum"):
                    # end of a function body / initialiser / enum: the statement ends here or at a following ';'
                    j = i + 1
                    while j < n and code[j] in " \t\n":
                        j += 1
                    if j < n and code[j] == ";":
                        i = j
                    pos[0] = i
                    finish(line_of[i])
            i += 1
            continue
        if c == "{":
            text = "".join(stmt)
            head = strip_template_heads(" ".join(text.split()))
            if text.count("(") > text.count(")"):
                brace_in_stmt += 1  # a brace inside parentheses: a default argument `= {}`
                stmt.append(c)
                i += 1
                continue
            if INIT_LIST.search(head) and stmt and re.search(r"[\w>]\s*$", text) and not re.search(r"\bnoexcept\s*$", text) \
                    and not re.search(r"\)\s*(const\s*)?(noexcept\s*)?$", text):
                brace_in_stmt += 1  # member{init} inside a constructor initialiser list
                stmt.append(c)
                i += 1
                continue
            m = NAMESPACE_KW.match(head)
            if m and "(" not in head:
                name = m.group(1)
                is_detail = any(p == "detail" or p.endswith("_detail") for p in name.split("::"))
                stack.append(Scope("ns", name, "public", sc.detail or is_detail))
                stmt, stmt_start = [], None
            elif CLASS_KW.match(head) and "=" not in head.split("<")[0]:
                kw = CLASS_KW.match(head).group(1)
                special = bool(re.match(r"\s*(?:struct|class|union)\s+\w+\s*<", head))
                if special:
                    stmt, stmt_start = [], None  # a specialisation: documented by its primary template
                if stmt_start is not None:
                    # register the class declaration itself in the enclosing scope
                    finish_line = line_of[i]
                    saved = stmt[:]
                    finish(finish_line)
                    stmt = saved  # keep for nothing; reset below
                hidden = special or sc.hidden or (sc.kind == "class" and sc.access != "public")
                stack.append(Scope("class", decl_name(head), "private" if kw == "class" else "public", sc.detail, hidden))
                stmt, stmt_start = [], None
            elif ENUM_KW.match(head):
                # the enum declaration is recorded now; its enumerators are skipped
                finish(line_of[i])
                stack.append(Scope("enum"))
            else:
                stack.append(Scope("body"))
            i += 1
            continue
        if c == "}":
            if brace_in_stmt:
                brace_in_stmt -= 1
                stmt.append(c)
                i += 1
                continue
            if stmt and "".join(stmt).strip():
                finish(line_of[i])
            stmt, stmt_start = [], None
            if len(stack) > 1:
                stack.pop()
            j = i + 1
            while j < n and code[j] in " \t\n":
                j += 1
            if j < n and code[j] == ";":
                i = j
            i += 1
            continue
        if c == ";":
            stmt.append(c)
            finish(line_of[i])
            i += 1
            continue
        if stmt_start is None and not c.isspace():
            stmt_start = i
        stmt.append(c)
        if c == ":" and sc.kind == "class" and ACCESS.match("".join(stmt)):
            sc.access = ACCESS.match("".join(stmt)).group(1)
            stmt, stmt_start = [], None
        i += 1
    return results


def main(argv):
    include_detail = "--detail" in argv
    summary = "--summary" in argv
    quiet = "--quiet" in argv
    throws_mode = "--throws" in argv
    args = [a for a in argv if not a.startswith("--")]
    roots = [Path(a) for a in args] or [ROOT / "include" / "zoa"]
    files = []
    for r in roots:
        files += sorted(r.rglob("*.hpp")) if r.is_dir() else [r]
    total = missing = 0
    per_dir = {}
    for f in files:
        rel = f.resolve().relative_to(ROOT) if f.resolve().is_relative_to(ROOT) else f
        d = str(Path(rel).parent)
        for line, name, text, doc, in_detail, _, no_throws in scan(f, include_detail):
            if throws_mode:
                doc = not (doc and no_throws)
            total += 1
            cnt = per_dir.setdefault(d, [0, 0])
            cnt[1] += 1
            if not doc:
                missing += 1
                cnt[0] += 1
                if not summary and not quiet:
                    short = text if len(text) <= 100 else text[:97] + "..."
                    print("%s:%d: %s%s: %s" % (rel, line, "[detail] " if in_detail else "", name, short))
    if summary and not quiet:
        for d in sorted(per_dir):
            print("%-32s %4d flagged of %4d" % (d, per_dir[d][0], per_dir[d][1]))
    print("%s: %d of %d declarations" % ("without Throws" if throws_mode else "undocumented", missing, total))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
