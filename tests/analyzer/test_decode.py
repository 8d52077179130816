"""decode_text: every encoding a node may write comes out as clean LF text, never an exception."""
from __future__ import annotations

import codecs

from hypothesis import given, strategies as st

from k8s_bundle.analyzer.decode import decode_text, sniff_encoding

# What `Get-HnsNetwork | ConvertTo-Json > hns.json` leaves behind on Windows PowerShell 5.1.
PS51_TEXT = '{\r\n    "Name":  "flannel.4096",\r\n    "Type":  "Overlay"\r\n}\r\n'


def test_plain_utf8_passes_through() -> None:
    assert decode_text("Start Port : 49152\n节点\n".encode()) == "Start Port : 49152\n节点\n"


def test_utf8_bom_is_stripped() -> None:
    assert decode_text(codecs.BOM_UTF8 + b"net.ipv4.ip_forward = 1\n") == "net.ipv4.ip_forward = 1\n"


def test_utf16le_with_bom_and_crlf() -> None:
    data = codecs.BOM_UTF16_LE + PS51_TEXT.encode("utf-16-le")
    assert decode_text(data) == PS51_TEXT.replace("\r\n", "\n")


def test_utf16be_with_bom() -> None:
    data = codecs.BOM_UTF16_BE + "Successfully reserved 10 ranges of 64 ports\r\n".encode("utf-16-be")
    assert decode_text(data) == "Successfully reserved 10 ranges of 64 ports\n"


def test_utf16le_without_bom_is_detected_by_nul_pattern() -> None:
    text = "Protocol tcp Dynamic Port Range\n---------------------------------\nStart Port      : 49152\n"
    assert sniff_encoding(text.encode("utf-16-le")) == ("utf-16-le", 0)
    assert decode_text(text.encode("utf-16-le")) == text
    assert decode_text(text.encode("utf-16-be")) == text


def test_invalid_utf8_is_replaced_not_raised() -> None:
    out = decode_text(b"kubelet \xff\xfe\xc3 failed\n\x80")
    assert out.startswith("kubelet ")
    assert "failed\n" in out
    assert "\ufffd" in out


def test_lone_cr_and_crlf_become_lf() -> None:
    assert decode_text(b"a\r\nb\rc\n") == "a\nb\nc\n"


def test_utf16_odd_length_does_not_raise() -> None:
    data = codecs.BOM_UTF16_LE + "abc".encode("utf-16-le") + b"\x41"
    assert decode_text(data).startswith("abc")


def test_binary_with_a_few_nuls_stays_utf8() -> None:
    data = b"Nov 22 11:30:00 host kernel: ok\n" * 20 + b"\x00\x00junk\n"
    assert sniff_encoding(data)[0] == "utf-8"


@given(st.binary(max_size=512))
def test_never_raises_and_never_leaves_cr(data: bytes) -> None:
    out = decode_text(data)
    assert isinstance(out, str)
    assert "\r" not in out
