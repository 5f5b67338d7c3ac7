"""Words, word pieces and BIO spans: every span maps back to the exact substring of the original."""

import pytest

from shopintent.models.understanding import alignment as al

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "iphone",
    "15",
    "pro",
    "cafe",
    "cr",
    "##eme",
    "/",
    "205",
    "55",
    "r",
    "##16",
    ",",
    "-",
    "!",
    "red",
]


class WholeWordTokenizer:
    """A stand-in for keras-hub's WordPiece: known words and a few hand-made splits."""

    splits = {"creme": ["cr", "##eme"], "r16": ["r", "##16"]}

    def get_vocabulary(self):
        return VOCAB

    def __call__(self, words):
        out = []
        for w in words:
            pieces = self.splits.get(w, [w] if w in VOCAB else ([] if w == "\u200b" else ["[UNK]"]))
            out.append([VOCAB.index(p) for p in pieces])
        return out


def test_split_words_keeps_original_offsets():
    text = "iPhone 15 Pro, café!"
    words = al.split_words(text)
    assert [text[s:e] for s, e in words] == ["iPhone", "15", "Pro", ",", "café", "!"]
    assert al.split_words("205/55 R16") == [(0, 3), (3, 4), (4, 6), (7, 10)]


def test_normalise_word_drops_case_and_accents():
    assert al.normalise_word("Crème") == "creme" and al.normalise_word("CAFÉ") == "cafe"


@pytest.mark.parametrize(
    "text,spans",
    [
        ("iphone 15 pro case", [(0, 13, "model")]),
        ("Nexora Q480, red!", [(0, 6, "brand"), (7, 11, "model"), (13, 16, "attribute")]),
        ("crème brûlée 😀 café", [(0, 5, "attribute"), (15, 19, "category")]),
        ("tires 205/55 R16", [(0, 5, "category"), (6, 16, "attribute")]),
    ],
)
def test_bio_round_trip_gives_exact_substrings(text, spans):
    words = al.split_words(text)
    tags = al.bio_tags(words, spans)
    back = al.spans_from_tags(words, tags)
    assert back == sorted(spans)
    assert [text[s:e] for s, e, _ in back] == [text[s:e] for s, e, _ in sorted(spans)]


def test_bio_tags_and_lenient_decoding():
    words = al.split_words("buy nexora q480 now")
    assert al.bio_tags(words, [{"start": 4, "end": 15, "label": "model"}]) == [
        "O",
        "B-model",
        "I-model",
        "O",
    ]
    # an I- without its B- still starts an entity; a label change ends one
    assert al.spans_from_tags(words, ["I-brand", "I-model", "I-model", "O"]) == [
        (0, 3, "brand"),
        (4, 15, "model"),
    ]
    assert al.tag_vocabulary(["model", "brand"]) == [
        "O",
        "B-brand",
        "I-brand",
        "B-model",
        "I-model",
    ]


def test_pack_marks_first_pieces_and_labels():
    wp = al.WordPieces(WholeWordTokenizer())
    text = "crème R16\u200b"  # a zero-width space is a word the tokenizer drops: it gets [UNK]
    packed = wp.pack([text], width=8, word_labels=[[1, 2, 0]])
    assert packed["token_ids"][0].tolist() == [
        2,
        9,
        10,
        14,
        15,
        1,
        3,
        0,
    ]  # [CLS] cr ##eme r ##16 [UNK] [SEP] [PAD]
    assert packed["first_piece"][0].tolist() == [-1, 0, -1, 1, -1, 2, -1, -1]
    assert packed["token_labels"][0].tolist() == [-1, 1, -1, 2, -1, 0, -1, -1]
    assert packed["padding_mask"][0].tolist() == [True] * 7 + [False]
    assert packed["words"][0] == [(0, 5), (6, 9), (9, 10)]


def test_pack_cuts_words_that_do_not_fit():
    wp = al.WordPieces(WholeWordTokenizer())
    packed = wp.pack(["crème R16 red", "red"], width=5)
    assert packed["token_ids"].tolist() == [[2, 9, 10, 14, 3], [2, 19, 3, 0, 0]]
    assert packed["first_piece"][0].tolist() == [
        -1,
        0,
        -1,
        1,
        -1,
    ]  # "red" did not fit: it will be tagged O
    assert wp.lengths(["crème R16 red", ""]).tolist() == [7, 2]


def test_viterbi_returns_the_best_valid_bio_sequence():
    import numpy as np

    tags = al.tag_vocabulary(["brand", "model"])  # O B-brand I-brand B-model I-model
    # per word, the argmax alone would give "I-model O I-brand": invalid twice
    p = np.array(
        [[0.1, 0.05, 0.05, 0.35, 0.45], [0.6, 0.1, 0.1, 0.1, 0.1], [0.2, 0.35, 0.4, 0.0, 0.05]]
    )
    assert al.viterbi_bio(np.log(p + 1e-12), tags) == ["B-model", "O", "B-brand"]
    ok = al.allowed_transitions(tags)
    assert ok[1, 2] and not ok[3, 2] and not ok[0, 4] and ok[4, 4] and ok[2, 0]
    assert al.viterbi_bio(np.zeros((0, 5)), tags) == []
