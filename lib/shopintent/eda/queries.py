"""Search queries: how long they are, which words they use, how often they name a brand.

Words are runs of letters and digits (``\\w+``), lower-cased. A brand is mentioned when its name
appears in the query as whole words, case-insensitively (``Kelvo`` in "kelvo microwave", not in
"kelvomatic"). Brands that are ordinary words (e.g. "Bloom") are counted too, so the brand
share is an upper bound of how often users search by brand.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from shopintent.eda.quality import distribution, unavailable

#: Very common English function words, left out of ``top_terms`` by default.
STOPWORDS = frozenset("a an and the for of to in on with by at from or is are my me i".split())
_WORD = r"\w+"


def _texts(queries: pd.DataFrame) -> pd.Series:
    return queries["text"].dropna().astype(str) if "text" in queries else pd.Series([], dtype=str)


def query_lengths(queries: pd.DataFrame) -> pd.DataFrame:
    """Per query: ``query_id, words, chars`` (characters of the stripped text, spaces included)."""
    if _texts(queries).empty:
        return unavailable(["query_id", "words", "chars"], "the dataset has no search queries")
    text = queries["text"].fillna("").astype(str)
    return pd.DataFrame(
        {
            "query_id": queries["query_id"].to_numpy(),
            "words": text.str.count(_WORD).to_numpy(dtype=np.int64),
            "chars": text.str.strip().str.len().to_numpy(dtype=np.int64),
        }
    )


def length_stats(lengths: pd.DataFrame) -> pd.DataFrame:
    """Distribution of words and characters per query, from ``query_lengths``."""
    if lengths.empty:
        out = distribution(
            {"words": pd.Series([], dtype=float), "chars": pd.Series([], dtype=float)}
        )
        out.attrs.update(lengths.attrs)
        return out
    return distribution({"words": lengths["words"], "chars": lengths["chars"]})


def top_terms(
    queries: pd.DataFrame, n: int = 30, stopwords: frozenset[str] = STOPWORDS
) -> pd.DataFrame:
    """The ``n`` words in most queries: ``term, queries, query_share, occurrences``.

    ``queries`` counts each query once however often it repeats the word.
    """
    text = _texts(queries)
    cols = ["term", "queries", "query_share", "occurrences"]
    if text.empty:
        return unavailable(cols, "the dataset has no search queries")
    words = text.str.lower().str.findall(_WORD).explode().dropna()
    words = words[~words.isin(stopwords)]
    if words.empty:
        return unavailable(cols, "the queries contain no words")
    occurrences = words.value_counts()
    in_queries = words.reset_index().drop_duplicates().iloc[:, 1].value_counts()
    out = pd.DataFrame(
        {"queries": in_queries, "occurrences": occurrences.reindex(in_queries.index)}
    )
    out = out.sort_values(["queries", "occurrences"], ascending=False, kind="stable").head(n)
    out.insert(1, "query_share", out["queries"] / len(text))
    return out.rename_axis("term").reset_index()[cols]


def brand_pattern(brands: pd.Series) -> re.Pattern | None:
    """One case-insensitive whole-word regex matching any of ``brands``; None when there are none.

    Longer names come first so that "Pure Bloom" wins over "Bloom"; the boundaries are
    look-arounds rather than ``\\b`` so names ending in punctuation ("Dr.") still match.
    """
    names = pd.Series(brands).dropna().astype(str).str.strip()
    names = names[names.str.len() > 0].drop_duplicates()
    if names.empty:
        return None
    names = names.iloc[np.argsort(-names.str.len().to_numpy(), kind="stable")]
    alternation = "|".join(re.escape(b) for b in names)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


def brand_mentions(queries: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Every brand mention: ``query_id, brand`` (the catalogue's spelling), one row per mention."""
    cols = ["query_id", "brand"]
    if _texts(queries).empty:
        return unavailable(cols, "the dataset has no search queries")
    if "brand" not in items or items["brand"].notna().sum() == 0:
        return unavailable(cols, "the catalogue has no brands")
    pattern = brand_pattern(items["brand"])
    spelling = pd.Series(items["brand"].dropna().astype(str).str.strip().to_numpy())
    spelling = pd.Series(spelling.to_numpy(), index=spelling.str.lower()).groupby(level=0).first()
    text = queries["text"].fillna("").astype(str).reset_index(drop=True)
    found = text.str.extractall(f"({pattern.pattern})", flags=re.IGNORECASE)
    if found.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    rows = found.index.get_level_values(0).to_numpy()
    return pd.DataFrame(
        {
            "query_id": queries["query_id"].to_numpy()[rows],
            "brand": found[0].str.lower().map(spelling).to_numpy(),
        }
    )


def brand_share(queries: pd.DataFrame, items: pd.DataFrame) -> dict[str, float | None]:
    """``share`` of queries that mention at least one catalogue brand, with ``queries`` and
    ``with_brand`` counts; ``share`` None (and a ``reason``) without queries or brands."""
    text = _texts(queries)
    why = None if len(text) else "the dataset has no search queries"
    if why is None and ("brand" not in items or items["brand"].notna().sum() == 0):
        why = "the catalogue has no brands"
    if why:
        return {"share": None, "queries": len(text), "with_brand": None, "reason": why}
    with_brand = int(text.str.contains(brand_pattern(items["brand"])).sum())
    return {"share": with_brand / len(text), "queries": len(text), "with_brand": with_brand}


def brand_query_counts(mentions: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` brands named in most queries: ``brand, queries``, from ``brand_mentions``."""
    if mentions.empty:
        return unavailable(
            ["brand", "queries"], mentions.attrs.get("reason", "no brand is mentioned")
        )
    counts = mentions.drop_duplicates()["brand"].value_counts().head(n)
    return counts.rename("queries").rename_axis("brand").reset_index()


def intent_shares(queries: pd.DataFrame) -> pd.DataFrame:
    """Labelled query intents, where the source has them: ``intent, queries, share``."""
    if "intent" not in queries or queries["intent"].notna().sum() == 0:
        return unavailable(["intent", "queries", "share"], "the queries carry no intent labels")
    counts = queries["intent"].value_counts()
    return pd.DataFrame(
        {
            "intent": counts.index.astype(str),
            "queries": counts.to_numpy(),
            "share": counts.to_numpy() / counts.sum(),
        }
    )
