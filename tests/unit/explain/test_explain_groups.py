"""Group Shapley values: exact on functions whose Shapley values are known, and the purchase
hybrid's groups (replacement, additivity, agreement with the model's own score)."""

import numpy as np
import pandas as pd
import pytest

from shopintent.explain import groups


def test_exact_group_shapley_of_known_functions():
    w = np.array([1.0, -2.0, 0.5, 3.0])
    values, base, out = groups.group_shapley(lambda m: m @ w + 0.25, 4)
    np.testing.assert_allclose(values, w, atol=1e-12)  # additive: each player gets its own term
    assert base == pytest.approx(0.25) and out == pytest.approx(w.sum() + 0.25)
    # a pure interaction of players 0 and 1 is shared equally; player 2 is a dummy
    values, base, out = groups.group_shapley(lambda m: 4.0 * m[:, 0] * m[:, 1], 3)
    np.testing.assert_allclose(values, [2.0, 2.0, 0.0], atol=1e-12)


def test_permutation_group_shapley_adds_up():
    def f(m):
        return np.sin(m @ np.arange(1, 7)) + m[:, 0] * m[:, 5]

    values, base, out = groups.group_shapley(f, 6, "permutation", seed=3)
    assert values.sum() == pytest.approx(out - base)
    assert out == pytest.approx(f(np.ones((1, 6)))[0]) and base == pytest.approx(
        f(np.zeros((1, 6)))[0]
    )
    exact, _, _ = groups.group_shapley(f, 6)
    np.testing.assert_allclose(values, exact, atol=0.3)
    with pytest.raises(ValueError, match="unknown method"):
        groups.group_shapley(f, 6, "kernel")


@pytest.fixture(scope="module")
def hybrid(smoke_shop):
    from shopintent.features import sessions
    from shopintent.models.purchase_intent import base as purchase
    from shopintent.models.purchase_intent.sequence import SequenceModel, tfidf_text_vectors

    split = purchase.split_examples(sessions.build_examples(smoke_shop.events, smoke_shop.items))
    text = tfidf_text_vectors(
        smoke_shop.items, smoke_shop.queries, split.train.prefixes["query_id"].dropna(), dim=8
    )
    model = SequenceModel(hybrid=True, epochs=1, units=8, max_len=8, batch_size=4096, seed=1)
    model.fit(split.train, text=text)  # a few steps: the checks below hold for any weights
    return model, split, text


def test_masked_inputs_replace_only_the_removed_group(hybrid):
    model, split, text = hybrid
    sid = split.test.sessions.query("n_events >= 4")["session_id"].iloc[0]
    x, step = groups.session_input(model, split.test, sid, text)
    names = groups.sequence_groups(model)
    assert names == groups.SEQUENCE_GROUPS
    masks = np.ones((len(names) + 1, len(names)), dtype=bool)
    for g in range(len(names)):
        masks[g + 1, g] = False
    out = groups.masked_inputs(model, x, names, masks, groups.SequenceReference(0.5, 0.1, 0.2))
    valid = x["event_type"][0] > 0
    for key in x:  # row 0 keeps everything
        np.testing.assert_array_equal(out[key][0], x[key][0])
    view = model.vocab.encode("event_type", pd.Series(["view"]))[0]
    assert (out["event_type"][1][valid] == view).all() and (out["event_type"][1][~valid] == 0).all()
    assert np.allclose(out["numeric"][2][valid, 0], 0.5)  # timing: the reference gap
    assert np.allclose(out["numeric"][3][valid, 1], 0.0)  # price: the category median
    assert (out["text"][5] == 0).all() and (out["text"][0][valid] != 0).any()
    user = out["user"][6][valid]
    hours = [list(groups.HYBRID_USER_FEATURES).index(c) for c in ("hour_sin", "hour_cos")]
    assert np.allclose(np.delete(user, hours, axis=1), 0.0)
    np.testing.assert_array_equal(user[:, hours], x["user"][0][valid][:, hours])
    search = model.vocab.encode("event_type", pd.Series(["search"]))[0]
    items = valid & (x["event_type"][0] != search)
    assert (out["category"][4][items] == 1).all() and (out["brand"][4][items] == 1).all()  # unknown
    assert np.allclose(out["numeric"][4][items, 4], 0.1)  # the reference item conversion
    for g in (1, 2, 3, 5, 6):  # each removal leaves the other groups' inputs alone
        assert (out["category"][g] == x["category"][0]).all()


def test_group_values_add_up_to_the_models_own_score(hybrid):
    model, split, text = hybrid
    ref = groups.SequenceReference.fit(split.train.prefixes)
    sids = list(split.test.sessions["session_id"].iloc[:4])
    att = groups.sequence_group_shap(model, split.test, sids, ref, text)
    assert att.values.shape == (4, 6) and list(att.values.index) == sids
    np.testing.assert_allclose(att.values.sum(axis=1), att.output - att.base, atol=1e-6)
    raw = model.raw_scores(split.test, text)
    full = split.test.full_mask()
    p = dict(zip(split.test.prefixes.loc[full, "session_id"], raw[full], strict=True))
    expected = np.log(np.array([p[s] for s in sids]) / (1 - np.array([p[s] for s in sids])))
    np.testing.assert_allclose(att.output.to_numpy(), expected, atol=1e-4)
    table = groups.faithfulness_table(
        model, split.test, att, ref, text, ks=(1, 2), n_random=4, seed=0
    )
    assert (
        len(table) == 8 and (table["topk_drop"] >= 0).all() and set(table["example"]) == set(sids)
    )
