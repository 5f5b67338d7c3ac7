"""Next-item recommendation from sequences (leave-last-out, and the session-rec protocol).

- ``data``: item sequences, training windows and the split; ``base``: the contract, popularity
  and session item-kNN baselines, scoring; ``nets``: the LSTM and self-attention models (Keras 3);
  ``gru4rec``: GRU4Rec with its own losses and session-parallel mini-batches (Keras 3);
  ``memory``: what the memory-based session models share; ``neighbourhood``: SKNN, V-SKNN, STAN,
  VSTAN; ``rules``: sequential rules (SR); ``protocol``: the session-rec protocol (time split of
  whole sessions, every prefix scored, HR/MRR of the next click, precision/recall of the rest);
  ``hybrid``: two sequence models' per-row normalised scores mixed by a validation-chosen weight.
"""
