"""Entity linking: a mention (its text and, when a tagger gave one, its label) to a KG node, with
a confidence, tolerant to typos.

Every node of a linkable type has aliases: its name (brand, model, category leaf, attribute
value), for categories also the noun of its items' titles, and aliases mined from the training
search log (``mine_category_aliases``: "hoover" -> vacuum, learnt from what searchers viewed).
An exact alias match has confidence 1; otherwise character n-gram TF-IDF (scikit-learn) finds
the nearest aliases of the allowed types in one sparse product for all mentions, and
``difflib``'s ratio of the best one is the confidence. A model name is shared by several brands'
product lines, so a model mention goes to the line of a brand linked in the same query, else to
the line of a linked category, else to the most popular line. ``find_mentions`` is a gazetteer
over the same aliases (every 1-4 word span, longest non-overlapping matches first) for text
that no tagger has labelled.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from shopintent.kg.build import ProductKG, category_chain

LINKABLE = ("brand", "model", "category", "attribute")
#: a tagger's label -> the node types it may link to
LABEL_TYPES = {
    "brand": ("brand",),
    "model": ("model",),
    "product": ("model",),
    "category": ("category",),
    "attribute": ("attribute",),
    "attr": ("attribute",),
    None: LINKABLE,
}
_TOKEN = re.compile(r"[^\W_][\w&'+./\-]*", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case, unicode-normalised, inner whitespace collapsed, edge punctuation stripped."""
    t = unicodedata.normalize("NFKC", str(text)).lower()
    return " ".join(t.split()).strip(" ,;:!?\"'()[]")


def title_category_aliases(kg: ProductKG, items: pd.DataFrame) -> pd.DataFrame:
    """The noun of each leaf category as item titles write it: the title's first clause minus
    brand and model ("Zentro S12 Lite Tablet, green" -> "tablet"), kept when most of the
    leaf's titles agree. Needs ``brand`` and ``model`` columns; empty otherwise."""
    if not {"brand", "model", "category", "title"} <= set(items.columns):
        return pd.DataFrame(columns=["node_id", "alias"])
    df = items.dropna(subset=["brand", "model", "category", "title"])
    head = df["title"].str.split(",").str[0]
    noun = [
        normalise(h[len(f"{b} {m}") :]) if h.startswith(f"{b} {m}") else ""
        for h, b, m in zip(head, df["brand"], df["model"], strict=True)
    ]
    frame = pd.DataFrame(
        {"node_id": ["category:" + category_chain(c)[-1] for c in df["category"]], "alias": noun}
    )
    frame = frame[frame["alias"] != ""]
    top = (
        frame.groupby(["node_id", "alias"])
        .size()
        .reset_index(name="n")
        .sort_values("n", ascending=False)
    )
    share = top["n"] / top.groupby("node_id")["n"].transform("sum")
    return top[share >= 0.5][["node_id", "alias"]].drop_duplicates("node_id").reset_index(drop=True)


def mine_category_aliases(
    train_events: pd.DataFrame,
    queries: pd.DataFrame,
    kg: ProductKG,
    *,
    min_sessions: int = 20,
    min_share: float = 0.6,
    max_words: int = 3,
    min_phrase_sessions: int = 5,
) -> pd.DataFrame:
    """Words of training searches that point at one leaf category ("hoover" -> vacuum).

    A word qualifies when it is letters only (no partial model numbers), is no word of a brand or
    model name, and the training sessions whose searches use it view items of one leaf at least
    ``min_share`` of the time, in at least ``min_sessions`` sessions. Phrases of up to
    ``max_words`` qualifying words of the same leaf, seen in ``min_phrase_sessions`` sessions,
    become aliases of that leaf unless they already are one. Columns
    ``node_id alias sessions share`` (for a phrase: its sessions and its weakest word's share).
    """
    empty = pd.DataFrame(columns=["node_id", "alias", "sessions", "share"])
    if queries is None or queries.empty or "query_id" not in train_events:
        return empty
    searches = train_events[train_events["query_id"].notna()][
        ["session_id", "query_id"]
    ].drop_duplicates()
    text = queries[queries["query_id"].isin(searches["query_id"])][["query_id", "text"]]
    searches = searches.merge(
        text.assign(norm=text["text"].map(normalise))[["query_id", "norm"]], on="query_id"
    )
    words = pd.DataFrame({"norm": pd.unique(searches["norm"])})  # each distinct query text once
    words["word"] = words["norm"].str.split()
    leaf = kg.edges[kg.edges["relation"] == "in_category"]
    if leaf.empty:  # a catalogue without categories: no leaf for a word to point at
        return empty
    item_leaf = pd.Series(leaf["target"].to_numpy(), index=leaf["source"].str.slice(5).to_numpy())
    ev = train_events[train_events["item_id"].notna()][["session_id", "item_id"]]
    viewed = (
        pd.DataFrame(
            {
                "session_id": ev["session_id"].to_numpy(),
                "node_id": ev["item_id"].astype(str).map(item_leaf).to_numpy(),
            }
        )
        .dropna()
        .drop_duplicates()
    )
    per_word = searches.merge(words.explode("word").dropna(), on="norm")[
        ["session_id", "word"]
    ].drop_duplicates()
    named = kg.nodes[kg.nodes["type"].isin(["brand", "model"])]["name"].map(normalise)
    banned = {w for name in named for w in name.split()}
    per_word = per_word[per_word["word"].str.isalpha() & ~per_word["word"].isin(banned)]
    if per_word.empty:
        return empty
    sessions = per_word.groupby("word").size()
    counts = (
        per_word.merge(viewed, on="session_id")
        .groupby(["word", "node_id"])
        .size()
        .rename("n")
        .reset_index()
    )
    if counts.empty:
        return empty
    counts = counts.sort_values(["word", "n"], ascending=[True, False]).drop_duplicates("word")
    counts["share"] = counts["n"] / counts["word"].map(sessions)
    good = counts[(counts["word"].map(sessions) >= min_sessions) & (counts["share"] >= min_share)]
    word_leaf = dict(zip(good["word"], good["node_id"], strict=True))
    word_share = dict(zip(good["word"], good["share"], strict=True))
    phrases = []
    for norm, ws in zip(words["norm"], words["word"], strict=True):
        if not any(w in word_leaf for w in ws):
            continue
        for n in range(1, max_words + 1):
            for i in range(len(ws) - n + 1):
                gram = ws[i : i + n]
                leaves = {word_leaf.get(w) for w in gram}
                if len(leaves) == 1 and None not in leaves:
                    phrases.append(
                        (norm, " ".join(gram), leaves.pop(), min(word_share[w] for w in gram))
                    )
    if not phrases:
        return empty
    ph = pd.DataFrame(phrases, columns=["norm", "alias", "node_id", "share"]).merge(
        searches, on="norm"
    )
    n_sess = ph.groupby("alias")["session_id"].nunique().rename("sessions")
    out = ph.drop_duplicates("alias")[["alias", "node_id", "share"]].join(n_sess, on="alias")
    known = set(_base_aliases(kg)["alias"])
    out = out[(out["sessions"] >= min_phrase_sessions) & ~out["alias"].isin(known)]
    return (
        out[["node_id", "alias", "sessions", "share"]]
        .sort_values(["node_id", "alias"])
        .reset_index(drop=True)
    )


def _base_aliases(kg: ProductKG) -> pd.DataFrame:
    nodes = kg.nodes[kg.nodes["type"].isin(LINKABLE)]
    return pd.DataFrame(
        {"node_id": nodes["node_id"].to_numpy(), "alias": nodes["name"].map(normalise).to_numpy()}
    )


class EntityLinker:
    """Links mentions to the KG's brand, model, category and attribute nodes.

    ``extra_aliases`` (``node_id alias``) adds surface forms (title nouns, mined words).
    ``min_confidence``: below it a mention stays unlinked (``node_id`` None); only the
    ``candidates`` aliases nearest by n-gram cosine (at least ``min_cosine``) are compared by
    difflib.
    """

    def __init__(
        self,
        kg: ProductKG,
        extra_aliases: pd.DataFrame | None = None,
        *,
        min_confidence: float = 0.6,
        candidates: int = 5,
        min_cosine: float = 0.2,
    ) -> None:
        self.min_confidence = float(min_confidence)
        self.min_cosine = float(min_cosine)
        self.candidates = int(candidates)
        table = pd.concat(
            [_base_aliases(kg)]
            + (
                [extra_aliases[["node_id", "alias"]]]
                if extra_aliases is not None and len(extra_aliases)
                else []
            )
        )
        table["alias"] = table["alias"].map(normalise)
        table = table[
            (table["alias"] != "") & table["node_id"].isin(kg.nodes["node_id"])
        ].drop_duplicates()
        info = kg.nodes.set_index("node_id")
        table["type"] = info.loc[table["node_id"], "type"].to_numpy()
        table["prior"] = info.loc[table["node_id"], "count"].to_numpy()
        # one row per (type, alias): its candidate nodes, most popular first
        table = table.sort_values(
            ["type", "alias", "prior", "node_id"], ascending=[True, True, False, True]
        )
        grouped = table.groupby(["type", "alias"], sort=True)["node_id"].agg(list).reset_index()
        self.aliases = grouped
        self._exact: dict[str, list[int]] = {}
        for i, a in enumerate(grouped["alias"]):
            self._exact.setdefault(a, []).append(i)
        top_prior = table.groupby(["type", "alias"], sort=True)["prior"].max().to_numpy()
        self._exact_best = {
            a: max(rows, key=lambda r: (top_prior[r], -r)) for a, rows in self._exact.items()
        }
        self._vocab = {w for a in grouped["alias"] for w in a.split()}
        self._word_vec = None
        self._vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32
        )
        # A graph without brands, models, categories or attributes (a catalogue of titles only)
        # has no alias: the linker then links nothing, rather than failing on an empty vocabulary.
        self._matrix = (
            self._vec.fit_transform(grouped["alias"]).T.tocsr() if len(grouped) else None
        )  # (features, aliases)
        self._type_of = grouped["type"].to_numpy(dtype=object)
        self._alias_text = grouped["alias"].tolist()
        self._alias_nodes = grouped["node_id"].tolist()
        self._type_by_node = dict(zip(info.index, info["type"], strict=True))
        e = kg.edges
        model_of = e[e["relation"] == "has_model"].set_index("source")["target"]
        leaf_of = e[e["relation"] == "in_category"].set_index("source")["target"]
        pairs = pd.DataFrame({"model": model_of, "leaf": leaf_of.reindex(model_of.index)}).dropna()
        self._model_leaves = pairs.groupby("model")["leaf"].agg(set).to_dict()
        self._name_by_node = dict(zip(info.index, info["name"], strict=True))

    def _allowed(self, label) -> tuple[str, ...]:
        key = (
            None
            if label is None or (isinstance(label, float) and np.isnan(label))
            else str(label).lower()
        )
        if key not in LABEL_TYPES:
            raise ValueError(
                f"mention label {label!r} has no node type; known labels: "
                f"{', '.join(k for k in LABEL_TYPES if k)} (or None for any type)"
            )
        return LABEL_TYPES[key]

    def _best_alias(
        self, texts: list[str], labels: list, min_ratio: float = 0.0, min_fuzzy_chars: int = 3
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(alias row or -1, confidence, exact?) per mention; fuzzy ratios below ``min_ratio`` are
        not computed (difflib's cheap upper bounds rule most candidates out first)."""
        n = len(texts)
        rows, conf, exact = np.full(n, -1), np.zeros(n), np.zeros(n, dtype=bool)
        allowed = [self._allowed(lab) for lab in labels]
        fuzzy = []
        for i, (t, types) in enumerate(zip(texts, allowed, strict=True)):
            hits = [r for r in self._exact.get(t, []) if self._type_of[r] in types]
            if hits:
                rows[i], conf[i], exact[i] = hits[0], 1.0, True
            elif len(t) >= min_fuzzy_chars:
                fuzzy.append(i)
        if not fuzzy or self._matrix is None:
            return rows, conf, exact
        sims = sp.csr_matrix(
            self._vec.transform([texts[i] for i in fuzzy]) @ self._matrix
        )  # (mentions, aliases)
        masks = {types: np.isin(self._type_of, types) for types in set(allowed)}
        for j, i in enumerate(fuzzy):
            lo, hi = sims.indptr[j], sims.indptr[j + 1]
            idx, val = sims.indices[lo:hi], sims.data[lo:hi]
            good = masks[allowed[i]][idx] & (val >= self.min_cosine)
            if not good.any():
                continue
            idx, val = idx[good], val[good]
            matcher = difflib.SequenceMatcher(
                None, "", texts[i]
            )  # the mention is seq2: analysed once
            best, best_r = -1, min_ratio
            for r in idx[np.argsort(-val, kind="stable")[: self.candidates]]:
                matcher.set_seq1(self._alias_text[r])
                if matcher.real_quick_ratio() < best_r or matcher.quick_ratio() < best_r:
                    continue
                ratio = matcher.ratio()
                if ratio > best_r or best < 0:
                    best, best_r = r, ratio
            if best >= 0 and best_r >= min_ratio:
                rows[i], conf[i] = best, best_r
        return rows, conf, exact

    def link(
        self,
        mentions: pd.DataFrame,
        *,
        col_text: str = "text",
        col_label: str = "label",
        col_group: str | None = "query",
        min_ratio: float = 0.0,
        min_fuzzy_chars: int = 3,
    ) -> pd.DataFrame:
        """``mentions`` with ``node_id type name confidence method`` added (method: exact, fuzzy or
        none). Mentions sharing ``col_group`` (one query) disambiguate each other's models by
        brand."""
        out = mentions.copy()
        texts = [normalise(t) for t in out[col_text]]
        labels = out[col_label].tolist() if col_label in out else [None] * len(out)
        keys = pd.Series([f"{lab}\x00{t}" for t, lab in zip(texts, labels, strict=True)])
        code, uniq = pd.factorize(keys)  # each distinct (text, label) is matched once
        first = pd.Series(np.arange(len(code))).groupby(code).first().to_numpy()
        u_rows, u_conf, u_exact = self._best_alias(
            [texts[i] for i in first],
            [labels[i] for i in first],
            max(min_ratio, self.min_confidence),
            min_fuzzy_chars,
        )
        rows, conf, exact = u_rows[code], u_conf[code], u_exact[code]
        ok = (rows >= 0) & (conf >= self.min_confidence)
        candidates = [
            self._alias_nodes[r] if good else [] for r, good in zip(rows, ok, strict=True)
        ]
        groups = (
            out[col_group].to_numpy() if col_group and col_group in out else np.arange(len(out))
        )
        context: dict = {}  # group -> brands and leaf categories linked in it
        for g, cands in zip(groups, candidates, strict=True):
            if len(cands) == 1 and cands[0].startswith(("brand:", "category:")):
                context.setdefault(g, set()).add(cands[0])
        chosen = []
        for g, cands in zip(groups, candidates, strict=True):
            pick = cands[0] if cands else None
            if len(cands) > 1 and cands[0].startswith("model:"):
                ctx = context.get(g, set())
                same_brand = [c for c in cands if "brand:" + c[6:].split("/", 1)[0] in ctx]
                same_leaf = [c for c in cands if self._model_leaves.get(c, set()) & ctx]
                pick = (same_brand or same_leaf or [pick])[0]
            chosen.append(pick)
        out["node_id"] = chosen
        out["type"] = [self._type_by_node.get(c) if c else None for c in chosen]
        out["name"] = [self._name_by_node.get(c) if c else None for c in chosen]
        out["confidence"] = np.where(ok, conf, 0.0)
        out["method"] = np.where(~ok, "none", np.where(exact, "exact", "fuzzy"))
        return out

    def _correct_words(self, words: list[str], min_ratio: float) -> dict[str, tuple[str, float]]:
        """Out-of-vocabulary words (letters only, 4+) -> (nearest alias word, difflib ratio) when
        the ratio reaches ``min_ratio``: a typo is fixed once per distinct word, not once per
        span."""
        if not self._vocab:
            return {}
        if self._word_vec is None:
            vocab = sorted({w for a in self._alias_text for w in a.split()})
            self._words = vocab
            self._word_vec = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 3), dtype=np.float32
            )
            self._word_matrix = self._word_vec.fit_transform(vocab).T.tocsr()
        todo = sorted({w for w in words if w not in self._vocab and len(w) >= 4 and w.isalpha()})
        if not todo:
            return {}
        sims = sp.csr_matrix(self._word_vec.transform(todo) @ self._word_matrix)
        out = {}
        for j, w in enumerate(todo):
            idx, val = (
                sims.indices[sims.indptr[j] : sims.indptr[j + 1]],
                sims.data[sims.indptr[j] : sims.indptr[j + 1]],
            )
            matcher, best, best_r = difflib.SequenceMatcher(None, "", w), None, min_ratio
            for r in idx[np.argsort(-val, kind="stable")[: self.candidates]]:
                matcher.set_seq1(self._words[r])
                if matcher.real_quick_ratio() >= best_r and matcher.quick_ratio() >= best_r:
                    ratio = matcher.ratio()
                    if ratio >= best_r:
                        best, best_r = self._words[r], ratio
            if best is not None:
                out[w] = (best, best_r)
        return out

    def find_mentions(
        self, texts, *, max_words: int = 4, min_confidence: float = 0.8, min_chars: int = 2
    ) -> pd.DataFrame:
        """Gazetteer spans in raw texts, linked: ``query start end text label node_id type name
        confidence method`` (``query`` = position in ``texts``; ``label`` = the node's type).

        Words outside the aliases' vocabulary (letters only, 4+ characters) are first corrected to
        the nearest alias word when difflib's ratio reaches ``min_confidence``; then every span of
        up to ``max_words`` words that spells an alias is a candidate (confidence 1, or the ratio
        of the typed span to the alias when a word was corrected), and the longest non-overlapping
        candidates win. A word shared by a brand and a colour goes to the more popular node."""
        cols = [
            "query",
            "start",
            "end",
            "text",
            "label",
            "node_id",
            "type",
            "name",
            "confidence",
            "method",
        ]
        tokens = []
        for text in texts:
            text = str(text)
            tokens.append(
                [
                    (
                        m.start(),
                        m.start() + len(m.group().rstrip(".,;:!?")),
                        normalise(m.group().rstrip(".,;:!?")),
                    )
                    for m in _TOKEN.finditer(text)
                ]
            )
        fixes = self._correct_words([w for t in tokens for _, _, w in t], min_confidence)
        rows = []
        for q, (text, toks) in enumerate(zip(texts, tokens, strict=True)):
            fixed = [fixes.get(w, (w, 1.0))[0] for _, _, w in toks]
            for i in range(len(toks)):
                for n in range(1, min(max_words, len(toks) - i) + 1):
                    key = " ".join(fixed[i : i + n])
                    row = self._exact_best.get(key)
                    if row is None:
                        continue
                    s, e = toks[i][0], toks[i + n - 1][1]
                    typed = " ".join(w for _, _, w in toks[i : i + n])
                    conf = (
                        1.0 if typed == key else difflib.SequenceMatcher(None, typed, key).ratio()
                    )
                    if e - s >= min_chars and conf >= min_confidence:
                        rows.append((q, s, e, str(text)[s:e], key, conf))
        if not rows:
            return pd.DataFrame(columns=cols)
        cand = pd.DataFrame(rows, columns=["query", "start", "end", "text", "key", "confidence"])
        cand = cand.assign(length=cand["end"] - cand["start"]).sort_values(
            ["query", "length", "confidence", "start"], ascending=[True, False, False, True]
        )
        chosen, taken = [], {}
        for r in cand.itertuples():
            spans = taken.setdefault(r.query, [])
            if all(r.end <= a or r.start >= b for a, b in spans):
                spans.append((r.start, r.end))
                chosen.append(r.Index)
        out = cand.loc[chosen].sort_values(["query", "start"])
        out["label"] = [self._type_of[self._exact_best[k]] for k in out["key"]]
        # link the corrected text with its label, so a model next to a brand takes that brand's line
        linked = self.link(
            out.assign(text=out["key"]).drop(columns=["confidence"]), col_label="label"
        )
        linked["text"] = out["text"].to_numpy()
        linked["confidence"] = out["confidence"].to_numpy()
        linked["method"] = np.where(linked["confidence"] >= 1.0, "exact", "fuzzy")
        return linked[cols].reset_index(drop=True)


def user_query_entities(
    train_events: pd.DataFrame,
    queries: pd.DataFrame,
    linker: EntityLinker,
    *,
    users=None,
    n_recent: int = 5,
) -> pd.DataFrame:
    """The KG nodes each user's latest ``n_recent`` training searches mention: ``user_id node_id
    weight`` (weight = summed link confidence), for seeding personalised PageRank."""
    cols = ["user_id", "node_id", "weight"]
    if queries is None or queries.empty or "query_id" not in train_events:
        return pd.DataFrame(columns=cols)
    s = train_events[train_events["query_id"].notna()]
    if users is not None:
        s = s[s["user_id"].isin(pd.Index(users))]
    s = s.sort_values("ts").groupby("user_id").tail(n_recent)[["user_id", "query_id"]]
    s = s.merge(queries[["query_id", "text"]], on="query_id")
    if s.empty:
        return pd.DataFrame(columns=cols)
    texts = s["text"].drop_duplicates().reset_index(drop=True)
    found = linker.find_mentions(texts.tolist())
    found = found.assign(text_q=texts.to_numpy()[found["query"].to_numpy().astype(int)])
    pairs = s.merge(found[["text_q", "node_id", "confidence"]], left_on="text", right_on="text_q")
    return (
        pairs.groupby(["user_id", "node_id"], as_index=False)["confidence"]
        .sum()
        .rename(columns={"confidence": "weight"})[cols]
    )


__all__ = [
    "EntityLinker",
    "mine_category_aliases",
    "normalise",
    "title_category_aliases",
    "user_query_entities",
]
