"""The tts_keywords cache key depends on the options, not on the working directory.

Its ``punctuation`` option holds '.', which once counted as "an existing folder" (the
working directory) in the key: every file written anywhere under the current folder
(a run log, a new output) gave the same dataset a new key and a 1 GB regeneration.
"""

from __future__ import annotations

from tinyml_suite.common.data import is_path_option
from tinyml_suite.datasets.synthetic.tts_keywords import TtsKeywords


def test_key_ignores_the_working_directory_but_follows_path_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    opts = dict(keywords=["yes", "go"], per_keyword=3, punctuation=["", ".", "!"], cache=False, seed=1)
    before = TtsKeywords(**opts).cache_key()
    (tmp_path / "yes").mkdir()  # a folder named like a keyword, and new files in the cwd
    (tmp_path / "run.log").write_text("anything")
    assert TtsKeywords(**opts).cache_key() == before
    assert TtsKeywords(**{**opts, "punctuation": ["", "?"]}).cache_key() != before  # options still count
    noise = tmp_path / "noise"
    noise.mkdir()
    (noise / "a.wav").write_bytes(b"0")
    k1 = TtsKeywords(**opts, noise_dir=str(noise)).cache_key()
    (noise / "a.wav").write_bytes(b"01")  # a path option counts by its content
    assert TtsKeywords(**opts, noise_dir=str(noise)).cache_key() != k1
    assert is_path_option("root") and is_path_option("real_dir") and not is_path_option("punctuation")


def test_few_shot_synthetic_part_is_the_default_data():
    """dataset=tts_fewshot adds recordings to exactly the default tts_keywords data (same
    options, so the same cache entry: trying N = 1, 3, 10 regenerates nothing)."""
    from hydra.utils import instantiate

    from tinyml_suite.common.cli import compose_config
    from tinyml_suite.datasets.few_shot import _REAL_OPTIONS

    default = instantiate(compose_config(["app=wake_word"]).dataset, _convert_="all")
    few = instantiate(compose_config(["app=wake_word", "dataset=tts_fewshot", "dataset.real_dir=/nowhere"]).dataset,
                      _convert_="all")
    synthetic = TtsKeywords(seed=few.seed, cache=False, **{k: v for k, v in few.options.items() if k not in _REAL_OPTIONS})
    assert synthetic.options == default.options
    assert synthetic.cache_key() == default.cache_key()


def test_key_follows_the_built_in_near_miss_list(monkeypatch):
    """With ``hard_negatives: null`` the words drawn come from datasets/keywords.py: an edit
    of that list must give a new key (it once reused the data of the old list)."""
    from tinyml_suite.datasets import keywords

    opts = dict(keywords=["yes", "go"], per_keyword=3, hard_negative_share=0.3, cache=False, seed=1)
    before = TtsKeywords(**opts).cache_key()
    assert TtsKeywords(**opts).cache_key() == before
    monkeypatch.setitem(keywords.NEAR_MISSES, "go", ("so", "two"))
    assert TtsKeywords(**opts).cache_key() != before
    off = dict(opts, hard_negative_share=0.0)  # no near misses drawn: the list does not count
    k_off = TtsKeywords(**off).cache_key()
    monkeypatch.setitem(keywords.NEAR_MISSES, "go", ("so", "low"))
    assert TtsKeywords(**off).cache_key() == k_off
