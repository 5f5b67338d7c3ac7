"""Purchase intent: how likely a session is to end in a purchase, from its prefix.

- ``base``: the split, the calibrator, the model interface and the tabular models (counts +
  logistic regression, LightGBM on hand-made features).
- ``sequence``: the LSTM and the hybrid (events + text + user history), Keras 3.
- ``family``: the family as a whole: fit, score, save and load every model by name.
"""
