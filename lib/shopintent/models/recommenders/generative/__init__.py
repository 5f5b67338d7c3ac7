"""Generative recommendation: items as semantic-ID tuples (``semantic_ids``) and a decoder-only
model that writes the next item's tuple under a catalogue prefix trie (``model``, ``trie``)."""
