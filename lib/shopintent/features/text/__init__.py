"""Text features: sentence encoders, their cache and saved embeddings.

The encoders: pretrained MiniLM and the shop BERT.
"""
