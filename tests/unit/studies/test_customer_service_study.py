"""Notebook 17's data steps on the Bitext sample: where the messages come from, near-duplicates
counted, and a split that keeps every near-duplicate group on one side."""

import pytest

from shopintent.evaluation.leakage import TextSplitLeak
from shopintent.studies import customer_service as study


@pytest.fixture(scope="module")
def bitext(request):
    shared = request.getfixturevalue("shared_data")
    messages, note = study.support_messages(None, shared / "bitext-customer-support")
    return messages, note


def test_messages_come_from_the_source_when_the_dataset_has_none(bitext, tmp_path):
    messages, note = bitext
    assert len(messages) == 4514 and "fixed real dataset" in note
    missing, why = study.support_messages(None, tmp_path / "absent")
    assert missing is None and "does not exist" in why

    class Shop:
        extras = {"support_messages": messages.head(3)}

    own, note = study.support_messages(Shop(), tmp_path / "absent")
    assert len(own) == 3 and note == "the run's own dataset"


def test_split_keeps_near_duplicates_together(bitext):
    table = study.prepare(bitext[0], None, seed=42)
    dup = study.duplicates(table)
    # measured on the sample: 4,448 distinct normalised texts, far fewer templates once digits fold
    assert dup["messages"] == 4514 and dup["distinct_texts"] == 4448
    assert dup["groups"] < dup["distinct_texts"] and dup["near_repeated"] > dup["exact_repeated"]
    sp = study.split(table, seed=42)
    assert "no text or key on two sides" in study.check_split(sp)
    for a, b in ((sp.train, sp.test), (sp.train, sp.val), (sp.val, sp.test)):
        assert not set(a["group"]) & set(b["group"])
    assert len(sp.test) == pytest.approx(0.2 * len(table), rel=0.1)
    assert sp.test["intent"].nunique() == 27
    leaky = sp.test.assign(group=sp.test["group"].iloc[0])
    with pytest.raises(TextSplitLeak):
        study.check_split(
            type(sp)(
                sp.train, sp.val, leaky.head(1).assign(group=sp.train["group"].iloc[0]), sp.protocol
            )
        )


def test_smoke_sample_keeps_every_intent(bitext):
    table = study.prepare(bitext[0], 405, seed=42)
    assert len(table) == 405 and table["intent"].value_counts().min() >= 13
