"""Two-tower retrieval with TensorFlow Recommenders (the Keras 2 world: see DESIGN.md).

- ``features``: what the towers read, as numpy arrays; ``model``: the TFRS two-tower
  recommender; ``ranking``: a DCN ranking stage over its candidates; ``ann``: serving indexes
  (brute force, ScaNN).
"""
