#!/usr/bin/python3
"""Largest C/C++ files and functions of the tracked tree (git ls-files).

Functions are found by brace matching: a '{' outside any function whose header (the text
since the previous ';', '{' or '}') has a ')' and is not a namespace, class, struct, union,
enum or extern "C" block opens a function (or method, constructor, lambda at file scope);
its length is the lines from the header's first line to the matching '}'. Strings, character
literals, comments and preprocessor lines are skipped. A heuristic, good enough to compare before and after.

Usage: scripts/code-size.py [--top N] [REV]   (REV: measure that commit instead of the tree)
"""
import re
import subprocess
import sys

EXTENSIONS = (".cpp", ".hpp", ".cc", ".h", ".c")
TRANSPARENT = re.compile(r"\b(namespace|class|struct|union|enum)\b|extern\s+\"C\"")


def strip_code(text):
    """Text with comments and literals blanked (newlines kept, so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#" and (i == 0 or text[i - 1] == "\n"):
            # A preprocessor line (with its continuations) is not code between braces.
            j = i
            while True:
                j = text.find("\n", j)
                if j < 0 or text[j - 1] != "\\":
                    break
                j += 1
            j = n if j < 0 else j
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            end = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """(first line, line count, header) of every function body in the file."""
    code = strip_code(text)
    found = []
    stack = []  # per open brace: ("transparent"|"function"|"inner", start line, header)
    header_start = 0
    in_function = 0
    for pos, c in enumerate(code):
        if c == "{":
            header = code[header_start:pos]
            if in_function:
                stack.append(("inner", 0, ""))
            elif TRANSPARENT.search(header) and ")" not in header:
                stack.append(("transparent", 0, ""))
            elif ")" in header:
                lead = len(header) - len(header.lstrip())
                line = code.count("\n", 0, header_start + lead) + 1
                stack.append(("function", line, " ".join(header.split())[:100]))
                in_function += 1
            else:
                stack.append(("inner", 0, ""))
            header_start = pos + 1
        elif c == "}":
            if stack:
                kind, line, header = stack.pop()
                if kind == "function":
                    in_function -= 1
                    end = code.count("\n", 0, pos) + 1
                    found.append((line, end - line + 1, header))
            header_start = pos + 1
        elif c == ";":
            header_start = pos + 1
    return found


def main():
    args = sys.argv[1:]
    top = 5
    if args[:1] == ["--top"]:
        top = int(args[1])
        args = args[2:]
    rev = args[0] if args else None
    ls = ["git", "ls-files"] if rev is None else ["git", "ls-tree", "-r", "--name-only", rev]
    paths = [p for p in subprocess.run(ls, capture_output=True, text=True, check=True).stdout.split()
             if p.endswith(EXTENSIONS)]
    sizes, funcs = [], []
    for path in paths:
        if rev is None:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        else:
            text = subprocess.run(["git", "show", f"{rev}:{path}"], capture_output=True,
                                  text=True, errors="replace", check=True).stdout
        sizes.append((text.count("\n"), path))
        funcs.extend((length, f"{path}:{line}", header) for line, length, header in functions(text))
    sizes.sort(reverse=True)
    funcs.sort(reverse=True)
    print(f"C/C++ files: {len(paths)}, functions: {len(funcs)} ({rev or 'working tree'})")
    print("largest files (lines):")
    for lines, path in sizes[:top]:
        print(f"  {lines:6d}  {path}")
    print("largest functions (lines):")
    for length, where, header in funcs[:top]:
        print(f"  {length:6d}  {where}  {header}")


if __name__ == "__main__":
    main()
