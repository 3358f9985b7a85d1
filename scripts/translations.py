"""Keep the Chinese edition (``zh/``) in step with the English book.

The Chinese page of ``chapters/X.md`` is ``zh/chapters/X.md``.  It translates the prose
only: its code cells are the English page's, byte for byte, and its inline numbers are
the same ``{eval}`` expressions, so both pages run the same code and show the same
computed numbers.  This script checks that, and tells a translator what changed:

``status``
    one line per page: ``current``, ``stale`` (the English changed since the translation
    was last accepted), ``untracked`` (never accepted) or ``missing``.
``check [PAGE ...]``
    exit 1 on any problem: a page without its counterpart, a stale translation, code cells
    or ``{eval}`` expressions or labels or cross-reference targets that differ, or a
    paragraph still in English.  ``make test`` runs the same checks (tests/test_translations.py).
``diff PAGE``
    the English changes since the translated version (``git diff`` of two blobs).
``accept PAGE ...``
    after updating a translation: record the English version it now translates (its git
    blob id) in ``zh/translations.yml``.  Refuses while the page has structural problems.

PAGE is a docname (``chapters/01-handshake``) or either edition's file path.

How a correction reaches the Chinese edition: a change to ``chapters/X.md`` changes its
blob id, so ``check`` (and ``make test``) fail with "stale" until a translator has looked
at ``diff``, updated ``zh/chapters/X.md`` and run ``accept``.  A changed code cell fails
twice over: stale, and "code cells differ", until the Chinese page has the same code.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ZH = ROOT / "zh"
RECORD = ZH / "translations.yml"

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Common English words that a title, a name or an identifier rarely has two of, but an
# English sentence always has: the signal of an untranslated paragraph.
ENGLISH_FUNCTION_WORDS = frozenset((
    "the", "a", "an", "of", "to", "in", "is", "are", "was", "were", "be", "been", "that", "this", "these", "those",
    "it", "its", "and", "or", "but", "not", "with", "for", "on", "at", "by", "from", "as", "when", "which", "what",
    "who", "how", "why", "than", "then", "there", "their", "they", "we", "you", "can", "does", "do", "has", "have",
    "had", "will", "would", "should", "may", "must", "if", "so", "into", "only", "also", "each", "every", "after",
    "before", "while", "because", "about",
))


def toc_docnames(toc: Path) -> list[str]:
    """The docnames of a book's ``_toc.yml`` in reading order."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    names = [data["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    for part in data.get("parts", []):
        walk(part.get("chapters", []))
    walk(data.get("chapters", []))
    return names


def git_blob_id(data: bytes) -> str:
    """The id git gives a file with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# ------------------------------------------------------------------ reading a page


@dataclass
class Page:
    """What must agree between the two editions of a page, read from its MyST source."""

    path: Path
    front_matter: str = ""
    code_cells: list[str] = field(default_factory=list)  # each code cell's fence, options and body
    evals: collections.Counter = field(default_factory=collections.Counter)
    labels: list[str] = field(default_factory=list)
    targets: collections.Counter = field(default_factory=collections.Counter)  # {ref}/{doc}/{numref} targets
    prose: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, heading/cell/text)


FENCE = re.compile(r"^(`{3,}|~{3,}|:{3,})\s*(\{[^}]*\})?")
LABEL = re.compile(r"^\(([^()\s]+)\)=\s*$")
EVAL = re.compile(r"\{eval\}`([^`]+)`")
XREF = re.compile(r"\{(ref|doc|numref|eq)\}`([^`]*)`")
# directives whose body is not prose (code, data, generated API documentation)
NON_PROSE = ("{code-cell}", "{code-block}", "{code}", "{math}", "{eval-rst}", "{autofunction}", "{autoclass}",
             "{automodule}", "{autodata}", "{automethod}", "{raw}", "{literalinclude}", "{mermaid}", "{graphviz}")


def without_code_spans(line: str) -> str:
    """The line with its code spans (`` `x` ``, ``` `` {eval}`n` `` ```) blanked out and its
    roles (``{eval}`n` ``) kept: what a role is depends on the ``{name}`` just before the
    backticks, so the line is read from left to right."""
    out, i = [], 0
    while i < len(line):
        if line[i] != "`":
            out.append(line[i])
            i += 1
            continue
        run = len(line[i:]) - len(line[i:].lstrip("`"))
        fence = "`" * run
        end = line.find(fence, i + run)
        while end >= 0 and line[end + run:end + run + 1] == "`":  # a longer run is not the closer
            end = line.find(fence, end + run + 1)
        if end < 0:  # an unmatched backtick is text
            out.append(line[i:i + run])
            i += run
            continue
        if out and out[-1] == "}":  # a role's content: kept
            out.append(line[i:end + run])
        else:
            out.append(" ")
        i = end + run
    return "".join(out)


def _xref_target(kind: str, text: str) -> str:
    match = re.search(r"<([^<>]+)>\s*$", text)
    return f"{kind}:{(match.group(1) if match else text).strip()}"


def read_page(path: Path) -> Page:
    """Split a MyST page into its code cells, {eval} expressions, labels, link targets and prose."""
    text = path.read_text(encoding="utf-8")
    page = Page(path)
    lines = text.split("\n")
    start = 0
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1)
        page.front_matter = "\n".join(lines[: end + 1])
        start = end + 1
    fences: list[tuple[str, bool, list[str], str]] = []  # open: (marker, prose inside?, code lines, directive)
    paragraph: list[str] = []
    para_line = 0

    def flush() -> None:
        nonlocal paragraph
        if paragraph:
            text = " ".join(s.strip() for s in paragraph)
            in_table = any(name.startswith("{list-table}") for _, _, _, name in fences)
            kind = "heading" if text.startswith("#") else "cell" if in_table else "text"
            page.prose.append((para_line, text, kind))
        paragraph = []

    for number, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        fence = FENCE.match(stripped)
        top = fences[-1] if fences else None
        if top and fence and set(stripped) == {top[0][0]} and len(stripped) >= len(top[0]):
            _, _, body, _ = fences.pop()  # the closing fence of the innermost block
            flush()
            if body:
                page.code_cells.append("\n".join([*body, stripped]))
            continue
        if top and not top[1]:  # inside code: not prose
            if top[2]:
                top[2].append(line)
            continue
        if fence:
            flush()
            marker, directive = fence.group(1), fence.group(2) or ""
            # a colon fence is always a directive with MyST content; a backtick fence is prose
            # only for a directive that is not code (an admonition, a dropdown)
            prose_inside = marker[0] == ":" or (bool(directive) and not directive.startswith(NON_PROSE))
            fences.append((marker, prose_inside, [stripped] if directive.startswith("{code-cell}") else [], directive))
            continue
        if not stripped:
            flush()
            continue
        label = LABEL.match(stripped)
        if label:
            flush()
            page.labels.append(label.group(1))
            continue
        if stripped.startswith(":") and re.match(r"^:[\w-]+:", stripped) and not paragraph:
            continue  # a directive option (":tags: [...]", ":class: ...")
        if stripped.startswith(("<!--", "+++")) or re.fullmatch(r"\|?[\s:|-]+\|?", stripped):
            flush()
            continue
        roles = without_code_spans(line)
        page.evals.update(EVAL.findall(roles))
        page.targets.update(_xref_target(kind, target) for kind, target in XREF.findall(roles))
        if stripped.startswith("|"):
            flush()
            page.prose += [(number, cell.strip(), "cell") for cell in stripped.strip("|").split("|") if cell.strip()]
            continue
        if stripped.startswith(("#", "* ", "- ", ">")) or re.match(r"^\d+\.\s", stripped):
            flush()  # a heading, list item, table row or quote: its own unit
            para_line = number
            paragraph = [stripped]
            if stripped.startswith("#"):
                flush()
            continue
        if not paragraph:
            para_line = number
        paragraph.append(stripped)
    flush()
    return page


def english_words(text: str) -> list[str]:
    """The English words of a paragraph once code, roles, math, links' targets and italic
    titles are taken out."""
    text = re.sub(r"\$\$.*?\$\$", " ", text)  # display math on one line
    text = re.sub(r"`[^`]*`", " ", text)  # code spans and roles' contents
    text = re.sub(r"\{[\w:-]+\}", " ", text)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"\b\w*_\w*\b", " ", text)  # tcp_syn_retries, SO_LINGER
    text = re.sub(r"(?<![*\w])\*[^*]+\*(?!\*)", " ", text)  # *Title of a paper*
    text = re.sub(r"“[^”]*”|\"[^\"]*\"", " ", text)  # "quoted titles"
    return re.findall(r"[A-Za-z][A-Za-z']+", text)


# Names that stay English in a Chinese heading or table cell.
PROPER_NOUNS = frozenset((
    "Linux", "FreeBSD", "Windows", "macOS", "Python", "Scapy", "Wireshark", "Binder", "JupyterLab", "Jupyter",
    "Colab", "Sphinx", "packetdrill", "tcpbook", "tcpdump", "Playwright", "Nagle", "Karn", "Jacobson", "Reno",
    "NewReno", "Cubic", "CUBIC",
))


# English words that Chinese technical text uses as they are ("SYN cookie").
KEPT_IN_CHINESE = frozenset(("cookie", "cookies"))


def is_untranslated(paragraph: str, kind: str = "text") -> bool:
    """A paragraph, heading or table cell (``kind``) left in English.

    A heading or table cell is English when it has no Chinese character and a word that
    is not a name (``Overview``, ``No connection``).  A paragraph or list item is English
    when it has no Chinese character and reads like English — two function words ("the",
    "of" …) or three lower-case words — or when it has Chinese but fewer Chinese characters
    than English words (an English sentence with a Chinese term in parentheses).  Code,
    roles, math, URLs, identifiers with ``_`` and titles in italics or quotes are not words.
    """
    cjk = len(CJK.findall(paragraph))
    # SYN, RFC, MSL are not words; nor the English terms Chinese technical writing keeps
    words = [w for w in english_words(paragraph) if not w.isupper() and w.lower() not in KEPT_IN_CHINESE]
    lower = sum(w.islower() and len(w) >= 3 for w in words)
    if kind in ("heading", "cell") or len(words) <= 3:
        if cjk:
            return False
        return lower >= 1 or (kind != "text" and any(w not in PROPER_NOUNS for w in words))
    if cjk:
        return lower >= 4 and cjk < lower
    function = sum(w.lower() in ENGLISH_FUNCTION_WORDS for w in words)
    return function >= 2 or lower >= 3


# ------------------------------------------------------------------ comparing


def load_record(root: Path = ROOT) -> dict[str, dict]:
    record = root / "zh" / RECORD.name
    if not record.is_file():
        return {}
    data = yaml.safe_load(record.read_text(encoding="utf-8")) or {}
    return dict(data.get("pages") or {})


def save_record(record: dict[str, dict]) -> None:
    header = ("# The English version each Chinese page translates, by git blob id (see scripts/translations.py).\n"
              "# `translations.py accept PAGE` updates an entry after the translation was brought up to date.\n")
    RECORD.write_text(header + yaml.safe_dump({"pages": dict(sorted(record.items()))}, allow_unicode=True,
                                              sort_keys=True), encoding="utf-8")


def english_source(docname: str, root: Path = ROOT) -> Path:
    return root / f"{docname}.md"


def chinese_source(docname: str, root: Path = ROOT) -> Path:
    return root / "zh" / f"{docname}.md"


def structural_problems(docname: str, root: Path = ROOT) -> list[str]:
    """What differs between the two editions of a page (in the book folder ``root``),
    apart from being stale."""
    en_path, zh_path = english_source(docname, root), chinese_source(docname, root)
    if not en_path.is_file():
        return [f"{docname}: no English page {en_path.relative_to(root)}"]
    if not zh_path.is_file():
        return [f"{docname}: no Chinese page {zh_path.relative_to(root)}"]
    en, zh = read_page(en_path), read_page(zh_path)
    problems = []
    where = zh_path.relative_to(root)
    if en.front_matter != zh.front_matter:
        problems.append(f"{where}: the front matter differs from the English page's")
    if en.code_cells != zh.code_cells:
        for i, (a, b) in enumerate(zip(en.code_cells, zh.code_cells), start=1):
            if a != b:
                first = next((k for k, (x, y) in enumerate(zip(a.split("\n"), b.split("\n"))) if x != y),
                             min(len(a.split("\n")), len(b.split("\n"))))
                problems.append(f"{where}: code cell {i} differs from the English page's (line {first + 1} of the cell)")
                break
        if len(en.code_cells) != len(zh.code_cells):
            problems.append(f"{where}: {len(zh.code_cells)} code cells, the English page has {len(en.code_cells)}")
    if en.evals != zh.evals:
        missing, extra = en.evals - zh.evals, zh.evals - en.evals
        detail = "; ".join(filter(None, [
            "missing " + ", ".join(f"{k}×{v}" for k, v in sorted(missing.items())) if missing else "",
            "extra " + ", ".join(f"{k}×{v}" for k, v in sorted(extra.items())) if extra else ""]))
        problems.append(f"{where}: {{eval}} expressions differ from the English page's ({detail})")
    if sorted(en.labels) != sorted(zh.labels):
        problems.append(f"{where}: labels differ: English {sorted(set(en.labels) - set(zh.labels))} "
                        f"vs Chinese {sorted(set(zh.labels) - set(en.labels))}")
    if en.targets != zh.targets:
        missing, extra = en.targets - zh.targets, zh.targets - en.targets
        problems.append(f"{where}: cross-reference targets differ (missing {sorted(missing)}, extra {sorted(extra)})")
    for line, paragraph, kind in zh.prose:
        if is_untranslated(paragraph, kind):
            problems.append(f"{where}:{line}: still English: {paragraph[:90]}")
    return problems


def staleness(docname: str, record: dict[str, dict], root: Path = ROOT) -> str:
    """``current``, ``stale``, ``untracked`` or ``missing``."""
    if not chinese_source(docname, root).is_file():
        return "missing"
    entry = record.get(docname)
    if not entry:
        return "untracked"
    current = git_blob_id(english_source(docname, root).read_bytes())
    return "current" if entry.get("blob") == current else "stale"


def all_docnames(root: Path = ROOT) -> tuple[list[str], list[str]]:
    zh_toc = root / "zh" / "_toc.yml"
    return toc_docnames(root / "_toc.yml"), toc_docnames(zh_toc) if zh_toc.is_file() else []


def check(docnames: list[str] | None = None, root: Path = ROOT) -> list[str]:
    """Every problem of the given pages (default: the whole book, both tables of contents)."""
    english, chinese = all_docnames(root)
    problems = []
    if docnames is None:
        docnames = english
        if english != chinese:
            problems.append(f"zh/_toc.yml lists {chinese}, the English _toc.yml {english}: "
                            "the two books must have the same pages in the same order")
    record = load_record(root)
    for docname in docnames:
        problems += structural_problems(docname, root)
        state = staleness(docname, record, root)
        if state in ("stale", "untracked"):
            problems.append(f"zh/{docname}.md: {state} — the English page changed since this translation was "
                            f"accepted; see `scripts/translations.py diff {docname}`, update, then `accept`"
                            if state == "stale" else
                            f"zh/{docname}.md: untracked — run `scripts/translations.py accept {docname}` once it "
                            "translates the current English page")
    return problems


def docname_of(arg: str) -> str:
    path = Path(arg)
    if path.suffix == ".md":
        path = path.with_suffix("")
    parts = path.resolve().relative_to(ROOT).parts if path.is_absolute() or (ROOT / path).exists() \
        or (ROOT / path.with_suffix(".md")).exists() else path.parts
    if parts and parts[0] == "zh":
        parts = parts[1:]
    return "/".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="one line per page")
    p_check = sub.add_parser("check", help="exit 1 on any problem")
    p_check.add_argument("pages", nargs="*")
    p_diff = sub.add_parser("diff", help="English changes since the translated version")
    p_diff.add_argument("page")
    p_accept = sub.add_parser("accept", help="record the English version a page now translates")
    p_accept.add_argument("pages", nargs="+")
    args = parser.parse_args(argv)
    english, _ = all_docnames()

    def known(arg: str) -> str:
        name = docname_of(arg)
        if name not in english:
            parser.exit(2, f"translations.py: page {arg!r} is not in _toc.yml; pages: {', '.join(english)}\n")
        return name

    if args.command == "status":
        record = load_record()
        for name in english:
            print(f"{staleness(name, record):10} {name}")
        return 0
    if args.command == "check":
        problems = check([known(a) for a in args.pages] if args.pages else None)
        for problem in problems:
            print(problem)
        print(f"translations: {len(problems)} problem(s)" if problems else "translations: all pages agree")
        return 1 if problems else 0
    if args.command == "diff":
        name = known(args.page)
        entry = load_record().get(name)
        if not entry:
            print(f"{name}: never accepted; translate the whole page")
            return 1
        current = subprocess.run(["git", "hash-object", "-w", str(english_source(name))], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.strip()
        done = subprocess.run(["git", "diff", entry["blob"], current], cwd=ROOT)
        return done.returncode
    # accept
    record = load_record()
    failed = False
    for arg in args.pages:
        name = known(arg)
        problems = structural_problems(name)
        if problems:
            failed = True
            print("\n".join(problems))
            print(f"{name}: not accepted (fix the problems above first)")
            continue
        path = english_source(name)
        subprocess.run(["git", "hash-object", "-w", str(path)], cwd=ROOT, capture_output=True, check=False)
        record[name] = {"source": f"{name}.md", "blob": git_blob_id(path.read_bytes())}
        print(f"{name}: accepted as the translation of {name}.md at blob {record[name]['blob'][:12]}")
    save_record(record)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
