"""The shop GPT: a small causal language model over search queries, for query auto-completion.

Trained on the searches of the training period (one sequence per search, so popular queries
weigh more) plus item titles (lower-cased, commas dropped), with next-token cross-entropy. The
model is keras-hub's ``GPT2CausalLM`` (a tiny ``GPT2Backbone``; its LM head is the token
embedding, tied); completions come from keras-hub's ``BeamSampler`` (deterministic: no seed
needed) and are ranked by the model's probability of the whole query.

Tokens are whole words (whitespace-split, lower-cased), not the shop BERT's WordPiece: the
score is an exact match of the full query, and WordPiece detokenisation re-spaces punctuation
("205/55" comes back as "205 / 55"); queries are 2-6 words, so a completion takes a few
decoding steps rather than twice as many sub-words; and a word-level model proposes the same
kind of candidates as the prefix-frequency baseline. The cost: a word seen once in training
(a typo, a rare model number) is [UNK], so it can be typed in a prefix but never proposed.

The protocol, the prefix-frequency baseline and the blend of both live in
``models.text.autocomplete``; ``log_prob`` gives the blend its score of a candidate query.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED, artefact_dir, get_profile, seed_everything
from shopintent.io import atomic_path, read_json, write_json, write_text
from shopintent.models.text.autocomplete import normalize_query
from shopintent.models.training import BestEpoch

SPECIAL_TOKENS = ["[PAD]", "[BOS]", "[EOS]", "[UNK]"]
PAD, BOS, EOS, UNK = range(4)
MODEL_FILE = "shopgpt.keras"
VOCAB_FILE = "vocab.txt"
META_FILE = "shopgpt.json"
NEG = -1e9


def title_as_query(title: str) -> str:
    """An item title in query form.

    For example "Zentro S12 Lite Tablet, green" -> "zentro s12 lite tablet green".
    """
    return normalize_query(str(title).replace(",", " "))


@dataclass(frozen=True)
class ShopGptConfig:
    """Model size and training budget; sequences are [BOS] + up to ``max_words`` words + [EOS]."""

    vocabulary_size: int
    num_layers: int
    num_heads: int
    hidden_dim: int
    intermediate_dim: int
    max_words: int = 10
    min_count: int = 2
    batch_size: int = 128
    epochs: int = 8
    learning_rate: float = 2e-3
    dropout: float = 0.1
    num_beams: int = 10
    # XLA: every batch has one shape (padded to max_words + 2), so it compiles once; on the default
    # shop's 1,020 steps it trained in 253 s instead of 468 s on 2 idle cores, same validation loss
    jit_compile: bool = True


CONFIGS: dict[str, ShopGptConfig] = {
    "smoke": ShopGptConfig(
        2_000, 2, 2, 64, 128, epochs=10, jit_compile=False
    ),  # compiling costs more than it saves
    # 2 epochs, to keep `make run` under 30 minutes on 2 cores (4 epochs on the default shop:
    # validation loss 2.65-2.67, MRR@5 0.105-0.108, in twice the time)
    "default": ShopGptConfig(8_000, 2, 4, 128, 256, batch_size=256, epochs=2),
    "full": ShopGptConfig(30_000, 4, 8, 256, 1024, batch_size=512, epochs=10, learning_rate=1e-3),
}


def shop_gpt_config(profile: str = "default", **overrides) -> ShopGptConfig:
    """The profile's configuration, with any field replaced (e.g. ``epochs=1`` in tests)."""
    get_profile(profile)
    return replace(CONFIGS[profile], **overrides)


def word_vocabulary(texts: Iterable[str], size: int, min_count: int = 2) -> list[str]:
    """Special tokens, then words seen at least ``min_count`` times, most frequent first.

    At most ``size`` tokens.
    """
    counts = Counter(w for t in texts for w in normalize_query(t).split())
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return SPECIAL_TOKENS + words[: max(0, size - len(SPECIAL_TOKENS))]


class ShopGpt:
    """A trained shop GPT: ``complete(prefix, k)`` proposes up to ``k`` distinct full queries."""

    def __init__(self, model, vocabulary: list[str], config: ShopGptConfig):
        self.model = model
        self.vocabulary = list(vocabulary)
        self.config = config
        self._index = {w: i for i, w in enumerate(self.vocabulary)}
        self._words = np.array(self.vocabulary, dtype=object)

    def encode(self, words: Sequence[str]) -> list[int]:
        return [self._index.get(w, UNK) for w in words]

    def sequences(self, texts: Sequence[str]) -> np.ndarray:
        """(n, max_words + 2) int32 ids: [BOS] words [EOS] [PAD]...

        Longer texts are cut (no [EOS]).
        """
        width = self.config.max_words + 2
        out = np.full((len(texts), width), PAD, dtype=np.int32)
        for row, text in enumerate(texts):
            ids = [BOS, *self.encode(normalize_query(text).split()), EOS][:width]
            out[row, : len(ids)] = ids
        return out

    def complete(self, prefix: str, k: int = 5) -> list[str]:
        return self.complete_many([prefix], k)[0]

    def log_prob(self, texts: Sequence[str], batch_size: int = 512) -> np.ndarray:
        """Natural-log probability of each whole query, [BOS] words [EOS], under the model (a
        word outside the vocabulary counts as [UNK]): the blend's score of a candidate."""
        from keras import ops

        ids = self.sequences(texts)
        out = np.zeros(len(ids))
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            x, y = batch[:, :-1], batch[:, 1:]
            loss = self.model.score(  # keras-hub: per-token -log p of target_ids
                ops.convert_to_tensor(x),
                ops.convert_to_tensor(x != PAD),
                scoring_mode="loss",
                target_ids=ops.convert_to_tensor(y),
            )
            loss = ops.convert_to_numpy(loss).astype(np.float64)
            out[start : start + len(batch)] = -(loss * (y != PAD)).sum(axis=1)
        return out

    def complete_many(
        self, prefixes: Sequence[str], k: int = 5, batch_size: int = 64
    ) -> list[list[str]]:
        """Completions for many prefixes: beam search, batched over prefixes with the same
        number of whole words. A prefix's last word, unless followed by a space, is a fragment:
        the first proposed word must start with it."""
        parsed = [_parse_prefix(p) for p in prefixes]
        out: list[list[str]] = [[] for _ in prefixes]
        groups: dict[int, list[int]] = defaultdict(list)
        for i, (words, fragment) in enumerate(parsed):
            if fragment and not any(
                w.startswith(fragment) for w in self.vocabulary[len(SPECIAL_TOKENS) :]
            ):
                continue  # no known word starts so: nothing to propose
            groups[len(words)].append(i)
        for n_words, members in groups.items():
            if n_words >= self.config.max_words:
                continue
            for start in range(0, len(members), batch_size):
                rows = members[start : start + batch_size]
                for i, found in zip(
                    rows, self._beam_search([parsed[i] for i in rows], k), strict=True
                ):
                    out[i] = found
        return out

    def _allowed_first(self, fragment: str) -> np.ndarray:
        # At least one word follows the prefix (as for the baseline, "red " does not propose
        # "red"), and a fragment must be completed by a word that starts with it.
        allowed = np.zeros(len(self.vocabulary), dtype=bool)
        allowed[len(SPECIAL_TOKENS) :] = [
            w.startswith(fragment) for w in self.vocabulary[len(SPECIAL_TOKENS) :]
        ]
        return allowed

    def _beam_search(self, parsed: list[tuple[list[str], str]], k: int) -> list[list[str]]:
        import keras_hub
        from keras import ops

        n_words = len(parsed[0][0])
        context = 1 + n_words
        length = self.config.max_words + 2
        prompt = np.full((len(parsed), length), PAD, dtype=np.int32)
        prompt[:, 0] = BOS
        for row, (words, _) in enumerate(parsed):
            prompt[row, 1:context] = self.encode(words)
        mask = np.zeros_like(prompt, dtype=bool)
        mask[:, :context] = True
        allowed = np.stack([self._allowed_first(frag) for _, frag in parsed])
        beams = max(self.config.num_beams, k)
        first_bias = ops.convert_to_tensor(
            np.repeat(np.where(allowed, 0.0, NEG), beams, axis=0), "float32"
        )
        never = np.zeros(len(self.vocabulary), dtype=np.float32)
        never[[PAD, BOS, UNK]] = NEG  # [UNK] is no completion; [PAD] only after [EOS]
        never = ops.convert_to_tensor(never)
        finished_logits = ops.convert_to_tensor(
            np.where(np.arange(len(self.vocabulary)) == PAD, 0.0, NEG), "float32"
        )
        model = self.model

        def next_token(tokens, cache, index):
            # As GPT2CausalLM.generate_step, plus: the first word must fit the fragment, and a
            # finished beam ([EOS] or [PAD] last) can only add [PAD] at no cost, so it keeps its
            # score.
            batch = ops.shape(tokens)[0]
            last = ops.slice(tokens, [0, index - 1], [batch, 1])
            logits, hidden, cache = model.call_with_cache(last, cache, index - 1)
            logits = ops.squeeze(logits, axis=1) + never
            logits = ops.where(index == context, logits + first_bias, logits)
            done = ops.logical_or(last == EOS, last == PAD)
            logits = ops.where(done, finished_logits[None, :], logits)
            return logits, ops.squeeze(hidden, axis=1), cache

        token_ids = ops.convert_to_tensor(prompt)
        cache = _empty_cache(model, token_ids)
        _, _, cache = model.call_with_cache(token_ids, cache, 0)
        sampler = keras_hub.samplers.BeamSampler(num_beams=beams, return_all_beams=True)
        sequences, log_probs = sampler(
            next_token,
            token_ids,
            cache=cache,
            index=context,
            mask=ops.convert_to_tensor(mask),
            stop_token_ids=[EOS],
        )
        sequences, log_probs = ops.convert_to_numpy(sequences), ops.convert_to_numpy(log_probs)
        results = []
        for row, (words, _) in enumerate(parsed):
            found: list[str] = []
            for seq, score in zip(sequences[row], log_probs[row], strict=True):
                generated = list(seq[context:])
                if score < NEG / 2 or EOS not in generated:
                    continue  # an impossible beam, or one cut at max_words
                text = " ".join([*words, *self._words[generated[: generated.index(EOS)]]])
                if text and text not in found:
                    found.append(text)
            results.append(found[:k])
        return results

    def save(self, folder: str | Path) -> Path:
        """``shopgpt.keras`` (the GPT2 backbone: the LM head is its tied embedding, so that is the
        whole model, without optimiser state), ``vocab.txt`` and ``shopgpt.json`` (the config)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(
            folder / MODEL_FILE, suffix=".keras"
        ) as tmp:  # keras insists on the suffix
            self.model.backbone.save(tmp)
        write_text(folder / VOCAB_FILE, "".join(f"{w}\n" for w in self.vocabulary))
        write_json(folder / META_FILE, {"config": asdict(self.config)})
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ShopGpt:
        """A saved shop GPT (``.keras`` model, word vocabulary and config)."""
        import keras
        import keras_hub

        folder = Path(folder)
        if not (folder / MODEL_FILE).is_file():
            raise FileNotFoundError(
                f"no shop GPT in {folder} ({MODEL_FILE} missing): train one "
                "with shop_gpt.train_shop_gpt and save it"
            )
        backbone = keras.saving.load_model(folder / MODEL_FILE)
        model = keras_hub.models.GPT2CausalLM(backbone, preprocessor=None)
        vocabulary = (folder / VOCAB_FILE).read_text(encoding="utf-8").splitlines()
        meta = read_json(folder / META_FILE)
        config = ShopGptConfig(**meta["config"])
        return cls(model, vocabulary, config)


def _parse_prefix(prefix: str) -> tuple[list[str], str]:
    """("nova 4 mi") -> (["nova", "4"], "mi"); a trailing space means the last word is whole."""
    words = normalize_query(prefix).split()
    if not words or (prefix.endswith(" ") and prefix.strip()):
        return words, ""
    return words[:-1], words[-1]


def _empty_cache(model, token_ids):
    """An empty key/value cache for ``GPT2CausalLM.call_with_cache`` (layout as keras-hub's own)."""
    from keras import ops

    backbone = model.backbone
    batch, length = ops.shape(token_ids)
    shape = [
        batch,
        backbone.num_layers,
        2,
        length,
        backbone.num_heads,
        backbone.hidden_dim // backbone.num_heads,
    ]
    return ops.zeros(shape, dtype=model.compute_dtype)


def shop_gpt_dir(dataset: str, profile: str) -> Path:
    """Where a dataset's shop GPT is kept: ``models/<dataset>-<profile>/shopgpt/``."""
    return artefact_dir(dataset, profile, "shopgpt")


@dataclass
class ShopGptResult:
    """A trained shop GPT, its curve (one row per epoch: ``epoch, loss, val_loss, seconds``)
    and training facts."""

    model: ShopGpt
    history: pd.DataFrame
    metrics: dict


def _lm_arrays(gpt: ShopGpt, texts: Sequence[str]):
    """Next-token training arrays: inputs ``{token_ids, padding_mask}``, the next ids, and
    weights that are 1 on real next tokens. All sequences are padded to ``max_words + 2``:
    bucketing queries by length was measured worse on validation (the per-batch loss mean
    weighs tokens of short and long batches differently) for about a third less time."""
    ids = gpt.sequences(texts)
    x = {"token_ids": ids[:, :-1], "padding_mask": ids[:, :-1] != PAD}
    y = ids[:, 1:]
    return x, y, (y != PAD).astype(np.float32)


def train_shop_gpt(
    train_queries: Sequence[str],
    titles: Sequence[str] = (),
    profile: str = "default",
    seed: int = DEFAULT_SEED,
    val_queries: Sequence[str] = (),
    config: ShopGptConfig | None = None,
    verbose: int = 0,
) -> ShopGptResult:
    """Train a shop GPT on past searches (one sequence per search: a query searched often is
    seen often, which is what lets the model rank it; one weighted sequence per distinct
    query was measured worse on validation) and item titles.

    With ``val_queries`` (later searches of the training period, never the test period) the
    weights of the epoch with the lowest validation loss are kept.
    """
    import keras
    import keras_hub

    config = config or shop_gpt_config(profile)
    queries = [q for q in map(normalize_query, train_queries) if q]
    title_texts = [t for t in map(title_as_query, titles) if t]
    if not queries and not title_texts:
        raise ValueError("no training text: give past search queries and/or item titles")
    seed_everything(seed)
    keras.utils.set_random_seed(seed)
    vocabulary = word_vocabulary(queries + title_texts, config.vocabulary_size, config.min_count)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocabulary),
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.max_words + 2,
    )
    model = keras_hub.models.GPT2CausalLM(backbone, preprocessor=None)
    gpt = ShopGpt(model, vocabulary, config)

    texts = queries + title_texts
    x, y, w = _lm_arrays(gpt, texts)
    n_batches = -(-len(texts) // config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=n_batches * config.epochs, alpha=0.05
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        ),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=config.jit_compile,
    )
    val = [q for q in map(normalize_query, val_queries) if q]
    callbacks, validation, keeper = [], None, None
    if val:
        validation = _lm_arrays(gpt, val)
        keeper = BestEpoch(model, higher_is_better=False)  # all epochs run, the best one is kept
        callbacks.append(keeper.keras_callback("val_loss"))
    start = time.perf_counter()
    fit = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=True,
        validation_data=validation,
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    history = pd.DataFrame({"epoch": np.arange(1, len(fit.history["loss"]) + 1), **fit.history})
    words = x["token_ids"] > EOS  # [UNK] included
    metrics = {
        "train_seconds": seconds,
        "n_searches": len(queries),
        "n_titles": len(title_texts),
        "steps": n_batches * len(history),
        "vocabulary_size": len(vocabulary),
        "oov_rate": float((x["token_ids"] == UNK).sum() / max(1, words.sum())),
        "parameters": int(backbone.count_params()),
    }
    if keeper is not None:
        metrics["best_epoch"] = keeper.best_epoch
        metrics["best_val_loss"] = float(keeper.best_score)
    return ShopGptResult(gpt, history, metrics)
