#!/usr/bin/env bash
# Checks the structure rules of kvproof's library code (CONVENTIONS.md, "Structure"):
#
#   length   no function longer than 80 lines. A function's length counts from
#            the first line of its signature to its closing brace, both included
#            (the same count as ctags' line:/end: fields).
#   prefix   every exported (non-static) function or global defined in a .c
#            file is named after its file. For a file whose name without .c is
#            STEM and whose first word (STEM up to its first "_") is WORD, an
#            exported name must be STEM itself, or begin with STEM_ or WORD_:
#              spec_check.c  -> spec_check_*, spec_*      costmodel.c -> costmodel_*
#              cmd_serve.c   -> cmd_serve (the entry point cli/main.c's table
#                               calls), cmd_serve_*, cmd_*
#            A constant in capitals is compared in lower case (DOC_RED in doc.c).
#            cli/main.c exports only main. common/ is the shared base of every
#            stage and may also export the project prefix kv_ (kv_status,
#            kv_fail, kv_buf_*: libuv's uv_ for its core), nothing else.
#   include  headers are included along the one-way arrow of the stages
#                common <- experiments (+ net) <- stats <- report <- cli
#            a file may include headers of its own stage or of an earlier one;
#            inside the first stage the network layer sits between the spec
#            and the runner: net/ includes of experiments/ only spec.h and
#            trial.h (the spec it reads, the trial_request it fills), and of
#            experiments/ only the runner (runner*.c/h) and cachecheck.c
#            include net/;
#            server/ (the reference server) includes common/ and, of net/,
#            only the wire-format headers dialect.h, sse.h and ndjson.h, and
#            only cli/ includes server/;
#            report/ includes of stats/ only stats/results_schema.h (the
#            results.json contract) and stats/estimate.h (the estimate type
#            it reads, no computation), never a computation header.
#   cycle    no include cycle between modules: a module is foo.c + foo.h, and
#            module A depends on B when foo.c or foo.h of A includes B's header.
#
# Library code: the .c and .h files git tracks under common/ experiments/ net/
# stats/ report/ server/ cli/ (tests/, bench/ and fuzz/ are not checked).
#
# Known violations are listed in scripts/structure-allow.txt, one a line:
#     RULE FILE NAME  # reason
# where NAME is the function or symbol (length, prefix), the included header
# (include), or, for a cycle, FILE is the first module of the cycle in sort
# order and NAME the others joined by ",". The list only shrinks: new code
# passes the rules.
#
# Each violation is printed as FILE:LINE: RULE: message; the exit status is 1
# when any violation is not allowed. Allow-list entries that match nothing any
# more are printed as notes (exit status 1 with --strict) so they can be
# removed.
#
# Usage: scripts/check-structure.sh [--strict]
set -euo pipefail
cd "$(dirname "$0")/.."
strict=0
if [ "${1:-}" = "--strict" ]; then strict=1; fi
git ls-files -- 'common/*.[ch]' 'experiments/*.[ch]' 'net/*.[ch]' 'stats/*.[ch]' \
  'report/*.[ch]' 'server/*.[ch]' 'cli/*.[ch]' |
  STRICT=$strict python3 -c '
import os, re, sys

MAX_LINES = 80
STAGE = {"common": 0, "experiments": 1, "net": 1, "stats": 2, "report": 3, "cli": 4}
SERVER_WIRE = {"dialect.h", "sse.h", "ndjson.h"}
NET_FROM_EXPERIMENTS = {"experiments/spec.h", "experiments/trial.h"}
REPORT_FROM_STATS = {"stats/results_schema.h", "stats/estimate.h"}
ALLOW_FILE = "scripts/structure-allow.txt"


def strip_code(text):
    """Comments, string and char literals and preprocessor lines become blanks
    (newlines kept, so offsets keep their line numbers)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"\x27":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    lines = "".join(out).split("\n")
    cont = False
    for k, line in enumerate(lines):
        if cont or line.lstrip().startswith("#"):
            cont = line.rstrip().endswith("\\")
            lines[k] = " " * len(line)
    return "\n".join(lines)


def drop_attributes(s):
    while True:
        m = re.search(r"__attribute__\s*\(", s)
        if not m:
            return s
        depth, j = 0, m.end() - 1
        while j < len(s):
            depth += {"(": 1, ")": -1}.get(s[j], 0)
            j += 1
            if depth == 0:
                break
        s = s[: m.start()] + " " * (j - m.start()) + s[j:]


def top_level(s, stop):
    """Index of the first character of stop outside parentheses and brackets."""
    depth = 0
    for k, ch in enumerate(s):
        if depth == 0 and ch in stop:
            return k
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
    return -1


def definitions(path):
    """Yields (kind, name, first_line, last_line, is_static) of the functions
    and global variables a .c file defines."""
    code = strip_code(open(path, encoding="utf-8").read())
    line_at = [0] * (len(code) + 1)
    ln = 1
    for k, ch in enumerate(code):
        line_at[k] = ln
        if ch == "\n":
            ln += 1
    depth, chunk, chunk_pos, func = 0, [], None, None
    for k, ch in enumerate(code):
        if depth == 0:
            if chunk_pos is None and not ch.isspace():
                chunk_pos = k
            if ch == "{":
                head = drop_attributes("".join(chunk)).strip()
                if head.endswith(")") and top_level(head, "=") < 0:
                    p = top_level(head + "(", "(")
                    m = re.search(r"(\w+)\s*$", head[:p])
                    func = (m.group(1) if m else "?", line_at[chunk_pos],
                            re.search(r"\bstatic\b", head) is not None)
                    chunk, chunk_pos = [], None
                else:
                    chunk.append(ch)
            elif ch == ";":
                decl = "".join(chunk)
                chunk, chunk_pos_now, chunk_pos = [], chunk_pos, None
                yield from declaration(decl, line_at[chunk_pos_now or k])
            else:
                chunk.append(ch)
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                if func:
                    yield ("function", func[0], func[1], line_at[k], func[2])
                    func = None
                else:
                    chunk.append(ch)


def declaration(decl, line):
    d = drop_attributes(decl).strip()
    if not d or re.search(r"\b(typedef|extern)\b", d):
        return
    eq = top_level(d, "=")
    if "}" in d and (eq < 0 or d.index("{") < eq):  # a struct, union or enum body
        d = d[d.rindex("}") + 1:].strip()
        if not re.match(r"\**\s*\w", d):
            return
        d = "int " + d
    is_static = re.search(r"\bstatic\b", d) is not None
    first = d[: top_level(d + ",", ",")]
    eq = top_level(first + "=", "=")
    lhs = first[:eq]
    fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", lhs)
    if fp:
        name = fp.group(1)
    elif "(" in lhs:
        return  # a prototype
    else:
        m = re.search(r"(\w+)\s*(\[[^\]]*\]\s*)*$", lhs.strip())
        if not m:
            return
        name = m.group(1)
    yield ("global", name, line, line, is_static)


def prefix_ok(path, name):
    if name.isupper():
        name = name.lower()
    stem = os.path.basename(path)[:-2]
    if path == "cli/main.c":
        return name == "main"
    word = stem.split("_")[0]
    if path.startswith("common/") and name.startswith("kv_"):
        return True
    return name == stem or name.startswith(stem + "_") or name.startswith(word + "_")


def includes(path):
    for no, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r"\s*#\s*include\s+\"([^\"]+)\"", line)
        if m:
            inc = m.group(1)
            if "/" not in inc:
                inc = os.path.join(os.path.dirname(path), inc)
            yield no, inc


def include_problem(path, inc):
    src, dst = path.split("/")[0], inc.split("/")[0]
    base = os.path.basename(inc)
    if src == dst:
        return None
    if dst == "server":
        return None if src == "cli" else "only cli/ includes server/ (the reference server)"
    if src == "server":
        if dst == "common" or (dst == "net" and base in SERVER_WIRE):
            return None
        return "server/ includes common/ and the wire-format headers net/%s only" % (
            ", net/".join(sorted(SERVER_WIRE)))
    if src == "net" and dst == "experiments" and inc not in NET_FROM_EXPERIMENTS:
        return "net/ includes of experiments/ only %s (what it reads and fills)" % (
            " and ".join(sorted(NET_FROM_EXPERIMENTS)))
    if src == "experiments" and dst == "net":
        own = os.path.basename(path)
        if not (own.startswith("runner") or own == "cachecheck.c"):
            return "of experiments/, only the runner (runner*) and cachecheck.c include net/"
    if dst not in STAGE or src not in STAGE:
        return None
    if STAGE[dst] > STAGE[src]:
        return "%s/ is an earlier stage than %s/ and never includes it" % (src, dst)
    if src == "report" and dst == "stats" and inc not in REPORT_FROM_STATS:
        return ("report/ reads stats/ only through stats/results_schema.h and stats/estimate.h, "
                "not a computation header")
    return None


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def load_allow():
    allow = {}
    if not os.path.exists(ALLOW_FILE):
        return allow
    for no, line in enumerate(open(ALLOW_FILE, encoding="utf-8"), 1):
        body = line.split("#", 1)[0].split()
        if not body:
            continue
        if len(body) != 3 or "#" not in line:
            sys.exit("%s:%d: expected RULE FILE NAME  # reason" % (ALLOW_FILE, no))
        allow[tuple(body)] = no
    return allow


def main():
    files = [f.strip() for f in sys.stdin if f.strip()]
    found = []  # (file, line, rule, key_name, message)
    edges, first_edge = {}, {}
    for path in files:
        if path.endswith(".c"):
            for kind, name, first, last, is_static in definitions(path):
                n = last - first + 1
                if kind == "function" and n > MAX_LINES:
                    found.append((path, first, "length", name,
                                  "%s is %d lines (at most %d)" % (name, n, MAX_LINES)))
                if not is_static and not prefix_ok(path, name):
                    found.append((path, first, "prefix", name,
                                  "exported %s %s is not named after %s" %
                                  (kind, name, os.path.basename(path))))
        mod = path[:-2]
        for no, inc in includes(path):
            why = include_problem(path, inc)
            if why:
                found.append((path, no, "include", inc, "%s: %s" % (inc, why)))
            dst = inc[:-2] if inc.endswith(".h") else inc
            if dst != mod:
                edges.setdefault(mod, set()).add(dst)
                first_edge.setdefault((mod, dst), (path, no))
    for comp in cycles(edges):
        members = set(comp)
        path, no = min(first_edge[(a, b)] for a in comp for b in edges.get(a, ()) if b in members)
        found.append((path, no, "cycle", (comp[0], ",".join(comp[1:])),
                      "include cycle between modules %s" % " <-> ".join(comp)))
    allow = load_allow()
    used, bad = set(), 0
    for path, no, rule, name, msg in sorted(found, key=lambda f: (f[0], f[1], f[2])):
        key = (rule,) + name if rule == "cycle" else (rule, path, name)
        if key in allow:
            used.add(key)
            continue
        print("%s:%d: %s: %s" % (path, no, rule, msg))
        bad += 1
    stale = [(no, k) for k, no in allow.items() if k not in used]
    for no, k in sorted(stale):
        print("%s:%d: note: stale entry %s (nothing matches it any more; remove it)"
              % (ALLOW_FILE, no, " ".join(k)))
    if bad:
        print("check-structure: %d violation(s) not in %s" % (bad, ALLOW_FILE))
    else:
        print("check-structure: %d file(s), %d known violation(s) allowed, none new"
              % (len(files), len(used)))
    sys.exit(1 if bad or (stale and os.environ.get("STRICT") == "1") else 0)


main()
'
