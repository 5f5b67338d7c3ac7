"""Language models of the shop's own text and the pretrained encoder's fine-tuning.

- ``shop_bert``: a small BERT pretrained with masked-LM on the shop's text; ``shop_gpt``: a small
  causal LM over search queries (auto-completion).
- ``backbone_parts``, ``finetune``, ``dual_encoder``: MiniLM fine-tuned with task heads or as a
  dual encoder for search (frozen bottom computed once, trainable top).
- ``classifiers``: text classifiers behind one interface (majority, TF-IDF + LR, encoder + LR,
  fine-tuned); ``probe``: a linear probe of what a vector space holds.
"""
