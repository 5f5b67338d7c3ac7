"""Purchase-intent models: the split, calibration, each model above chance on a small shop,
save/load, the vectorised bootstrap metrics and the prediction file."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

from shopintent.evaluation import binary_report, expected_calibration_error
from shopintent.evaluation import classification as cl
from shopintent.evaluation import purchase as pe
from shopintent.features import sessions as fs
from shopintent.models.purchase_intent import base as pm
from shopintent.models.purchase_intent import family


@pytest.fixture(scope="module")
def split(smoke_shop):
    ex = fs.build_examples(smoke_shop.events, smoke_shop.items)
    return pm.split_examples(ex, test_frac=0.2, val_frac=0.1)


def _full_auc(model, ex, text=None):
    full = ex.full_mask()
    return roc_auc_score(ex.labels[full], model.predict(ex, text)[full])


def test_split_is_temporal_and_disjoint(split):
    parts = split.parts()
    ids = [set(p.sessions["session_id"]) for p in parts.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert (split.train.prefixes["ts"] < split.val_cutoff).all()
    assert (split.train.sessions["end"] < split.val_cutoff).all()
    assert (split.val.sessions["end"] < split.cutoff).all()
    assert (split.test.sessions["start"] >= split.cutoff).all()
    assert split.summary().loc["test", "purchases"] == split.test.sessions["label"].sum() > 20


def test_calibrators():
    r = np.random.default_rng(0)
    truth = r.uniform(0.01, 0.3, 20000)
    y = (r.random(20000) < truth).astype(int)
    w = 9.0  # what a positive weight of 9 does to the odds
    raw = truth * w / (truth * w + 1 - truth)
    prior = pm.Calibrator.fit(raw, y, "prior", pos_weight=w)
    assert np.allclose(prior(raw), truth, atol=1e-6)
    for method in ("platt", "isotonic"):
        cal = pm.Calibrator.fit(raw, y, method)
        assert expected_calibration_error(y, cal(raw)) < 0.01 < expected_calibration_error(y, raw)
        again = pm.Calibrator.from_dict(cal.to_dict())
        assert np.allclose(again(raw[:50]), cal(raw[:50]))
    assert pm.Calibrator.fit(raw, y).method == "isotonic"
    assert pm.Calibrator.fit(raw[:300], y[:300]).method == "platt"
    assert pm.Calibrator.fit(raw[:10], np.r_[1, np.zeros(9, int)]).method == "prior"


@pytest.mark.parametrize("cls", [pm.CountsLogistic, pm.HandmadeLightGBM])
def test_baselines_beat_chance_and_reload(cls, split, tmp_path):
    model = cls(seed=1).fit(split.train, split.val).calibrate(split.val)
    assert _full_auc(model, split.test) > 0.85  # a cart is strong evidence even for counts
    scores = model.predict(split.test)
    path = model.save(tmp_path / model.name)
    assert not list(path.rglob("*.pkl")) and (path / "meta.json").is_file()
    again = cls.load(path)
    assert type(again) is cls
    np.testing.assert_allclose(again.predict(split.test), scores, rtol=1e-6, atol=1e-9)
    model.save(path)  # saving over an existing folder replaces it
    assert family.load_model(path).calibrator.method == model.calibrator.method  # any kind
    other = pm.HandmadeLightGBM if cls is pm.CountsLogistic else pm.CountsLogistic
    with pytest.raises(ValueError, match=f"holds a '{cls.kind}' purchase model"):
        other.load(path)


def test_logreg_reads_carts_as_evidence(split):
    coef = pm.CountsLogistic().fit(split.train).coefficients()
    assert coef["n_cart"] == coef.max() > 0


@pytest.mark.slow
def test_sequence_models_beat_chance_and_reload(split, smoke_shop, tmp_path):
    from shopintent.models.purchase_intent.sequence import SequenceModel, tfidf_text_vectors

    text = tfidf_text_vectors(
        smoke_shop.items, smoke_shop.queries, split.train.prefixes["query_id"].dropna(), dim=16
    )
    for hybrid in (False, True):
        model = SequenceModel(hybrid=hybrid, epochs=3, units=16, max_len=8, seed=3)
        model.fit(split.train, split.val, text=text).calibrate(split.val, text=text)
        assert _full_auc(model, split.test, text) > 0.75, model.name
        scores = model.predict(split.test, text)
        assert np.isfinite(scores).all() and len(scores) == len(split.test.prefixes)
        again = SequenceModel.load(model.save(tmp_path / model.name))
        assert (tmp_path / model.name / "model.keras").is_file()
        np.testing.assert_allclose(again.predict(split.test, text), scores, rtol=1e-5, atol=1e-6)
    from shopintent.explain.groups import occlusion

    sid = split.test.sessions.query("n_events >= 3")["session_id"].iloc[0]
    occ = occlusion(model, split.test, sid, text)
    n = int(split.test.sessions.set_index("session_id").loc[sid, "n_events"])
    assert len(occ) == n and occ["p_full"].nunique() == 1 and occ["effect"].notna().all()
    assert occ["p_full"].iloc[0] == pytest.approx(
        scores[(split.test.prefixes["session_id"] == sid).to_numpy()][-1]
    )


def test_weighted_metrics_match_scikit_learn():
    r = np.random.default_rng(1)
    y = (r.random(500) < 0.2).astype(float)
    p = np.round(np.clip(0.5 * r.random(500) + 0.3 * y, 0, 1), 2)  # rounded: ties
    w = r.integers(0, 3, 500).astype(float)
    assert cl.roc_auc(y, p, w)[0] == pytest.approx(roc_auc_score(y, p, sample_weight=w))
    assert cl.weighted_average_precision(y, p, w)[0] == pytest.approx(
        average_precision_score(y, p, sample_weight=w)
    )
    assert cl.weighted_log_loss(y, p, w)[0] == pytest.approx(log_loss(y, p, sample_weight=w))
    assert cl.weighted_ece(y, p, np.ones(500))[0] == pytest.approx(expected_calibration_error(y, p))
    ci = pe.metrics_with_intervals(y, p, n_boot=200, seed=5)
    report = binary_report(y, p)
    for m in pe.METRICS:
        assert ci[m].point == pytest.approx(report[m]) and ci[m].low < ci[m].point < ci[m].high
    assert pe.metrics_with_intervals(y, p, n_boot=200, seed=5) == ci
    same = pe.paired_difference(y, p, p, n_boot=100)
    assert same == (0.0, 0.0, 0.0)


def test_gain_and_share_of_lift():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.1, 0.5, 0.4, 0.3, 0.2, 0.15, 0.12, 0.11])
    assert pe.top_share(y, p, 0.1) == 0.5 and pe.top_share(y, p, 0.2) == 0.5
    gain = pe.gain_table(y, {"m": p}, points=10).query("model == 'm'")
    assert gain["purchase_share"].tolist() == [0.5] * 9 + [1.0]
    assert pe.share_of_lift(0.8, 0.9) == pytest.approx(0.75)


def test_early_curve_uses_the_same_sessions_at_every_k(split):
    p = np.random.default_rng(0).random(len(split.test.prefixes))
    curve = pe.early_curve(split.test, {"random": p}, max_k=4)
    assert curve["sessions"].nunique() == 1 and curve["sessions"].iloc[0] == len(
        split.test.sessions
    )
    assert curve["still_running"].is_monotonic_decreasing


def test_prediction_file_round_trip(split, tmp_path):
    scores = {part: {"m": np.full(len(ex.prefixes), 0.25)} for part, ex in split.parts().items()}
    table = family.prediction_table(split, scores)
    path = family.write_predictions(table, tmp_path)
    back = pd.read_parquet(path)
    assert len(back) == sum(len(ex.prefixes) for ex in split.parts().values())
    assert set(back["split"]) == {"train", "val", "test"} and (back["p_m"] == 0.25).all()
    assert back.groupby("session_id")["is_full"].sum().eq(1).all()
    assert not list(tmp_path.glob(".*"))  # no temp file left behind
