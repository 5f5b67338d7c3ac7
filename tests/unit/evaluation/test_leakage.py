"""Text leaks across a split: one normalisation, a check that fails loudly naming the parts, the
count and examples, and the duplicate summary."""

import pandas as pd
import pytest

from shopintent.evaluation import leakage
from shopintent.evaluation.leakage import TextSplitLeak, check_text_split, duplicate_texts
from shopintent.normalise import normalise_text


def test_normalise_text_is_nfkc_casefold_and_collapsed_whitespace():
    texts = pd.Series(
        ["  Great\tSHAMPOO \n", "Straße", "ﬁne", "Ｆｕｌｌ width", None], index=list("abcde")
    )
    out = normalise_text(texts)
    assert out.tolist() == ["great shampoo", "strasse", "fine", "full width", None]
    assert list(out.index) == list("abcde")  # a Series keeps its index
    assert normalise_text(["A  b", "a b"]).nunique() == 1  # any sequence of strings
    assert leakage.normalise_text is normalise_text  # one definition, re-exported


def test_check_passes_a_clean_split_and_ignores_missing_texts():
    check_text_split(train=["a", "b", None], val=["c", None], test=["d"])
    check_text_split(train=["a"], val=[], test=["b"])


def test_check_names_parts_count_and_examples():
    with pytest.raises(TextSplitLeak) as err:
        check_text_split(
            train=["Five stars. Love it", "Bad smell", "ok"],
            val=["meh"],
            test=["five  STARS. love it", "Bad smell ", "new text", "bad smell"],
        )
    message = str(err.value)
    assert "3 of 4 test rows have their text in train" in message
    assert "'five  STARS. love it'" in message and "'Bad smell '" in message
    (leak,) = err.value.leaks  # validation shares no text
    assert (leak.earlier, leak.later, leak.n_rows, leak.n_later) == ("train", "test", 3, 4)
    assert isinstance(err.value, ValueError)


def test_check_reports_every_leaking_pair_in_order():
    with pytest.raises(TextSplitLeak) as err:
        check_text_split(train=["a", "b"], val=["A", "c"], test=["c", "b", "d"])
    pairs = [(x.earlier, x.later, x.n_rows) for x in err.value.leaks]
    assert pairs == [("train", "val", 1), ("train", "test", 1), ("val", "test", 1)]


def test_duplicate_texts_counts_rows_distinct_and_repeated():
    assert duplicate_texts(["a", "A ", "b", "c", "c", "c", None]) == {
        "rows": 6,
        "distinct": 3,
        "repeated_rows": 5,
    }
