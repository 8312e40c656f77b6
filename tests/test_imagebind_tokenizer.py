"""The CLIP tokenizer of ImageBind's text branch: golden ids, cleaning, splitting, truncation."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from asva.models.imagebind import get_tokenizer, tokenize
from asva.models.imagebind.clean import clean_text, fix_text, split_words

CLIP_PATTERN = (  # ImageBind's SimpleTokenizer, compiled with the `regex` package and IGNORECASE
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
)


def test_golden_token_ids_and_end_positions(golden):
    with safe_open(golden / "imagebind/text_encoder/text_encoder.safetensors", "pt") as f:
        prompts = json.loads(f.metadata()["prompts"])
        expected, seq_len = f.get_tensor("token_ids"), f.get_tensor("seq_len")
    ids = tokenize(prompts)
    assert ids.dtype == torch.int64 and ids.shape == (3, 77)
    assert torch.equal(ids, expected)
    assert torch.equal(ids.argmax(dim=-1), seq_len)


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [
        ("ﬁne ﬂuﬃest", "fine fluffiest"),  # Latin ligatures
        ("\u201chere\u2019s\u201d", "\"here's\""),  # curly quotes
        ("ＡＢＣ１２３\u3000x", "ABC123 x"),  # full-width forms, ideographic space
        ("e\u0301", "\u00e9"),  # NFC
        ("\x1b[31mred\x1b[0m", "red"),  # terminal escapes
        ("a\x00b\ufeffc", "abc"),  # control characters
        ("\x93quoted\x94", '"quoted"'),  # C1 controls read as Windows-1252, then uncurled
        ("a\r\nb\rc", "a\nb\nc"),  # line breaks
        ("fish &amp; chips", "fish & chips"),  # HTML entities when there is no '<'
        ("<b>&amp;</b>", "<b>&amp;</b>"),  # ... but not in markup
    ],
)
def test_fix_text(raw, fixed):
    assert fix_text(raw) == fixed


def test_clean_text_unescapes_collapses_and_lowercases():
    assert clean_text("  Fish &amp;amp;amp; CHIPS \t\n  Now ") == "fish & chips now"
    assert clean_text("<p>&amp;amp;</p>") == "<p>&</p>"  # html.unescape twice, ftfy skipped


def test_split_matches_the_official_pattern():
    regex = pytest.importorskip("regex")
    pattern = regex.compile(CLIP_PATTERN, regex.IGNORECASE)
    corpus = [
        "lions roaring", "it's they're we've i'm you'll he'd", "!!'s ok", "a1b22c 3.14 ½ ⅷ x²",
        "hello,world...(yes)", "<|startoftext|>a<|endoftext|>", "!<|endoftext|>", "'", "'x 'll",
        "日本語のテキスト", "naïve café", "emoji 🦁🔫 ok", "tabs\tand\nnewlines", "under_score-dash",
        "\u00a0nbsp\u2003em\u205fmath", "ǆ ǲ ß ſ", "مرحبا بالعالم", "x\u0301y",
    ]
    for text in corpus:
        cleaned = clean_text(text)
        assert split_words(cleaned) == pattern.findall(cleaned), text


def test_encode_decode_round_trip():
    tok = get_tokenizer()
    assert tok.vocab_size == 49408
    assert tok.decode(tok.encode("A dog, barking at 3 cats!")) == "a dog , barking at 3 cats ! "


def test_long_text_is_cut_like_the_official_code():
    text = " ".join(["word"] * 100)
    ids = tokenize(text)
    full = [49406, *get_tokenizer().encode(text), 49407]
    assert ids.shape == (1, 77)
    assert ids[0].tolist() == full[:77]
    assert 49407 not in ids[0].tolist()  # ImageBind keeps the first 77 ids: the end token is lost


def test_empty_text_and_bad_input():
    assert tokenize("")[0, :3].tolist() == [49406, 49407, 0]
    with pytest.raises(ValueError, match="strings"):
        tokenize([b"bytes"])
