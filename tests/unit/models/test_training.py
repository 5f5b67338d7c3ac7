"""The one keep-the-best-epoch rule (shopintent.models.training.BestEpoch): which epoch is
kept, when training stops, which weights come back; driven by hand and by a Keras callback of
each world (Keras 3, and tf-keras as TensorFlow Recommenders uses it)."""

import numpy as np
import pytest

from shopintent.models.training import BestEpoch


class Weights:
    """A stand-in model whose single weight is set by hand before each epoch's score."""

    def __init__(self):
        self.w = np.zeros(2)

    def get_weights(self):
        return [self.w.copy()]

    def set_weights(self, weights):
        self.w = weights[0].copy()


def drive(keeper: BestEpoch, model: Weights, scores) -> int:
    """A hand loop: epoch e sets the weight to e and scores it; returns the epochs run."""
    for epoch, score in enumerate(scores, start=1):
        model.w[:] = epoch
        if keeper.update(score):
            return epoch
    return len(scores)


def test_higher_is_better_keeps_the_best_epoch_and_stops_after_patience():
    model = Weights()
    keeper = BestEpoch(model, higher_is_better=True, patience=2)
    ran = drive(keeper, model, [0.5, 0.7, 0.6, 0.65, 0.9])
    assert ran == 4 and keeper.stopped  # epochs 3 and 4 did not beat epoch 2: epoch 5 never runs
    assert (
        keeper.best_epoch == 2
        and keeper.best_score == 0.7
        and keeper.history == [0.5, 0.7, 0.6, 0.65]
    )
    assert model.w.tolist() == [4, 4]
    keeper.restore()
    assert model.w.tolist() == [2, 2]


def test_a_tie_keeps_the_earlier_epoch_in_both_directions():
    for higher, scores in ((True, [0.3, 0.8, 0.8, 0.8]), (False, [0.9, 0.4, 0.4, 0.4])):
        model = Weights()
        keeper = BestEpoch(model, higher_is_better=higher, patience=3)
        assert drive(keeper, model, scores) == 4 and not keeper.stopped  # ties wait: 2 epochs < 3
        keeper.restore()
        assert keeper.best_epoch == 2 and model.w.tolist() == [2, 2]
        keeper.update(scores[-1])  # the 3rd tie in a row runs out of patience
        assert keeper.stopped and keeper.best_epoch == 2


def test_lower_is_better_without_patience_runs_every_epoch():
    model = Weights()
    keeper = BestEpoch(model, higher_is_better=False)
    assert drive(keeper, model, [3.0, 2.0, 2.5, 2.6, 2.7, 1.9, 2.2]) == 7 and not keeper.stopped
    keeper.restore()
    assert keeper.best_epoch == 6 and keeper.best_score == 1.9 and model.w.tolist() == [6, 6]


def test_epoch_zero_competes_only_with_an_initial_score():
    model = Weights()
    model.w[:] = -1  # the untrained weights
    keeper = BestEpoch(model, higher_is_better=True, patience=2, initial=0.6)
    assert drive(keeper, model, [0.5, 0.55, 0.9]) == 2  # neither epoch beat epoch 0
    keeper.restore()
    assert keeper.best_epoch == 0 and keeper.best_score == 0.6 and model.w.tolist() == [-1, -1]

    # a +inf start for a loss: epoch 0's weights come back only when no epoch has a finite loss
    model = Weights()
    keeper = BestEpoch(model, higher_is_better=False, initial=np.inf)
    drive(keeper, model, [np.nan, np.nan])
    keeper.restore()
    assert keeper.best_epoch == 0 and model.w.tolist() == [0, 0]


def test_without_initial_score_nothing_is_kept_until_an_epoch_scores():
    model = Weights()
    keeper = BestEpoch(model, higher_is_better=True, patience=2)
    assert drive(keeper, model, [np.nan, np.nan, 0.1]) == 2  # patience counts from epoch 0
    assert not keeper.kept and keeper.best_epoch == 0
    keeper.restore()  # nothing kept: the last epoch's weights stay
    assert model.w.tolist() == [2, 2]
    keeper = BestEpoch(model, higher_is_better=True, patience=2)
    drive(keeper, model, [np.nan, 0.2, np.nan])  # a NaN never beats a score, and never is one
    assert keeper.kept and keeper.best_epoch == 2 and not keeper.stopped


def test_patience_below_one_epoch_is_refused():
    with pytest.raises(ValueError, match="patience"):
        BestEpoch(Weights(), higher_is_better=True, patience=0)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], dtype=np.float32) > 0).astype(np.float32)[:, None]
    return x, y


def test_keras_callback_stops_and_restores_the_best_epoch_weights():
    import keras

    keras.utils.set_random_seed(0)
    x, y = _data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
    weights = {}
    scores = iter([0.2, 0.6, 0.5, 0.4, 0.9, 0.95])  # epoch 2 best, epochs 3-4 wait: stop after 4

    def score(logs):
        weights[len(weights) + 1] = model.get_weights()
        logs["val_score"] = next(scores)
        return logs["val_score"]

    keeper = BestEpoch(model, higher_is_better=True, patience=2)
    fit = model.fit(
        x,
        y,
        epochs=6,
        batch_size=16,
        verbose=0,
        shuffle=False,
        callbacks=[keeper.keras_callback(score)],
    )
    assert len(fit.history["loss"]) == 4 and fit.history["val_score"] == [0.2, 0.6, 0.5, 0.4]
    assert keeper.best_epoch == 2
    for a, b in zip(model.get_weights(), weights[2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights[2][0], weights[4][0])  # training did move on after epoch 2


def test_keras_callback_on_the_trainable_variables_reads_the_validation_loss():
    import keras

    keras.utils.set_random_seed(1)
    x, y = _data()
    frozen = keras.layers.Dense(4, name="frozen")
    frozen.trainable = False
    model = keras.Sequential(
        [keras.Input((3,)), frozen, keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    initial = model.evaluate(x[48:], y[48:], verbose=0)
    keeper = BestEpoch(model, higher_is_better=False, initial=initial, trainable_only=True)
    fit = model.fit(
        x[:48],
        y[:48],
        epochs=3,
        verbose=0,
        validation_data=(x[48:], y[48:]),
        callbacks=[keeper.keras_callback("val_loss")],
    )
    val = fit.history["val_loss"]
    assert keeper.history == pytest.approx(val)
    losses = [initial, *val]
    assert keeper.best_epoch == int(np.argmin(losses)) and keeper.best_score == pytest.approx(
        min(losses)
    )
    assert len(keeper.weights) == 2  # the trainable kernel and bias only


def test_tf_keras_callback_drives_a_keras_2_model():
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    x, y = _data()
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.5), loss="binary_crossentropy")
    assert not model.__class__.__module__.startswith("keras.src")  # the Keras 2 world
    kept = {}

    def score(logs):
        kept[len(kept) + 1] = model.get_weights()
        return [1.0, 0.5, 0.7, 0.8][len(kept) - 1]  # a loss: epoch 2 is best

    keeper = BestEpoch(model, higher_is_better=False, patience=2)
    fit = model.fit(
        x, y, epochs=5, batch_size=16, verbose=0, callbacks=[keeper.tf_keras_callback(score)]
    )
    assert len(fit.history["loss"]) == 4 and keeper.best_epoch == 2 and keeper.stopped
    for a, b in zip(model.get_weights(), kept[2], strict=True):
        np.testing.assert_array_equal(a, b)
