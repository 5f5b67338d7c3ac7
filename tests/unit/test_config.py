import pytest

from shopintent import config


def test_rng_streams_are_reproducible_and_independent():
    a = config.rng(7, "users").random(5)
    assert (a == config.rng(7, "users").random(5)).all()
    assert not (a == config.rng(7, "sessions").random(5)).any()
    assert not (a == config.rng(8, "users").random(5)).any()


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, default, full"):
        config.get_profile("huge")


def test_data_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPINTENT_DATA", str(tmp_path))
    assert config.data_root() == tmp_path.resolve()
    assert config.raw_dir("taobao") == tmp_path.resolve() / "raw" / "taobao"
    monkeypatch.delenv("SHOPINTENT_DATA")
    assert config.data_root() == config.PROJECT_ROOT / "data"


def test_seed_everything_makes_numpy_repeat():
    import numpy as np

    config.seed_everything(3)
    a = np.random.rand(3)  # noqa: NPY002
    config.seed_everything(3)
    assert (a == np.random.rand(3)).all()  # noqa: NPY002
