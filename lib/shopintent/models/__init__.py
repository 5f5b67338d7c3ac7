"""Models: query understanding, shop language models, search, purchase intent, recommenders."""
