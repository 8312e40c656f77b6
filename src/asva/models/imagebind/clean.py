"""Text cleaning and word splitting of the CLIP tokenizer, in pure Python (no ftfy, no regex package).

The official tokenizer runs `ftfy.fix_text`, `html.unescape` twice, collapses whitespace, lower-cases
and splits with the `regex` pattern
`<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+`.

`fix_text` below reproduces ftfy's default fixers that act on well-formed Unicode: HTML entities
(when the text has no '<'), C1 controls read as Windows-1252, Latin ligatures, full/half-width
forms, curly quotes, line breaks, surrogate pairs, terminal escapes, control characters, NFC.
It leaves out ftfy's mojibake repair (`fix_encoding` and its helpers), which guesses at text that was
decoded with the wrong codec: such text tokenizes differently here. Letters and numbers are
Unicode categories L* and N* from Python's `unicodedata` (Unicode 14 on Python 3.11), where the
`regex` package may know newer characters.
"""
from __future__ import annotations

import html
import re
import unicodedata

_TERMINAL_ESCAPE = re.compile(r"\x1b\[(?:\d|;)*[a-zA-Z]")
_HTML_ENTITY = re.compile(r"&#?[0-9A-Za-z]{1,24};")
_C1_CONTROL = re.compile("[\x80-\x9f]")
_SINGLE_QUOTE = re.compile("[\u02bc\u2018-\u201b]")
_DOUBLE_QUOTE = re.compile("[\u201c-\u201f]")
_LINE_BREAK = re.compile("\r\n|[\r\u2028\u2029\u0085]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Unicode White_Space, what `\s` matches in the `regex` package
WHITESPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                       "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WHITESPACE_RUN = re.compile("[" + "".join(sorted(WHITESPACE)) + "]+")

_LIGATURES = str.maketrans({
    "Ĳ": "IJ", "ĳ": "ij", "ŉ": "ʼn", "Ǳ": "DZ", "ǲ": "Dz", "ǳ": "dz", "Ǆ": "DŽ", "ǅ": "Dž", "ǆ": "dž",
    "Ǉ": "LJ", "ǈ": "Lj", "ǉ": "lj", "Ǌ": "NJ", "ǋ": "Nj", "ǌ": "nj",
    "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "ſt", "ﬆ": "st",
})
_WIDTH = {0x3000: " "} | {
    i: unicodedata.normalize("NFKC", chr(i))
    for i in range(0xFF01, 0xFFF0)
    if unicodedata.normalize("NFKC", chr(i)) != chr(i)
}
_CONTROL = dict.fromkeys([
    *range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x206A, 0x2070), 0xFEFF,
    *range(0xFFF9, 0xFFFD), *range(0x1D173, 0x1D17B), *range(0xE0000, 0xE0080),
])


def _c1_as_windows_1252(match: re.Match) -> str:
    byte = match[0].encode("latin-1")
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: ftfy's sloppy codec keeps them
        return match[0]


def _pair(match: re.Match) -> str:
    return match[0].encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def _fix_once(text: str, unescape: bool) -> str:
    if unescape:
        text = _HTML_ENTITY.sub(lambda m: html.unescape(m[0]), text)
    text = _C1_CONTROL.sub(_c1_as_windows_1252, text)
    text = text.translate(_LIGATURES).translate(_WIDTH)
    text = _SINGLE_QUOTE.sub("'", _DOUBLE_QUOTE.sub('"', text))
    text = _LINE_BREAK.sub("\n", text)
    text = _SURROGATE.sub("\ufffd", _SURROGATE_PAIR.sub(_pair, text))
    text = _TERMINAL_ESCAPE.sub("", text).translate(_CONTROL)
    return unicodedata.normalize("NFC", text)


def fix_text(text: str) -> str:
    """ftfy's default `fix_text` without mojibake repair (see the module docstring)."""
    unescape = "<" not in text
    while True:
        fixed = _fix_once(text, unescape)
        if fixed == text:
            return fixed
        text = fixed


def clean_text(text: str) -> str:
    """What the CLIP tokenizer feeds to its splitter: fixed, unescaped, whitespace-collapsed, lower."""
    text = html.unescape(html.unescape(fix_text(text))).strip()
    return _WHITESPACE_RUN.sub(" ", text).strip().lower()


SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")
_FIXED = SPECIAL_TOKENS + ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def _kind(char: str) -> str:
    """'L' letter, 'N' number, ' ' whitespace, 'P' anything else."""
    major = unicodedata.category(char)[0]
    if major in "LN":
        return major
    return " " if char in WHITESPACE else "P"


def split_words(text: str) -> list[str]:
    """The CLIP pattern's `findall`: alternatives tried in order at each position, whitespace skipped."""
    words, i, n = [], 0, len(text)
    while i < n:
        fixed = next((f for f in _FIXED if text[i : i + len(f)].lower() == f), None)
        if fixed is not None:
            words.append(text[i : i + len(fixed)])
            i += len(fixed)
            continue
        kind = _kind(text[i])
        j = i + 1
        if kind in "LP":  # a run of letters, or a run of neither letters, numbers nor whitespace
            while j < n and _kind(text[j]) == kind:
                j += 1
        if kind != " ":
            words.append(text[i:j])
        i = j
    return words
