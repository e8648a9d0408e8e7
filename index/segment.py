"""Exhibit text -> numbered paragraphs, as pure functions.

The rule (also in docs/design.md, so a person can find ¶ 12 by hand):

1. Split the exhibit on blank lines into blocks.
2. Drop blocks with no letter, digit or Chinese character (rules, dots, page furniture).
3. A block whose first line starts with ``|`` is a markdown table. A table block that directly
   follows another and whose header row is empty continues that table (tables broken at a
   page boundary come out this way) and is merged into it.
4. Repair page-break splits: a prose block that is not a markdown heading (``#``) is joined to
   the next prose block unless the next starts with an enumeration marker, heading or dateline ("1.", "(2)", "一、", "Article 5",
   "#", "2022-05-05"), when either
   a. the next starts in lower case (no paragraph does), or
   b. the first does not end with terminal punctuation (. ! ? : ; 。 ！ ？ ： ；) and
      - it ends with a comma, dash or function word ("and", "of", "the", ...), or
      - it is body text (12+ words, or 30+ Chinese characters) and the next is body text
        too or ends a sentence.
5. Number what is left 1..n in reading order. Lines inside a prose paragraph are joined with a
   space (no space between two Chinese characters); table rows keep their line breaks, and
   Markdown backslash escapes are undone (``\\$370`` reads ``$370``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_LATIN_RE = re.compile(r"[A-Za-z]")
_CONTENT_RE = re.compile(f"[0-9A-Za-z{_CJK}]|[^\\W_]")
_BLANK_LINE_RE = re.compile(r"\n[ \t\u3000\xa0]*\n")
_EXHIBIT_LINE_RE = re.compile(r"^[ \t]*EXHIBIT[ \t]+(\d{1,5})[ \t]*$", re.MULTILINE)

# Closing quotes, brackets and emphasis that may follow the real last character of a sentence.
_TRAILERS = "\"'\u201d\u2019)]}\uff09\u3011\u300d\u300f*_ \t"
_TERMINAL = set(".!?:;\u3002\uff01\uff1f\uff1a\uff1b\u2026")
_CONTINUING_END = set(",\uff0c\u3001-\u2013\u2014/(\uff08\u201c\u300a")
_FUNCTION_WORDS = frozenset(
    "a an and or nor but the of to in on at by for from with as that which who whose whom into "
    "onto than such its their his her our this these those be is are was were been has have had "
    "will would shall should may can could not including between among under over within without "
    "upon via per about against".split()
)
_ENUM_RE = re.compile(
    r"""^\s*(?:
        \(?\d{1,3}[.)\uff09\u3001]\s*\S      # 1.  1)  (1)  1、
      | \(?[ivxlc]{1,5}[.)]\s              # i.  (iv)
      | \(?[a-z][.)]\s                     # a.  (b)
      | [\uff08(][\u4e00-\u9fff\d]{1,3}[\uff09)]   # （一） (一)
      | [\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341]{1,3}\u3001     # 一、
      | \u7b2c[\u4e00-\u9fff\d]{1,4}[\u6761\u7ae0\u8282]   # 第三条
      | (?:Article|Section|Chapter|Part)\s+[\dIVXLC]+
      | [-*\u2022\u25cf\u25a0]\s
      | \#
      | \d{4}[-/\u5e74.]\d{1,2}             # dates and datelines: 2022-05-05, 2016年2月
    )""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True)
class Block:
    """A span of source text: a blank-line block, or a paragraph made of several."""

    text: str
    start: int
    end: int


def is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.match(ch))


def detect_lang(text: str) -> str:
    """'zh' when Chinese characters make up at least 30% of the letters, else 'en'."""
    cjk = len(_CJK_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    if cjk == 0:
        return "en"
    return "zh" if cjk >= 0.3 * (cjk + latin) else "en"


def split_blocks(text: str, offset: int = 0) -> list[Block]:
    """Blocks separated by blank lines, stripped, with offsets into the source (+ ``offset``)."""
    blocks: list[Block] = []
    pos = 0
    for m in [*_BLANK_LINE_RE.finditer(text), None]:
        stop = m.start() if m else len(text)
        chunk = text[pos:stop]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            start = pos + lead
            blocks.append(Block(stripped, offset + start, offset + start + len(stripped)))
        if m:
            pos = m.end()
    return blocks


def is_decoration(text: str) -> bool:
    """True for blocks with nothing to read: rules, bullets, page furniture."""
    return not _CONTENT_RE.search(text)


def is_table(text: str) -> bool:
    return text.lstrip().startswith("|")


def table_header_empty(text: str) -> bool:
    """True when a table's first row has no content (how page-broken tables continue)."""
    first = text.strip().splitlines()[0]
    return not _CONTENT_RE.search(first.replace("|", ""))


def _core_end(text: str) -> str:
    return text.rstrip(_TRAILERS)


def ends_sentence(text: str) -> bool:
    """True when the block's last real character is terminal punctuation."""
    core = _core_end(text)
    return bool(core) and core[-1] in _TERMINAL


def ends_continuing(text: str) -> bool:
    """True when the block ends with a comma, a dash or a function word: the sentence goes on."""
    core = _core_end(text)
    if not core:
        return False
    if core[-1] in _CONTINUING_END:
        return True
    last = re.findall(r"[A-Za-z]+$", core)
    return bool(last) and last[0].lower() in _FUNCTION_WORDS


def is_body_text(text: str) -> bool:
    """Enough words (12+) or Chinese characters (30+) to be running text, not a heading."""
    return len(_CJK_RE.findall(text)) >= 30 or len(re.findall(r"[A-Za-z0-9]+", text)) >= 12


def starts_lowercase(text: str) -> bool:
    core = text.lstrip("\"'\u201c\u2018*_ (")
    return bool(core) and core[0].islower()


def starts_enumeration(text: str) -> bool:
    return bool(_ENUM_RE.match(text))


def continues_across_break(prev: str, nxt: str) -> bool:
    """Whether block ``nxt`` is the rest of the paragraph that ``prev`` began (see module doc)."""
    if is_table(prev) or is_table(nxt) or starts_enumeration(nxt) or prev.lstrip().startswith("#"):
        return False
    if starts_lowercase(nxt):
        return True  # no paragraph starts in lower case, even after a full stop
    if ends_sentence(prev):
        return False
    if ends_continuing(prev):
        return True
    return is_body_text(prev) and (is_body_text(nxt) or ends_sentence(nxt))


def join_text(left: str, right: str, sep: str = " ") -> str:
    """Join two pieces of prose: no separator between two Chinese characters."""
    left, right = left.rstrip(), right.lstrip()
    if not left or not right:
        return left + right
    if is_cjk(left[-1]) and is_cjk(right[0]):
        return left + right
    return left + sep + right


def flatten_lines(text: str) -> str:
    """A prose block's lines joined into one line (tables keep their rows)."""
    if is_table(text):
        return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())
    out = ""
    for line in text.splitlines():
        line = line.strip()
        if line:
            out = join_text(out, line) if out else line
    return out


def merge_blocks(blocks: list[Block]) -> list[Block]:
    """Apply rules 2-4 of the module doc: drop decoration, merge tables and page-break splits."""
    out: list[Block] = []
    for b in blocks:
        if is_decoration(b.text):
            continue
        if out:
            prev = out[-1]
            if is_table(prev.text) and is_table(b.text) and table_header_empty(b.text):
                out[-1] = Block(prev.text + "\n" + b.text, prev.start, b.end)
                continue
            if continues_across_break(prev.text, b.text):
                out[-1] = Block(join_text(prev.text, b.text), prev.start, b.end)
                continue
        out.append(b)
    return out


# CommonMark's backslash escapes: a backslash before ASCII punctuation. Records converted to
# Markdown write "\$370 billion"; Markdown renderers show "$370", so the paragraph must hold that,
# or the quote a lawyer copies, and every plain-text view, keeps the backslash.
_MD_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescape_markdown(text: str) -> str:
    """``text`` with Markdown backslash escapes undone (``\\$`` → ``$``); a backslash before a
    letter, digit or Chinese character is text and stays."""
    return _MD_ESCAPE_RE.sub(r"\1", text)


def segment(text: str, offset: int = 0) -> list[Block]:
    """Paragraph blocks of one exhibit's text, in reading order, lines flattened, Markdown
    escapes undone (offsets still span the source)."""
    return [
        Block(unescape_markdown(flatten_lines(b.text)), b.start, b.end)
        for b in merge_blocks(split_blocks(text, offset))
    ]


def split_exhibits(text: str) -> list[tuple[int, int, str]]:
    """(exhibit number, offset of its body, body) for each ``EXHIBIT N`` line in a record file."""
    marks = list(_EXHIBIT_LINE_RE.finditer(text))
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.append((int(m.group(1)), m.end(), text[m.end() : end]))
    return out


_MD_DECOR_RE = re.compile(r"^[#>\s]+|\*\*|__|^\*|\*$")


def title_of(paragraphs: list[str]) -> str:
    """The exhibit's title: its first heading-like line of 2+ words (or 6+ Chinese characters)."""
    for text in paragraphs[:12]:
        if is_table(text):
            continue
        line = _MD_DECOR_RE.sub("", text.strip().splitlines()[0]).strip()
        if " > " in line or re.fullmatch(r"[\d\s:/.\-]+", line):
            continue  # breadcrumbs and datelines are not titles
        if len(re.findall(r"[A-Za-z]+", line)) >= 2 or len(_CJK_RE.findall(line)) >= 6:
            return line[:200].rstrip() + ("\u2026" if len(line) > 200 else "")
    return ""


# A "unit" is a Latin word or number, or one Chinese character: both are roughly one e5 token,
# so windows measured this way stay under the model's 512-token limit in either language.
_UNIT_RE = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\s\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
)


def windows(text: str, size: int, overlap: int) -> list[str]:
    """``text`` cut into windows of at most ``size`` units that share ``overlap`` units."""
    spans = [m.span() for m in _UNIT_RE.finditer(text)]
    if len(spans) <= size:
        return [text]
    step = max(1, size - overlap)
    out = []
    for first in range(0, len(spans), step):
        last = min(first + size, len(spans)) - 1
        out.append(text[spans[first][0] : spans[last][1]])
        if last == len(spans) - 1:
            break
    return out
