"""Auto-completion by hand: the frequency baseline, the protocol, the slices, and the blend
mixing frequency with a language model (with a scripted language model: the blend's own logic, not
the GPT's, is under test here; the GPT's log-probability is tested in test_shop_gpt)."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.text.autocomplete import (
    BlendCompleter,
    Memo,
    PrefixFrequency,
    autocomplete_eval,
    query_prefix,
    reciprocal_ranks,
    slice_table,
    slices,
)

PAST = [
    "red shoes",
    "red shoes",
    "Red  Shoes",
    "red dress",
    "red dress",
    "Red Hat",
    "redmi phone",
    "blue shoes",
    "red shoes sale",
]
FUTURE = ["red shoes", "red hat", "blue shoes", "redmi phone", "green tea", "red shoes sale"]


def test_prefix_frequency_ranks_past_queries_by_count_then_alphabet():
    base = PrefixFrequency().fit(PAST)
    assert base.complete("red") == [
        "red shoes",
        "red dress",
        "red hat",
        "red shoes sale",
        "redmi phone",
    ]
    assert base.complete("RED", k=2) == ["red shoes", "red dress"]
    assert base.complete("red ") == [
        "red shoes",
        "red dress",
        "red hat",
        "red shoes sale",
    ]  # a whole word
    assert base.complete("green") == []
    assert base.candidates("red", 2) == [("red shoes", 3), ("red dress", 2)]


def test_autocomplete_eval_first_word_by_hand():
    base = PrefixFrequency().fit(PAST)
    # ranks: red shoes 1, red hat 3, blue shoes 1, redmi phone 1, green tea -, red shoes sale 4
    out = autocomplete_eval(base, FUTURE, prefix="first word", k=5)
    assert out["mrr@5"] == pytest.approx((1 + 1 / 3 + 1 + 1 + 0 + 1 / 4) / 6)
    assert out["hit@5"] == pytest.approx(5 / 6)
    assert out["n"] == 6
    top2 = autocomplete_eval(base, FUTURE, k=2)
    assert top2["mrr@2"] == pytest.approx(3 / 6)
    np.testing.assert_allclose(
        reciprocal_ranks(base, FUTURE), [1, 1 / 3, 1, 1, 0, 1 / 4]
    )  # one per search, in order


def test_autocomplete_eval_first_chars_by_hand():
    base = PrefixFrequency().fit(PAST)
    # "redmi phone" is typed as "red": rank 5; "blue shoes" as "blu": rank 1
    out = autocomplete_eval(base, FUTURE, prefix="n chars", n_chars=3)
    assert out["mrr@5"] == pytest.approx((1 + 1 / 3 + 1 + 1 / 5 + 0 + 1 / 4) / 6)
    assert query_prefix("  Nova 4 Mini ", "first word") == "nova"
    assert query_prefix("Nova 4 Mini", "n chars", n_chars=6) == "nova 4"


def test_slices_by_what_the_training_log_knew():
    cuts = slices(FUTURE + ["red shoes"], PAST, head_min_count=3)
    # red shoes x3 in training (head), red hat x1 and red shoes sale x1 (tail), blue shoes x1
    # (tail), redmi phone x1 (tail), green tea never (new, and no past query starts "green")
    assert cuts["head"].tolist() == [True, False, False, False, False, False, True]
    assert cuts["tail"].tolist() == [False, True, True, True, False, True, False]
    assert cuts["new"].tolist() == [False, False, False, False, True, False, False]
    assert cuts["unseen_prefix"].tolist() == [False, False, False, False, True, False, False]
    assert (cuts["seen_prefix"] == ~cuts["unseen_prefix"]).all() and cuts["all"].all()
    # "reds" starts no past query ("redmi" does start with "redm": seen)
    assert slices(["reds x", "redm x"], PAST)["unseen_prefix"].tolist() == [True, False]


class ScriptedLM:
    """A language model whose log-probabilities and completions are given."""

    def __init__(self, log_probs: dict, completions: dict):
        self.log_probs, self.completions = log_probs, completions
        self.scored, self.asked = [], []

    def log_prob(self, texts):
        self.scored.extend(texts)
        return np.array([self.log_probs.get(t, -20.0) for t in texts])

    def complete_many(self, prefixes, k=5):
        self.asked.extend(prefixes)
        return [self.completions.get(p, [])[:k] for p in prefixes]


FREQUENCY_RED = ["red shoes", "red dress", "red hat", "red shoes sale", "redmi phone"]


def test_blend_at_share_one_is_frequency_then_the_lms_completions():
    base = PrefixFrequency().fit(PAST)
    lm = ScriptedLM({"red hat": -1.0}, {"blue": ["blue shoes", "blue hat", "blue jeans"]})
    blend = BlendCompleter(base, lm, share=1.0)
    assert blend.complete_many(["red", "blue", "green"], k=5) == [
        FREQUENCY_RED,
        ["blue shoes", "blue hat", "blue jeans"],  # frequency's one, then the LM's new ones
        [],
    ]


def test_blend_mixes_the_two_probabilities_by_hand():
    base = PrefixFrequency().fit(PAST)
    # P_frequency for "red": shoes 3/8, dress 2/8, the three once-searched 1/8 each; P_lm over
    # the pool: hat e^-1 and redmi e^-2 share almost all of it (the others are e^-20)
    lm = ScriptedLM({"red hat": -1.0, "redmi phone": -2.0, "red shoes sale": -9.0}, {})
    blend = BlendCompleter(base, lm, share=0.9)
    p_hat = np.exp(-1) / (np.exp(-1) + np.exp(-2) + np.exp(-9) + 2 * np.exp(-20))
    assert 0.9 / 8 + 0.1 * p_hat < 0.9 * 2 / 8  # the hat does not pass the dress at 0.9 ...
    assert blend.complete_many(["red"])[0] == [
        "red shoes",
        "red dress",
        "red hat",
        "redmi phone",  # ... but the LM orders the once-searched queries frequency tied
        "red shoes sale",
    ]
    sure = ScriptedLM({"red jacket": 0.0}, {"red": ["red jacket"]})  # nobody typed it yet
    blend = BlendCompleter(base, sure, share=0.5)
    assert blend.complete_many(["red"], k=2)[0] == ["red jacket", "red shoes"]


def test_share_is_chosen_on_validation_and_stays_with_frequency_when_the_lm_does_not_help():
    base = PrefixFrequency().fit(PAST)
    # validation searches "red shoes sale", 4th by frequency; the LM is sure of it
    knows = ScriptedLM({"red shoes sale": -0.1}, {})
    blend = BlendCompleter(base, knows)
    scores = blend.choose_share(["red shoes sale"], grid=(1.0, 0.97, 0.5))
    assert scores == pytest.approx({1.0: 1 / 4, 0.97: 1 / 3, 0.5: 1.0})
    assert blend.share == 0.5
    useless = ScriptedLM({}, {})  # every candidate alike: no share changes the order
    blend = BlendCompleter(base, useless)
    scores = blend.choose_share(["red hat", "blue shoes"], grid=(0.5, 1.0, 0.9))
    assert len(set(scores.values())) == 1 and blend.share == 1.0
    assert len(useless.scored) == len(set(useless.scored))  # each candidate scored once
    assert sorted(useless.asked) == ["blue", "red"]  # each prefix asked once


def test_memo_asks_once_and_refuses_more_than_it_keeps():
    lm = ScriptedLM({}, {"red": ["red a", "red b", "red c"]})
    memo = Memo(lm, depth=2)
    assert memo.complete_many(["red", "red"], k=1) == [["red a"], ["red a"]]
    assert memo.complete_many(["red"], k=2) == [["red a", "red b"]]
    assert lm.asked == ["red"]
    with pytest.raises(ValueError, match="keeps 2"):
        memo.complete_many(["red"], k=3)


def test_slice_table_means_and_paired_difference_by_hand():
    ranks = {"prefix_frequency": np.array([1.0, 0.0, 0.5, 0.0]), "blend": np.array([1, 1, 0.5, 0])}
    cuts = pd.DataFrame({"all": [True] * 4, "tail": [False, True, True, False]})
    table = slice_table(ranks, cuts, n_boot=200).set_index(["slice", "model"])
    assert table.loc[("all", "blend"), "mrr@5"] == pytest.approx(2.5 / 4)
    assert table.loc[("all", "blend"), "hit@5"] == pytest.approx(3 / 4)
    assert table.loc[("tail", "blend"), "mrr@5_gain"] == pytest.approx(0.5)
    assert table.loc[("tail", "prefix_frequency"), "searches"] == 2
    assert np.isnan(table.loc[("all", "prefix_frequency"), "mrr@5_gain"])  # the baseline itself
    low, high = table.loc[("all", "blend"), ["mrr@5_low", "mrr@5_high"]]
    assert low <= 2.5 / 4 <= high


def test_verdict_names_who_wins_and_loses_by_slice():
    from shopintent.studies.text_features import autocompletion_verdict

    ranks = {
        "prefix_frequency": np.array([1.0, 0.5, 0.0, 0.0] * 10),
        "shopgpt": np.array([0.0, 0.0, 0.0, 0.0] * 10),
        "blend": np.array([1.0, 1.0, 0.0, 0.5] * 10),
    }
    cuts = pd.DataFrame({"all": [True] * 40, "new": [False, False, True, True] * 10})
    text = autocompletion_verdict(slice_table(ranks, cuts, n_boot=200))
    assert "shopgpt vs prefix frequency, all (40 searches): MRR@5 -0.3750" in text
    assert "shopgpt vs prefix frequency, new (20 searches): MRR@5 +0.0000" in text
    lines = dict(line.split(": MRR@5 ") for line in text.splitlines())
    assert lines["shopgpt vs prefix frequency, all (40 searches)"].endswith("loses")
    assert lines["blend vs prefix frequency, all (40 searches)"].endswith("wins")
    assert lines["shopgpt vs prefix frequency, new (20 searches)"].endswith("no difference")


def test_metrics_are_every_number_of_the_slice_table_under_its_task():
    from shopintent.studies.text_features import autocompletion_metrics

    ranks = {"prefix_frequency": np.array([1.0, 0.0, 0.5, 0.0]), "blend": np.array([1, 1, 0.5, 0])}
    cuts = pd.DataFrame({"all": [True] * 4, "tail": [False, True, True, False]})
    m = autocompletion_metrics(slice_table(ranks, cuts, n_boot=200))
    assert m["autocomplete/blend/mrr@5"] == pytest.approx(2.5 / 4)
    assert m["autocomplete_tail/blend/mrr@5_gain"] == pytest.approx(0.5)
    assert m["autocomplete_tail/prefix_frequency/hit@5"] == pytest.approx(0.5)
    assert "autocomplete/prefix_frequency/mrr@5_gain" not in m  # the baseline has no gain
    assert not any(k.endswith("/searches") for k in m)
