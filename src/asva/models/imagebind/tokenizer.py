"""The CLIP byte-pair-encoding tokenizer ImageBind's text branch reads (49,408 tokens, context 77).

The vocabulary is package data, `asva/assets/bpe_simple_vocab_16e6.txt.gz`; nothing is downloaded.

    from asva.models.imagebind import tokenize
    ids = tokenize(["lions roaring", "dog barking"])   # (2, 77) int64: 49406, ..., 49407, 0, ...
"""
from __future__ import annotations

import gzip
import importlib.resources
from collections.abc import Sequence
from functools import cache

import torch

from .clean import SPECIAL_TOKENS, clean_text, split_words

VOCAB_RESOURCE = ("asva", "assets/bpe_simple_vocab_16e6.txt.gz")
NUM_MERGES = 49152 - 256 - 2


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible map from the 256 byte values to printable characters."""
    spans = (("!", "~"), ("¡", "¬"), ("®", "ÿ"))
    printable = [b for lo, hi in spans for b in range(ord(lo), ord(hi) + 1)]
    codes = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, codes, strict=True)}


def clip_vocabulary() -> tuple[list[str], list[tuple[str, str]]]:
    """The bundled vocabulary: the 49,408 token strings in id order, and the 48,894 merges by rank."""
    package, name = VOCAB_RESOURCE
    data = importlib.resources.files(package).joinpath(name).read_bytes()
    lines = gzip.decompress(data).decode("utf-8").split("\n")[1 : NUM_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    chars = list(bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + list(SPECIAL_TOKENS)
    return vocab, merges


class CLIPTokenizer:
    """Text -> token ids, as ImageBind's `SimpleTokenizer` computes them."""

    def __init__(self, context_length: int = 77):
        vocab, merges = clip_vocabulary()
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.decoder = {i: token for token, i in self.encoder.items()}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.cache = {t: t for t in SPECIAL_TOKENS}
        self.context_length = context_length
        self.sot, self.eot = (self.encoder[t] for t in SPECIAL_TOKENS)

    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def bpe(self, token: str) -> list[str]:
        """One pre-split word (byte-mapped) -> its BPE symbols, the last one ending in '</w>'."""
        if token in self.cache:
            return self.cache[token].split(" ")
        word = (*token[:-1], token[-1] + "</w>")
        while len(word) > 1:
            pairs = set(zip(word, word[1:], strict=False))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        self.cache[token] = " ".join(word)
        return list(word)

    def encode(self, text: str) -> list[int]:
        """Text -> BPE ids, without the start and end tokens."""
        ids: list[int] = []
        for word in split_words(clean_text(text)):
            mapped = "".join(self.byte_encoder[b] for b in word.encode("utf-8"))
            ids.extend(self.encoder[symbol] for symbol in self.bpe(mapped))
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        text = "".join(self.decoder[int(i)] for i in ids)
        raw = bytearray(self.byte_decoder[c] for c in text)
        return raw.decode("utf-8", errors="replace").replace("</w>", " ")

    def __call__(self, texts: str | Sequence[str]) -> torch.Tensor:
        """(n, context_length) int64: [49406] + ids + [49407], zero-padded.

        Like the official code, a text too long keeps its first `context_length` ids, so the end
        token is cut off and the model's argmax then pools the largest id of the text.
        """
        if isinstance(texts, str):
            texts = [texts]
        if not all(isinstance(t, str) for t in texts):
            raise ValueError(f"texts must be strings, got {[type(t).__name__ for t in texts]}")
        out = torch.zeros(len(texts), self.context_length, dtype=torch.int64)
        for row, text in enumerate(texts):
            ids = [self.sot, *self.encode(text), self.eot][: self.context_length]
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.int64)
        return out


@cache
def get_tokenizer(context_length: int = 77) -> CLIPTokenizer:
    """A shared tokenizer (reading the vocabulary takes about a second)."""
    return CLIPTokenizer(context_length)


def tokenize(texts: str | Sequence[str], context_length: int = 77) -> torch.Tensor:
    """Texts -> (n, context_length) int64 token ids for `ImageBind.encode_text`."""
    return get_tokenizer(context_length)(texts)
