"""Every command, path and link shown in README.md and docs/*.md exists.

Commands are read from the pages' shell code blocks (fenced sh/bash/console blocks and
indented blocks) and from inline code that starts with a known command. Checked:
`make` targets and the variables given to make (the Makefile's), `lab/bin/lvslab`
subcommands and options (its own --help), Molecule scenarios, `lvs.cluster.*` playbooks,
modules and roles, and every repository path a command or an inline code span names
(`tests/...`, `lab/topologies/...`, `inventories/...`); relative links must point to a file.
"""
import functools
import glob
import os
import re
import shlex
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGES = ["README.md"] + sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "docs", "*.md")))
# Top folders of the repository: a word starting with one of these is a path that must exist.
REPO_DIRS = ("lab/", "tests/", "playbooks/", "inventories/", "molecule/", "roles/", "plugins/", "docs/",
             "changelogs/", "meta/")
REPO_FILES = ("Makefile", "galaxy.yml", "requirements.txt", "requirements-dev.txt", "bindep.txt",
              "execution-environment.yml", "ansible.cfg")
COMMANDS = ("make", "lab/bin/lvslab", "lvslab", "molecule", "python", "ansible-playbook", "ansible-doc",
            "env", "sh", "export")
SHELL_BLOCKS = ("", "sh", "bash", "console", "shell")


def code_blocks(text):
    """(language, lines) of every fenced and indented code block of a Markdown text."""
    blocks, lines, i = [], text.splitlines(), 0
    prev_blank = True
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", line)
        if fence:
            lang, body, i = fence.group(3).lower(), [], i + 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(2)):
                body.append(lines[i])
                i += 1
            blocks.append((lang, body))
            i += 1
            prev_blank = False
            continue
        if prev_blank and line.startswith("    ") and line.strip():
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            blocks.append(("", body))
            prev_blank = True
            continue
        prev_blank = not line.strip()
        i += 1
    return blocks


def inline_code(text):
    """The inline code spans of a Markdown text outside code blocks."""
    prose = re.sub(r"^(```|~~~).*?^(```|~~~)[^\n]*$", "", text, flags=re.M | re.S)
    prose = re.sub(r"(?m)^(?:    .*\n?)+", lambda m: m.group(0) if not m.group(0).strip() else "", prose)
    return re.findall(r"(?<!`)`([^`\n]+)`(?!`)", prose)


def commands(text):
    """Every shell command line shown in a Markdown text (continuation lines joined)."""
    out = []
    for lang, body in code_blocks(text):
        if lang not in SHELL_BLOCKS:
            continue
        joined = "\n".join(body).replace("\\\n", " ")
        out += [line.strip() for line in joined.splitlines() if line.strip()]
    out += [span for span in inline_code(text) if span.split()[0] in COMMANDS or
            re.match(r"^[A-Z_]+=\S+ make\b", span)]
    return out


@functools.lru_cache(maxsize=None)
def makefile():
    """(targets, variables) of the Makefile."""
    with open(os.path.join(REPO, "Makefile")) as f:
        text = f.read()
    targets = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.M))
    variables = set(re.findall(r"^([A-Z_]+)\s*[?:+]?=", text, re.M)) | set(re.findall(r"\$\(([A-Z_]+)\)", text))
    return targets, variables


@functools.lru_cache(maxsize=None)
def lvslab_help(sub=None):
    """(subcommands, options) from `lab/bin/lvslab [SUB] --help`."""
    argv = [os.path.join(REPO, "lab", "bin", "lvslab")] + ([sub] if sub else []) + ["--help"]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False, timeout=60).stdout
    subs = set()
    choices = re.search(r"\{([\w,-]+)\}", out)
    if choices:
        subs = set(choices.group(1).split(","))
    options = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", out))
    return subs, options


def path_problem(word):
    """A problem when word names a repository path that does not exist, else None."""
    word = word.strip("'\",;:()[]")
    if word.startswith(("./",)):
        word = word[2:]
    if not (word.startswith(REPO_DIRS) or word in REPO_FILES) or "$" in word or "<" in word:
        return None
    path = word.split("#")[0].split("::")[0]
    if "*" in path or "?" in path:
        return None if glob.glob(os.path.join(REPO, path)) else "no file matches %s" % path
    return None if os.path.exists(os.path.join(REPO, path)) else "no such path: %s" % path


def split_shell(line):
    """The simple commands of a shell line, as word lists (comments dropped)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        words = list(lexer)
    except ValueError:
        return [line.split()]
    parts, cur = [], []
    for w in words:
        if w in ("|", "||", "&&", ";", "&", "(", ")"):
            if cur:
                parts.append(cur)
            cur = []
        elif w in ("<", ">", ">>", "2>", "2>&1"):
            cur.append(None)  # the next word is a redirection target, not an argument
        else:
            cur.append(w)
    if cur:
        parts.append(cur)
    out = []
    for part in parts:
        words, skip = [], False
        for w in part:
            if w is None:
                skip = True
            elif skip:
                skip = False
            else:
                words.append(w)
        out.append(words)
    return out


def check_command(line):
    """The problems of one shell command line (an empty list when everything it names exists)."""
    problems = []
    for words in split_shell(line):
        problems += check_words(words)
    return problems


def check_words(words):
    """The problems of one simple command (a list of words)."""
    problems, assigned = [], []
    while words and re.match(r"^[A-Za-z_]+=", words[0]):
        assigned.append(words[0].split("=", 1)[0])
        words = words[1:]
    if not words:
        return []
    cmd, args = words[0], words[1:]
    if cmd == "env":
        return check_words(args)
    if cmd == "export":
        return []
    if cmd == "sh" and args[:1] == ["-c"] and len(args) > 1:
        return check_command(args[1])
    if cmd == "make":
        targets, variables = makefile()
        for var in assigned:
            if var not in variables and var not in ("PATH",):
                problems.append("make: the Makefile has no variable %s" % var)
        for a in args:
            if "=" in a:
                var, value = a.split("=", 1)
                if var not in variables:
                    problems.append("make: the Makefile has no variable %s" % var)
                if var == "CMD":
                    problems += check_command(value)
                else:
                    problems += [p for p in (path_problem(v) for v in value.split()) if p]
            elif a.startswith("-"):
                continue
            elif a not in targets:
                problems.append("make: no target %s" % a)
        return problems
    if cmd in ("lab/bin/lvslab", "lvslab"):
        return check_lvslab(args)
    if cmd == "molecule":
        if "-s" in args and args.index("-s") + 1 < len(args):
            scenario = args[args.index("-s") + 1]
            if not os.path.exists(os.path.join(REPO, "molecule", scenario, "molecule.yml")):
                problems.append("molecule: no scenario %s" % scenario)
        return problems
    if cmd in ("ansible-playbook", "ansible-doc"):
        for i, a in enumerate(args):
            m = re.match(r"^lvs\.cluster\.(\w+)$", a)
            if m:
                role = cmd == "ansible-doc" and args[max(i - 1, 0)] == "role"
                kind = ("roles", "") if role else ("playbooks", ".yml") if cmd == "ansible-playbook" \
                    else ("plugins/modules", ".py")
                path = os.path.join(kind[0], m.group(1) + kind[1])
                if not os.path.exists(os.path.join(REPO, path)):
                    problems.append("%s: %s does not exist (%s)" % (cmd, a, path))
    problems += [p for p in (path_problem(a) for a in args) if p]
    return problems


def check_lvslab(args):
    """The problems of `lab/bin/lvslab ARGS`: its subcommand, options, and the command it runs."""
    subs = lvslab_help()[0]
    if not args:
        return []
    sub, rest = args[0], args[1:]
    if sub.startswith("-"):
        return [] if sub in ("-h", "--help") else ["lvslab: no option %s" % sub]
    if sub not in subs:
        return ["lvslab: no subcommand %s" % sub]
    options = lvslab_help(sub)[1]
    problems, inner = [], None
    if "--" in rest:
        inner = rest[rest.index("--") + 1:]
        rest = rest[:rest.index("--")]
    for a in rest:
        if a.startswith("-") and a.split("=")[0] not in options:
            problems.append("lvslab %s: no option %s" % (sub, a))
        else:
            problems += [p for p in [path_problem(a)] if p]
    if inner and sub == "run":
        problems += check_words(inner)
    return problems


def links(text):
    """Relative link targets of a Markdown text (no anchors, no URLs)."""
    return [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text)
            if not re.match(r"^[a-z]+:", t) and not t.startswith("#")]


def read(page):
    with open(os.path.join(REPO, page), encoding="utf-8") as f:
        return f.read()


def test_the_pages_show_commands():
    found = {page: commands(read(page)) for page in PAGES}
    assert "make demo" in [c.split("#")[0].strip() for c in found["README.md"]]
    assert any(c.startswith("lab/bin/lvslab run") for c in found["docs/lab.md"])
    assert sum(len(c) for c in found.values()) > 40


@pytest.mark.parametrize("bogus,expected", [
    ("make demo no-such-target", "no target no-such-target"),
    ("make test NO_SUCH_VARIABLE=1", "no variable NO_SUCH_VARIABLE"),
    ("lab/bin/lvslab run --no-such-option -- true", "no option --no-such-option"),
    ("lab/bin/lvslab frobnicate", "no subcommand frobnicate"),
    ("lab/bin/lvslab run -v -- molecule test -s no-such-scenario", "no scenario no-such-scenario"),
    ("lab/bin/lvslab run -t lab/topologies/nosuch.yml -- python tests/bench/nosuch.py", "nosuch.yml"),
    ("lab/bin/lvslab run -- python tests/bench/nosuch.py", "tests/bench/nosuch.py"),
    ("ansible-playbook -i inventory lvs.cluster.nosuch", "lvs.cluster.nosuch"),
    ("make lab CMD='lvslab nosuch dir1'", "no subcommand nosuch"),
])
def test_a_bogus_command_is_found(bogus, expected):
    problems = check_command(bogus)
    assert any(expected in p for p in problems), problems


def test_real_commands_pass():
    assert check_command("make lab CMD='lvslab exec dir1 -- ipvsadm -Ln'") == []
    assert check_command("lab/bin/lvslab run -v --timeout 5400 -t lab/topologies/dr.yml -- python tests/bench/run.py dr") == []
    assert check_command("LAB_RERUNS=0 make test") == []


@pytest.mark.parametrize("page", PAGES)
def test_every_command_shown_exists(page):
    problems = ["%s: %s" % (c, p) for c in commands(read(page)) for p in check_command(c)]
    assert problems == []


@pytest.mark.parametrize("page", PAGES)
def test_every_path_shown_exists(page):
    problems = []
    for span in inline_code(read(page)):
        for word in span.split():
            problem = path_problem(word)
            if problem:
                problems.append("`%s`: %s" % (span, problem))
    assert problems == []


@pytest.mark.parametrize("page", PAGES)
def test_every_relative_link_exists(page):
    base = os.path.dirname(os.path.join(REPO, page))
    missing = [t for t in links(read(page)) if not glob.glob(os.path.join(base, t))]
    assert missing == []
