"""Turn the bytes of a bundle member into text, whatever the node wrote.

Windows PowerShell 5.1 writes `>` output as UTF-16LE with a BOM, PowerShell 7 and Linux tools
write UTF-8 (sometimes with a BOM), and a hostile or damaged bundle may hold anything. Every
parser and the log index read text through `decode_text` so that none of them has to care:
the result is always a str with LF line ends, and decoding never raises.
"""
from __future__ import annotations

import codecs

_BOMS: tuple[tuple[bytes, str], ...] = (
    # Longer BOMs first: the UTF-32LE BOM starts with the UTF-16LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# How much of the start of a BOM-less file is inspected for the UTF-16 NUL pattern.
_SNIFF_BYTES = 4096


def sniff_encoding(data: bytes) -> tuple[str, int]:
    """Return (codec name, BOM length) for `data`; UTF-8 when nothing says otherwise."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            if name == "utf-32-le" and not _looks_utf32(data):
                continue  # UTF-16LE text starting with U+0000 is rarer than this check is cheap
            return name, len(bom)
    guess = _guess_utf16(data[:_SNIFF_BYTES])
    return (guess, 0) if guess else ("utf-8", 0)


def decode_text(data: bytes) -> str:
    """Decode member bytes to str: BOM sniffing, UTF-16 without BOM, invalid bytes replaced
    (U+FFFD), CRLF and lone CR turned into LF. Never raises."""
    codec, skip = sniff_encoding(data)
    text = data[skip:].decode(codec, errors="replace") if skip else data.decode(codec, errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _looks_utf32(data: bytes) -> bool:
    body = data[4:64]
    return len(body) >= 4 and len(body) % 4 == 0 and all(body[i + 2 : i + 4] == b"\0\0" for i in range(0, len(body), 4))


def _guess_utf16(head: bytes) -> str | None:
    """UTF-16 text of mostly ASCII has a NUL in every other byte; UTF-8 text has none.

    A file that only occasionally contains NUL (binary junk in a log) stays UTF-8: at least
    40% of the odd (LE) or even (BE) bytes must be NUL and the other half almost none.
    """
    n = len(head) - (len(head) % 2)
    if n < 4:
        return None
    pairs = n // 2
    even_nul = head[0:n:2].count(0)
    odd_nul = head[1:n:2].count(0)
    if odd_nul >= 0.4 * pairs and even_nul <= 0.05 * pairs:
        return "utf-16-le"
    if even_nul >= 0.4 * pairs and odd_nul <= 0.05 * pairs:
        return "utf-16-be"
    return None
