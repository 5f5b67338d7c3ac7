"""Text features: sentence encoders (pretrained MiniLM, the shop BERT), their cache and saved embeddings."""
