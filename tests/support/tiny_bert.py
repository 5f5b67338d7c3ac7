"""A tiny random keras-hub BERT standing in for MiniLM in fast tests of notebooks 03/04's models."""

WORDS = (
    "red blue green black drill saw hammer lamp chair table paint brush nail oak steel "
    "cheap sale deal "
    "best buy vs compare nexora voltix kelvo q480 nova 590 great terrible love broke fine okay"
).split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##s", "##x", ".", ","]


def tiny_bert(max_length: int = 32, num_layers: int = 2):
    """(backbone, tokenizer): ``num_layers`` blocks of 16 dimensions over ``VOCAB``; nothing
    downloaded."""
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=max_length,
        dropout=0.0,
    )
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True)
    return backbone, tokenizer


def tiny_encoder(max_length: int = 16, num_layers: int = 2):
    """``tiny_bert`` as the ``KerasHubBertEncoder`` that MiniLM's loader returns (name "tiny")."""
    from shopintent.features.text.encoders import KerasHubBertEncoder

    backbone, tokenizer = tiny_bert(max_length, num_layers)
    return KerasHubBertEncoder("tiny", backbone, tokenizer, max_length=max_length)
