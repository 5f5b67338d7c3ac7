"""One keep-the-best-epoch rule for every trainer: the Keras 3 models, the tf-keras (TFRS)
models and the hand-written loops.

``BestEpoch`` is fed one validation score per epoch (epochs count from 1; epoch 0 is the
model before training), keeps a copy of the weights of the best epoch so far, says when
``patience`` epochs in a row have not beaten it, and puts the best weights back. A Keras
callback of either world (``keras_callback``, ``tf_keras_callback``) or a hand loop
(``update`` after each epoch, ``restore`` at the end) drives it. The rule, the same in all:
a score must be strictly better than the best so far (a tie or a NaN keeps the earlier
epoch), and the epochs waited are counted from the best epoch, or from epoch 0 when none
has been kept yet.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class BestEpoch:
    """Keeps the weights of the epoch with the best validation score.

    ``higher_is_better``: AUC or NDCG (True) or a loss (False). ``patience``: stop after that
    many epochs without a better score (None: never stop early). ``trainable_only`` copies only
    the trainable variables (a fine-tune whose frozen layers cannot change), else all of
    ``model.get_weights()``. ``initial`` makes epoch 0 (the weights as they are now) a
    candidate with that score: the untrained model wins when no epoch beats it. Without it no
    weights are kept until an epoch scores (a NaN never does), and ``restore`` then leaves
    the last epoch's weights alone.
    """

    def __init__(
        self,
        model,
        higher_is_better: bool,
        patience: int | None = None,
        initial: float | None = None,
        trainable_only: bool = False,
    ):
        if patience is not None and patience < 1:
            raise ValueError(
                f"patience must be at least 1 epoch (or None: never stop), got {patience}"
            )
        self.model, self.higher_is_better, self.patience = model, higher_is_better, patience
        self.trainable_only = trainable_only
        self.best_epoch = 0
        self.best_score = -np.inf if higher_is_better else np.inf
        self.weights: list[np.ndarray] | None = None
        self.history: list[float] = []  # the score of each epoch, epoch 1 first
        self.stopped = False
        if initial is not None:
            self.best_score, self.weights = initial, self._copy()

    @property
    def kept(self) -> bool:
        """Whether any weights are kept (an epoch scored, or epoch 0 was a candidate)."""
        return self.weights is not None

    def _copy(self) -> list[np.ndarray]:
        if self.trainable_only:
            return [np.array(v.numpy()) for v in self.model.trainable_variables]
        return self.model.get_weights()

    def _better(self, score: float) -> bool:
        return score > self.best_score if self.higher_is_better else score < self.best_score

    def update(self, score: float) -> bool:
        """Record the score of the next epoch; True when training should stop."""
        self.history.append(score)
        epoch = len(self.history)
        if self._better(score):
            self.best_epoch, self.best_score, self.weights = epoch, score, self._copy()
            return False
        self.stopped = self.patience is not None and epoch - self.best_epoch >= self.patience
        return self.stopped

    def restore(self) -> None:
        """Put the kept weights back (nothing kept: the model stays as it is)."""
        if self.weights is None:
            return
        if self.trainable_only:
            for var, value in zip(self.model.trainable_variables, self.weights, strict=True):
                var.assign(value)
        else:
            self.model.set_weights(self.weights)

    def keras_callback(self, score: Callable[[dict], float] | str = "val_loss"):
        """A Keras 3 callback: scores each epoch with ``score(logs)`` (or the log named by a
        string), stops ``fit`` when patience runs out and restores the best weights at its end."""
        import keras

        return _callback(keras.callbacks.Callback, self, score)

    def tf_keras_callback(self, score: Callable[[dict], float] | str = "val_loss"):
        """The same callback for a tf-keras (Keras 2) model, e.g. a TensorFlow Recommenders one."""
        import tensorflow as tf

        return _callback(tf.keras.callbacks.Callback, self, score)


def _callback(base: type, keeper: BestEpoch, score: Callable[[dict], float] | str):
    read = (lambda logs: logs.get(score, np.nan)) if isinstance(score, str) else score

    class KeepBestEpoch(base):
        def on_epoch_end(self, epoch, logs=None):
            if keeper.update(float(read(logs if logs is not None else {}))):
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            keeper.restore()

    return KeepBestEpoch()
