"""Why models say what they say: shap wrappers and checks that the explanations are faithful.

- ``tabular``: exact tree SHAP for LightGBM (purchase intent, the re-ranker), global importance,
  feature groups shared with the sequence models.
- ``groups``: Shapley values over a few feature groups of any black-box model (shap's Exact or
  Permutation explainer), and the groups of the purchase LSTM / hybrid (event types, timing,
  price, items, text, user history); event occlusion.
- ``text``: token attributions of text classifiers with shap's Text masker, as inline HTML.
- ``faithfulness``: removing the top-k attributed features vs k random ones.
- ``ranking``: a LightGBM re-ranker on user/item features whose scores SHAP can explain.
- ``models``: the models notebook 10 explains (saved by notebooks 03-05 where they exist, else
  fitted), and the knowledge-graph paths of notebook 09 next to the re-ranker's reasons.
- ``figures``: plotly figures of all of the above.
"""

import warnings

# shap imports tqdm.auto, which warns in every notebook without ipywidgets; its progress bars
# are turned off here anyway (silent=True)
warnings.filterwarnings("ignore", message="IProgress not found")
