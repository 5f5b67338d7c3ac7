"""Next-item recommendation from sequences (leave-last-out).

- ``data``: item sequences, training windows and the split; ``base``: the contract, popularity
  and session item-kNN baselines, scoring; ``nets``: the LSTM and self-attention models (Keras 3).
"""
