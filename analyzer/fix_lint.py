"""Fix text safe to paste whole: the checks `k8s-bundle rules lint` runs on every `fix:`.

A support engineer pastes a fix block whole into a root shell (or an elevated PowerShell).
Nothing in it may destroy what the user customised: no `>` truncation of a config file, no
`tee` without `-a` or PowerShell `Set-Content`/`Out-File` onto one, no `cp` over one without
keeping it, no `sed -i` without a backup suffix, no destructive step (`rm -r`, removing a
state database, `kubeadm reset`, `iptables -F`, `ip link delete`, `Remove-Item -Recurse`, ...)
without a test in front of it. docs/rule-format.md ("Fix text") states the rules; each check
below is named, and its message names the rule file, the language, the line and the safe
alternative.

This is a lint, not a shell parser: it tokenises one logical line at a time (quotes, `$(...)`,
continuations, heredoc bodies skipped), splits it into simple commands joined by `|`, `&&`,
`||`, `;` and braces, and looks at each command's words and redirects. What it cannot see it
does not guess about: text inside `$(...)` and heredoc bodies is not checked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

SH, PS = "sh", "powershell"

# Fence info strings: which are shell commands, which are data (YAML, JSON: never run).
_SHELL_FENCES = {"": None, "sh": SH, "bash": SH, "shell": SH, "console": SH, "zsh": SH,
                 "powershell": PS, "ps1": PS, "pwsh": PS, "ps": PS}

# Where a truncating write is harmless: scratch space and kernel interfaces, never a config file.
_SCRATCH = re.compile(r"""^["']?(/dev/|/tmp/|/proc/|/sys/|\$TMPDIR/|\$\{TMPDIR|\$null$|\$env:TEMP|\$env:TMP\b|\$HOME/k8s-bundle-)""",
                      re.IGNORECASE)

# `<node>`, `<calico-node pod>`: placeholders for the reader, not redirections. A `<` right
# after a digit or another `<`, or followed by space, `/`, a quote or `(`, is the shell's own.
_PLACEHOLDER = re.compile(r"(?<![<\d])<([^\s<>/|&;'\"(][^<>|&;\n]*?)>")

# "# destructive: why" on the line above a destructive command that asks for confirmation itself.
_DESTRUCTIVE_NOTE = re.compile(r"^\s*#\s*destructive:\s*\S", re.IGNORECASE)


@dataclass
class Command:
    """One simple command of a logical line (or a PowerShell brace, words == ["{"] / ["}"])."""

    words: list[str]                       # unquoted words, redirections removed
    redirects: list[tuple[str, str]]       # (operator, target): ('>', '/etc/x')
    joiner: str                            # operator before it: '', '|', '&&', '||', ';', '&'
    tests: list[list[str]] = field(default_factory=list)   # the tests it runs behind (words)

    @property
    def argv(self) -> list[str]:
        """The words without a leading `sudo`, `env`, `VAR=value` or `&` (PowerShell call)."""
        w = list(self.words)
        while w and (w[0] in ("sudo", "env", "&", "exec", "then", "do", "else", "!")
                     or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w[0])):
            w = w[1:]
        return w

    @property
    def name(self) -> str:
        argv = self.argv
        return argv[0].lower().rsplit("/", 1)[-1].rsplit("\\", 1)[-1] if argv else ""


@dataclass
class Problem:
    check: str
    line: str
    message: str


# -- snippets ------------------------------------------------------------------------------
def snippets(markdown: str, default: str) -> Iterator[tuple[str, str, bool]]:
    """(dialect, text, inline) for every fenced shell block and every inline code span.

    `default` is the dialect of inline code and of a fence without an info string (PowerShell
    for Windows-only rules). YAML/JSON/TOML fences hold data and are skipped.
    """
    lines = markdown.splitlines()
    i = 0
    prose: list[str] = []
    while i < len(lines):
        m = re.match(r"^\s*(`{3,}|~{3,})\s*([A-Za-z0-9_+-]*)", lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        fence, info = m.group(1), m.group(2).lower()
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        if info in _SHELL_FENCES:
            yield (_SHELL_FENCES[info] or default), "\n".join(body), False
    for span in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", "\n".join(prose)):
        yield default, span, True


# -- logical lines -------------------------------------------------------------------------
def logical_lines(text: str, dialect: str) -> list[str]:
    """Join continuation lines, drop heredoc / here-string bodies (data, not commands)."""
    out: list[str] = []
    raw = text.splitlines()
    i = 0
    while i < len(raw):
        line = raw[i]
        cont = "\\" if dialect == SH else "`"
        while line.rstrip().endswith(cont) and i + 1 < len(raw):
            i += 1
            line = line.rstrip()[:-1] + " " + raw[i].strip()
        i += 1
        out.append(line)
        if dialect == SH:
            for marker in re.findall(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?", _unplaceholder(line)):
                while i < len(raw) and raw[i].strip() != marker:
                    i += 1
                i += 1
        elif re.search(r"@['\"]\s*$", line):          # PowerShell here-string: @' ... '@
            while i < len(raw) and not re.match(r"^\s*['\"]@", raw[i]):
                i += 1
            i += 1
    return out


def _unplaceholder(line: str) -> str:
    return _PLACEHOLDER.sub(lambda m: "\u27e8" + m.group(1).replace(" ", "_") + "\u27e9", line)


# -- tokenising one line -------------------------------------------------------------------
_SH_OPS = ("&&", "||", "|&", "|", ";", "&")
# [n]> [n]>> >| &> &>> *> (PowerShell) and the input forms; fd duplication (2>&1) handled apart
_REDIR = re.compile(r"(\d*|&|\*)(>>|>\||>|<<<|<<-|<<|<)")


def split_commands(line: str, dialect: str) -> list[Command]:
    """Split one logical line into simple commands with their words and redirections."""
    text = _unplaceholder(line)
    commands: list[Command] = []
    cur = Command([], [], "")
    pending: str | None = None                     # a redirection waiting for its target
    i, n = 0, len(text)

    def finish(next_joiner: str) -> None:
        nonlocal cur
        if cur.words or cur.redirects:
            commands.append(cur)
        cur = Command([], [], next_joiner)

    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c == "#":                               # a comment starts at a word boundary
            break
        if dialect == SH:
            op = next((o for o in _SH_OPS if text.startswith(o, i)), None)
            if op is not None and not text.startswith("&>", i):
                finish(op)
                i += len(op)
                continue
        elif text.startswith(("&&", "||"), i) or c in ";|{}":
            op = text[i:i + 2] if c in "&|" and text.startswith(("&&", "||"), i) else c
            if c in "{}":
                finish(c)
                commands.append(Command([c], [], c))
            else:
                finish(op)
            i += len(op)
            continue
        m = _REDIR.match(text, i)
        if m and (m.group(1) == "" or i == 0 or text[i - 1] in " \t;|&("):
            i = m.end()
            if text.startswith("&", i) and m.group(2) in (">", "<"):   # 2>&1, >&2: no file
                i += 1
                while i < n and (text[i].isdigit() or text[i] == "-"):
                    i += 1
                continue
            if m.group(2) in ("<<", "<<-"):        # heredoc marker; its body was dropped
                _, i = _read_word(text, i, dialect)
                continue
            pending = m.group(0)
            continue
        word, i = _read_word(text, i, dialect)
        if pending is not None:
            cur.redirects.append((pending, word))
            pending = None
        else:
            cur.words.append(word)
    finish("")
    return commands


def _read_word(text: str, i: int, dialect: str) -> tuple[str, int]:
    """One word from i: quotes removed, `$(...)` and `(...)` kept whole (not looked into)."""
    out: list[str] = []
    n = len(text)
    while i < n and text[i] in " \t":
        i += 1
    stops = " \t;&|<>" if dialect == SH else " \t;|{}>"
    while i < n:
        c = text[i]
        if c in stops:
            break
        if c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            out.append(text[i + 1:j])
            i = j + 1
        elif c == '"':
            j = i + 1
            esc = "\\" if dialect == SH else "`"
            while j < n and text[j] != '"':
                j += 2 if text[j] == esc else 1
            out.append(text[i + 1:min(j, n)])
            i = j + 1
        elif c == "\\" and dialect == SH and i + 1 < n:
            out.append(text[i + 1])
            i += 2
        elif c == "(" or (c == "$" and text.startswith("$(", i)):
            start = i
            i += 1 if c == "(" else 2
            depth = 1
            while i < n and depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            out.append(text[start:i])
        else:
            out.append(c)
            i += 1
    return "".join(out), i


# -- guards --------------------------------------------------------------------------------
def _is_test(cmd: Command, dialect: str) -> bool:
    """A command whose exit status answers a question and changes nothing."""
    w = [x.lower() for x in cmd.argv]
    if not w:
        return False
    head = w[0]
    if head in ("[", "[[", "test", "pgrep", "mountpoint", "findmnt", "read", "cmp"):
        return True
    if head == "command" and w[1:2] in (["-v"], ["-V"]):      # `command rm ...` runs rm
        return True
    if head in ("grep", "egrep", "fgrep") and any(re.match(r"^-[a-z]*q", x) or x == "--quiet" for x in w[1:]):
        return True
    if head == "systemctl" and any(x in ("is-active", "is-enabled", "is-failed") for x in w[1:]):
        return True
    if head == "ip" and "show" in w:
        return True
    if dialect == PS:
        return head in ("where-object", "where", "?") or any(k in x for x in w for k in ("test-path", "read-host", "select-string"))
    return False


def mark_guards(lines: list[list[Command]], dialect: str) -> None:
    """Set `tests` on every command: the tests before it in its `&&`/`||`/`|` chain, and the
    conditions of the `if`/`while` blocks it is in (across lines: a block may span several)."""
    blocks: list[list[str] | None] = []            # condition words, None for for/case/plain {
    for cmds in lines:
        chain: list[list[str]] = []
        after_condition: list[str] | None = None   # PowerShell: `if (...)` waits for its `{`
        for cmd in cmds:
            if cmd.joiner in ("", ";", "&"):       # braces keep the chain: `| Where-Object { } |`
                chain = []
            head = cmd.words[0].lower() if cmd.words else ""
            if dialect == PS and cmd.words in (["{"], ["}"]):
                if cmd.words == ["{"]:
                    blocks.append(after_condition)
                    after_condition = None
                elif blocks:
                    blocks.pop()
                continue
            if dialect == SH:
                while cmd.words and cmd.words[0] in ("then", "do", "else", "{"):
                    cmd.words = cmd.words[1:]
                head = cmd.words[0].lower() if cmd.words else ""
                if head in ("fi", "done", "esac", "}"):
                    if blocks:
                        blocks.pop()
                    continue
                if head in ("if", "while", "until"):
                    cmd.words = cmd.words[1:]
                    blocks.append(cmd.words or ["if"])   # any condition is a test
                    chain.append(cmd.words)
                    continue
                if head == "elif":
                    if blocks:
                        blocks[-1] = cmd.words[1:]
                    continue
                if head in ("for", "case"):
                    blocks.append(None)
                    continue
            elif head in ("if", "elseif", "while"):
                after_condition = cmd.words[1:]
                continue
            elif head in ("else", "foreach", "for"):
                after_condition = ["else"] if head == "else" else None
                continue
            cmd.tests = [b for b in blocks if b] + list(chain)
            if _is_test(cmd, dialect):
                chain.append(cmd.argv)


# -- the checks ----------------------------------------------------------------------------
def _scratch(path: str) -> bool:
    return bool(_SCRATCH.match(path)) or path in ("-", "")


def _guarded_for(cmd: Command, path: str) -> bool:
    """A test before the command names this very path (`[ -e F ] || ...`, Test-Path F)."""
    return any(path in " ".join(t) for t in cmd.tests)


def _positional(args: list[str], takes_value: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a.startswith("-") and a != "-":
            skip = a.lower() in takes_value
        else:
            out.append(a)
    return out


def _ps_target(args: list[str]) -> str | None:
    """The file a Set-Content / Out-File / Tee-Object writes: -Path/-FilePath/-LiteralPath or
    the first positional argument."""
    for i, a in enumerate(args):
        if a.lower() in ("-path", "-filepath", "-literalpath") and i + 1 < len(args):
            return args[i + 1]
    pos = _positional(args, ("-encoding", "-value", "-inputobject", "-width", "-variable", "-stream"))
    return pos[0] if pos else None


_TRUNCATE_FIX = {
    SH: "write under /tmp, or a drop-in of our own behind `[ -e F ] ||`, append idempotently "
        "(`grep -q L F || echo L >> F`), or copy it first (`cp -a F F.bak.$(date +%s)`)",
    PS: "write under $env:TEMP, or a new file inside `if (-not (Test-Path F)) { ... }`, append "
        "(`Add-Content`, `-Append`), or copy it first (`Copy-Item F F.bak.$(Get-Date -Format yyyyMMddHHmmss)`)",
}

_DESTRUCTIVE_FIX = {
    SH: "put a test in front of it (`[ -e X ] && ...`, `if ...; then ... fi`), or a `# destructive: <why>` "
        "line above a form that asks first (no -f; rm -I) as the last line of the block",
    PS: "put it inside `if (...) { ... }` or behind `| Where-Object ...`, or a `# destructive: <why>` "
        "line above a form that asks first (-Confirm) as the last line of the block",
}


# A file holding a daemon's whole state (HNS.data, weave-netdata.db, bolt/sqlite stores):
# removing it is as destructive as removing a tree; moving it aside keeps it.
_STATE_DB = re.compile(r"\.(db|data|sqlite)$", re.IGNORECASE)

_MOVE_ASIDE = {SH: "move it aside instead (`mv F F.bak.$(date +%s)`)",
               PS: "move it aside instead (`Move-Item F \"F.bak.$(Get-Date -Format yyyyMMddHHmmss)\"`)"}


def _destructive(cmd: Command, dialect: str) -> tuple[str, bool] | None:
    """(what, asks_for_confirmation) when the command destroys state, else None."""
    argv = cmd.argv
    name, args = cmd.name, [a for a in argv[1:]]
    low = [a.lower() for a in args]
    if dialect == PS or name.startswith(("remove-", "clear-", "format-")):
        confirm = any(a == "-confirm" or a == "-confirm:$true" for a in low)
        if name in ("remove-item", "rm", "del", "rmdir", "ri") and any(a.startswith("-r") for a in low):
            return "Remove-Item -Recurse", confirm
        if name in ("remove-item", "rm", "del", "ri") and any(_STATE_DB.search(a) for a in _positional(args)):
            return f"{argv[0]} of a state database", confirm
        if name.startswith("remove-hns"):
            return argv[0], confirm
        if name in ("clear-disk", "format-volume", "remove-partition", "initialize-disk"):
            return argv[0], confirm
        if dialect == PS:
            return None
    opts = "".join(a[1:] for a in args if re.match(r"^-[A-Za-z]+$", a))
    if name == "rm" and ("r" in opts or "R" in opts or "--recursive" in args):
        if all(_scratch(p) for p in _positional(args)):
            return None
        return "rm -r", "i" in opts or "I" in opts or "--interactive" in args
    if name == "rm" and any(_STATE_DB.search(p) for p in _positional(args)):
        return "rm of a state database", "i" in opts or "--interactive" in args
    if name == "kubeadm" and "reset" in args:
        return "kubeadm reset", not ("f" in opts or "--force" in args)
    if re.match(r"^ip6?tables(-legacy|-nft)?$", name) and (
            re.search(r"[FX]", opts) or "--flush" in args or "--delete-chain" in args):
        return f"{name} -F/-X", False
    if name == "ip" and len(args) >= 2 and args[0] in ("link", "l") and args[1] in ("delete", "del"):
        return "ip link delete", False
    if name == "ip" and len(args) >= 2 and args[0] in ("addr", "address", "a") and args[1] == "flush":
        return "ip addr flush", False
    if name == "ipvsadm" and ("C" in opts or "--clear" in args):
        return "ipvsadm -C", False
    if name == "nft" and args[:1] in (["flush"], ["delete"]):
        return f"nft {args[0]}", False
    if name == "etcdctl" and ("del" in args or "delete" in args):
        return "etcdctl del", False
    if name.startswith("mkfs") or name == "wipefs" or (name == "dd" and any(a.startswith("of=/dev/") for a in args)):
        return name, False
    return None


def _copy_destination(name: str, args: list[str], dialect: str) -> str | None:
    """Where a cp / install / Copy-Item writes, unless it keeps or refuses to replace a file."""
    if dialect == SH and name in ("cp", "install"):
        opts = "".join(a[1:] for a in args if re.match(r"^-[A-Za-z]+$", a))
        if set(opts) & set("inbu") or any(a.startswith(("--backup", "--no-clobber", "--interactive", "--update"))
                                          for a in args):
            return None                    # -i asks, -n keeps, -b/--backup keeps F~, -u only newer
        if any(a in ("-t", "--target-directory") or a.startswith("--target-directory=") for a in args):
            return None                    # into a directory
        pos = _positional(args, ("-S", "--suffix", "-m", "--mode", "-o", "--owner", "-g", "--group"))
        return pos[-1] if len(pos) >= 2 else None
    if dialect == PS and name in ("copy-item", "copy", "cpi", "cp"):
        low = [a.lower() for a in args]
        if "-confirm" in low:
            return None
        for i, a in enumerate(low):
            if a == "-destination" and i + 1 < len(args):
                return args[i + 1]
        pos = _positional(args, ("-path", "-literalpath", "-filter", "-include", "-exclude", "-credential"))
        return pos[1] if len(pos) >= 2 else None
    return None


def _fresh_or_dir(path: str) -> bool:
    """A destination that names a directory or a new, time-stamped file."""
    return (path.endswith(("/", "\\")) or path in (".", "..", "~", "$HOME") or "$(date" in path
            or "$(Get-Date" in path)


def check_snippet(text: str, dialect: str) -> list[Problem]:
    """Every problem in one fenced block or inline code span."""
    problems: list[Problem] = []
    lines = logical_lines(text, dialect)
    parsed = [split_commands(line, dialect) for line in lines]
    mark_guards(parsed, dialect)
    backed_up: set[str] = set()
    commands_at = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]
    last = commands_at[-1] if commands_at else -1
    for idx, (line, cmds) in enumerate(zip(lines, parsed)):
        shown = " ".join(line.split())
        noted = idx > 0 and bool(_DESTRUCTIVE_NOTE.match(lines[idx - 1]))

        def add(check: str, message: str) -> None:
            # placeholders were bracketed for the tokeniser; show them as the author wrote them
            problems.append(Problem(check, shown, message.replace("\u27e8", "<").replace("\u27e9", ">")))

        for cmd in cmds:
            if cmd.words in (["{"], ["}"]):
                continue
            name, argv = cmd.name, cmd.argv
            args = argv[1:]

            def unsafe_target(path: str) -> bool:
                return not (_scratch(path) or _guarded_for(cmd, path) or path in backed_up)

            # truncating-redirect: `> F` (not >>, not 2>&1, not /dev/null or /tmp)
            for op, target in cmd.redirects:
                if ">" in op and ">>" not in op and unsafe_target(target):
                    add("truncating-redirect", f"`{op} {target}` overwrites a file the user may have "
                        f"customised; {_TRUNCATE_FIX[dialect]}")
            # append-not-idempotent: a second paste repeats the line (a duplicate key breaks YAML/TOML)
            appends = [t for op, t in cmd.redirects if ">>" in op]
            if dialect == SH and name == "tee" and any(a in ("-a", "--append") or re.match(r"^-[a-z]*a", a) for a in args):
                appends += _positional(args)
            if dialect == PS and (name in ("add-content", "ac") or (
                    name in ("out-file", "tee-object") and "-append" in [a.lower() for a in args])):
                appends += [t for t in [_ps_target(args)] if t]
            for target in appends:
                if not (_scratch(target) or _guarded_for(cmd, target)):
                    add("append-not-idempotent", f"appending to {target} again on a second paste repeats the "
                        "line; guard it with a test that names the file: "
                        + ("`grep -q '^KEY' F || echo 'KEY: v' >> F`" if dialect == SH
                           else "`if (-not (Select-String -Quiet -Path F -Pattern '^KEY')) { Add-Content F 'KEY = v' }`"))
            # tee-overwrite: tee without -a
            if name == "tee" and dialect == SH and not any(a in ("-a", "--append") or re.match(r"^-[a-z]*a", a) for a in args):
                for target in _positional(args):
                    if unsafe_target(target):
                        add("tee-overwrite", f"`tee {target}` overwrites it; use `tee -a`, "
                            f"or {_TRUNCATE_FIX[SH]}")
            # powershell-overwrite: Set-Content / Out-File / Tee-Object without -Append
            if name in ("set-content", "sc", "out-file", "tee-object", "tee") and dialect == PS:
                low = [a.lower() for a in args]
                target = _ps_target(args)
                if not ({"-append", "-noclobber"} & set(low)) and target and unsafe_target(target):
                    add("powershell-overwrite", f"`{argv[0]} {target}` replaces the file; {_TRUNCATE_FIX[PS]}")
            # sed-in-place-no-backup: sed -i / perl -pi without a suffix
            if name in ("sed", "perl"):
                for a in args:
                    bare = re.match(r"^-[A-Za-z]*i$", a) or a == "--in-place"
                    if bare:
                        add("sed-in-place-no-backup", f"`{name} {a}` edits in place without a backup; "
                            f"give a suffix: `{name} {a}.bak` (or `{name} {a}.bak.$(date +%s)`)")
                        break
            # destructive-unguarded
            found = _destructive(cmd, dialect)
            if found and not cmd.tests:
                what, asks = found
                if not asks:
                    instead = _DESTRUCTIVE_FIX[dialect]
                    if what.endswith("state database"):
                        instead = f"{_MOVE_ASIDE[dialect]}, or {instead}"
                    add("destructive-unguarded", f"`{what}` is destructive and unguarded; {instead}")
                elif not noted:
                    add("destructive-unguarded", f"`{what}` is destructive: it asks first, so put a "
                        "`# destructive: <why>` line right above it (or a test in front of it)")
                elif idx != last:
                    # pasted whole, the prompt would take the next pasted line as its answer
                    add("destructive-unguarded", f"`{what}` asks for confirmation, so it must be the last "
                        "command of its block: the prompt would read the next pasted line as its answer")
            # copy-overwrite: cp / Copy-Item onto a file that may exist, with nothing kept
            dest = _copy_destination(name, args, dialect)
            if dest and unsafe_target(dest) and not _fresh_or_dir(dest):
                add("copy-overwrite", f"`{argv[0]} ... {dest}` replaces it if it exists; "
                    + ("use `cp -b` (keeps F~), `cp -n`, or a test naming it (`[ -e F ] || cp ...`)" if dialect == SH
                       else "test it first (`if (-not (Test-Path F)) { Copy-Item ... }`) or copy the old one aside"))
            # a copy of a file taken before it is overwritten makes the later write safe
            if name in ("cp", "copy-item", "copy", "cpi"):
                if dialect == PS:
                    src = _ps_target(args)
                    if src:
                        backed_up.add(src)
                else:
                    pos = _positional(args, ("-t", "--target-directory", "-S", "--suffix"))
                    if pos:
                        backed_up.add(pos[0])
    return problems


def lint_fix(rule_path: str, fix: dict[str, str], platforms: list[str]) -> list[str]:
    """One line per problem: `<file>: fix.<lang>: [<check>] `<line>`: <why>; <instead>`."""
    default = PS if platforms and all(p == "windows" for p in platforms) else SH
    out: list[str] = []
    for lang in sorted(fix):
        for dialect, text, inline in snippets(fix[lang] or "", default):
            for p in check_snippet(text, dialect):
                line = p.line if len(p.line) <= 110 else p.line[:107] + "..."
                where = "inline code" if inline else f"```{dialect} block"
                out.append(f"{rule_path}: fix.{lang} ({where}): [{p.check}] `{line}`: {p.message}")
    return out
