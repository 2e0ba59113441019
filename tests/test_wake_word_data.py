"""wake_word data: WAV reading, the Speech Commands loader, the TTS generator, augmentation.

Every file here is written by the test itself in the real format (16-bit PCM WAV,
Speech Commands folder layout and split lists).
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from helpers.run_if import SHARED_DATA, needs_shared_data

from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.wav import fit_length, read_wav

SR = 16000


def _tone(f: float, n: int, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * f * np.arange(n) / sr)).astype(np.float32)


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * sr / len(x))


# -- WAV reading ---------------------------------------------------------------------------


def test_read_wav_mono_16k_roundtrip(tmp_path):
    x = _tone(440, SR)
    sf.write(tmp_path / "a.wav", x, SR, subtype="PCM_16")
    y = read_wav(tmp_path / "a.wav", sample_rate=SR)
    assert y.dtype == np.float32 and y.shape == (SR,)
    np.testing.assert_allclose(y, x, atol=1.0 / 32768 + 1e-6)  # one 16-bit step


def test_read_wav_8khz_is_resampled_keeping_the_pitch(tmp_path):
    sf.write(tmp_path / "low.wav", _tone(500, 8000, sr=8000), 8000, subtype="PCM_16")
    y = read_wav(tmp_path / "low.wav", sample_rate=SR)
    assert y.shape == (SR,)  # 1 s at 16 kHz
    assert abs(_peak_hz(y, SR) - 500) <= 2  # same tone, now at 16 kHz (1 Hz bins)
    with pytest.raises(DatasetError, match=r"low\.wav: sampled at 8000 Hz but 16000 Hz is required"):
        read_wav(tmp_path / "low.wav", sample_rate=SR, resample=False)


def test_read_wav_stereo_is_mixed_or_refused(tmp_path):
    left, right = _tone(300, 4000), _tone(700, 4000, amp=0.25)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), SR, subtype="FLOAT")
    y = read_wav(tmp_path / "st.wav", sample_rate=SR)
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-6)
    np.testing.assert_allclose(read_wav(tmp_path / "st.wav", channels="first"), left, atol=1e-6)
    with pytest.raises(DatasetError, match=r"st\.wav: has 2 channels but mono audio is required"):
        read_wav(tmp_path / "st.wav", channels="refuse")


def test_read_wav_refuses_corrupt_empty_and_missing_files(tmp_path):
    # a 'junk' chunk whose declared size runs past the end of the file: caught by the RIFF walk
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" + bytes(range(200)))
    with pytest.raises(DatasetError, match=r"junk\.wav: truncated inside its 'junk' header chunk.*delete it"):
        read_wav(tmp_path / "junk.wav")
    # not RIFF at all: libsndfile refuses it
    (tmp_path / "noise.wav").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DatasetError, match=r"noise\.wav: not a readable WAV file .*re-export"):
        read_wav(tmp_path / "noise.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), SR, subtype="PCM_16")
    with pytest.raises(DatasetError, match=r"empty\.wav: the file has no samples"):
        read_wav(tmp_path / "empty.wav")
    with pytest.raises(DatasetError, match=r"nothere\.wav: no such file"):
        read_wav(tmp_path / "nothere.wav")
    bad = np.full(100, np.nan, np.float32)
    sf.write(tmp_path / "nan.wav", bad, SR, subtype="FLOAT")
    with pytest.raises(DatasetError, match=r"nan\.wav: holds NaN"):
        read_wav(tmp_path / "nan.wav")


def test_fit_length_pads_at_the_end_and_crops():
    assert fit_length(np.ones(10), 16).tolist() == [1.0] * 10 + [0.0] * 6
    assert fit_length(np.arange(20.0), 5, offset=3).tolist() == [3, 4, 5, 6, 7]


# -- Speech Commands -----------------------------------------------------------------------

WORDS = {"yes": 330.0, "no": 550.0, "dog": 900.0, "cat": 1300.0}
SPEAKERS = ["0a1b2c3d", "11aa22bb", "33cc44dd", "55ee66ff", "77aa88bb", "99cc00dd"]


def _write_tree(root, *, with_lists=True, with_background=True, short_clip=True, eight_khz=True):
    """A tiny Speech Commands tree: 4 words x 6 speakers x 2 takes, tones as 'speech'."""
    rng = np.random.default_rng(0)
    for w, f in WORDS.items():
        (root / w).mkdir(parents=True)
        for spk in SPEAKERS:
            for take in range(2):
                x = _tone(f, SR) * np.hanning(SR).astype(np.float32) + 0.01 * rng.standard_normal(SR).astype(np.float32)
                sf.write(root / w / f"{spk}_nohash_{take}.wav", x, SR, subtype="PCM_16")
    if short_clip:  # real clips are sometimes shorter than 1 s
        sf.write(root / "yes" / f"{SPEAKERS[0]}_nohash_0.wav", _tone(330, 13000), SR, subtype="PCM_16")
    if eight_khz:
        sf.write(root / "no" / f"{SPEAKERS[1]}_nohash_1.wav", _tone(550, 8000, sr=8000), 8000, subtype="PCM_16")
    (root / "README.md").write_text("not a clip")
    if with_lists:
        # speakers 4 -> validation, 5 -> testing, by list (as the official files do)
        val = [f"{w}/{SPEAKERS[4]}_nohash_{t}.wav" for w in WORDS for t in range(2)]
        test = [f"{w}/{SPEAKERS[5]}_nohash_{t}.wav" for w in WORDS for t in range(2)]
        (root / "validation_list.txt").write_text("\n".join(val) + "\n")
        (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    if with_background:
        (root / "_background_noise_").mkdir()
        sf.write(root / "_background_noise_" / "white.wav", 0.3 * rng.standard_normal(3 * SR), SR, subtype="PCM_16")


def test_speech_commands_official_lists_classes_and_proportions(tmp_path):
    from tinyml_suite.datasets.loaders.speech_commands import SpeechCommands

    _write_tree(tmp_path)
    ds = SpeechCommands(root=str(tmp_path), keywords=["yes", "no"], silence_percentage=50,
                        unknown_percentage=50, augment_copies=0, cache=False, seed=3)
    data = ds.load()
    assert data.labels == ("yes", "no", "_silence_", "_unknown_")
    assert data.sample_rate == SR and data.train.x.shape[1:] == (1, SR)
    # validation = speaker 4 only, test = speaker 5 only (from the list files)
    assert set(data.val.groups) - {"noise:val"} == {SPEAKERS[4]}
    assert set(data.test.groups) - {"noise:test"} == {SPEAKERS[5]}
    assert not (set(data.train.groups) & {SPEAKERS[4], SPEAKERS[5]})
    # train: 4 speakers x 2 takes x 2 keywords = 16 keyword clips; 50 % -> 8 unknown, 8 silence
    counts = np.bincount(data.train.y, minlength=4)
    assert counts.tolist() == [8, 8, 8, 8]
    unknown_words = set(data.train.meta["word"][data.train.y == 3])
    assert unknown_words <= {"dog", "cat"} and unknown_words
    # the short clip was padded, the 8 kHz clip resampled: every clip is 1 s at 16 kHz
    assert np.isfinite(data.train.x).all()
    # silence comes from _background_noise_: noise-like (flat spectrum), not a tone
    sil = data.train.x[data.train.y == 2][:, 0]
    assert np.all(np.std(sil, axis=1) > 0)


def test_speech_commands_hash_split_when_lists_are_missing(tmp_path):
    from tinyml_suite.datasets.loaders.speech_commands import SpeechCommands, which_set

    _write_tree(tmp_path, with_lists=False, with_background=False)
    data = SpeechCommands(root=str(tmp_path), keywords=["yes", "dog"], augment_copies=0, cache=False).load()
    for split, name in ((data.train, "training"), (data.val, "validation"), (data.test, "testing")):
        spk = set(split.groups) - {f"noise:{s}" for s in ("train", "val", "test")}
        assert all(which_set(f"{s}_nohash_0.wav") == name for s in spk)
    # one speaker's clips are always in one split
    assert which_set("abc_nohash_0.wav") == which_set("abc_nohash_7.wav")


def test_speech_commands_augmented_copies_and_errors(tmp_path):
    from tinyml_suite.datasets.loaders.speech_commands import SpeechCommands

    _write_tree(tmp_path)
    clean = SpeechCommands(root=str(tmp_path), keywords=["yes", "no"], augment_copies=0, cache=False).load()
    aug = SpeechCommands(root=str(tmp_path), keywords=["yes", "no"], augment_copies=2, cache=False,
                         augment={"max_shift_s": 0.1}).load()
    assert len(aug.train) == 2 * len(clean.train)
    assert len(aug.test) == len(clean.test)
    np.testing.assert_array_equal(aug.test.x, clean.test.x)  # evaluation clips stay as recorded
    assert not np.allclose(aug.train.x[: len(clean.train)], clean.train.x)
    with pytest.raises(DatasetError, match=r"no clips of keyword\(s\) \['marvin'\]"):
        SpeechCommands(root=str(tmp_path), keywords=["marvin"], cache=False).load()
    with pytest.raises(DatasetError, match=r"dataset.root=.*does not exist"):
        SpeechCommands(root=str(tmp_path / "nope"), cache=False).load()
    with pytest.raises(DatasetError, match=r"needs a folder: pass dataset.root="):
        SpeechCommands(root="???", cache=False).load()
    with pytest.raises(ConfigError, match=r"augment.snr_dbb is not an augmentation option"):
        SpeechCommands(root=str(tmp_path), augment={"snr_dbb": [0, 1]}, cache=False).load()


def test_speech_commands_standalone_test_set_layout(tmp_path):
    """v0.02's separate test set: recorded _silence_ and _unknown_ folders, no list files."""
    from tinyml_suite.datasets.loaders.speech_commands import SpeechCommands, scan_clips

    _write_tree(tmp_path, with_lists=False, with_background=False, short_clip=False, eight_khz=False)
    for cls in ("_silence_", "_unknown_"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            sf.write(tmp_path / cls / f"clip_{i}.wav", 0.01 * np.ones(SR, np.float32), SR, subtype="PCM_16")
    clips = scan_clips(tmp_path)
    assert sum(w == "_silence_" for _, w, _ in clips) == 5 and sum(w == "_unknown_" for _, w, _ in clips) == 5
    data = SpeechCommands(root=str(tmp_path), keywords=["yes", "no"], augment_copies=0, cache=False).load()
    everything = np.concatenate([s.meta["word"] for s in (data.train, data.val, data.test)])
    labels = np.concatenate([s.y for s in (data.train, data.val, data.test)])
    assert np.sum(labels == 2) == 5  # the recorded silence clips, none drawn from noise
    assert np.sum(everything == "_unknown_") == 5 and np.all(labels[everything == "_unknown_"] == 3)


def test_speech_commands_corrupt_clip_names_the_file(tmp_path):
    from tinyml_suite.datasets.loaders.speech_commands import SpeechCommands

    _write_tree(tmp_path)
    (tmp_path / "yes" / f"{SPEAKERS[2]}_nohash_0.wav").write_bytes(b"\x00" * 64)
    with pytest.raises(DatasetError, match=r"33cc44dd_nohash_0\.wav: not a readable WAV file"):
        SpeechCommands(root=str(tmp_path), keywords=["yes"], cache=False).load()


# -- text to speech ------------------------------------------------------------------------


def _tts(**kw):
    from tinyml_suite.datasets.synthetic.tts_keywords import TtsKeywords

    opts = dict(keywords=["yes", "stop"], per_keyword=4, eval_fraction=0.5, cache=False, seed=5)
    opts.update(kw)
    return TtsKeywords(**opts).load()


def test_tts_is_deterministic_16k_one_second_and_held_out_by_voice():
    a, b = _tts(), _tts()
    np.testing.assert_array_equal(a.train.x, b.train.x)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert a.sample_rate == SR and a.train.x.shape[1:] == (1, SR)
    assert a.labels == ("yes", "stop", "_silence_", "_unknown_")
    assert np.bincount(a.train.y).tolist() == [4, 4, 4, 8]
    assert not np.array_equal(_tts(seed=6).train.x, a.train.x)
    # no voice variant is in two splits
    tr, va, te = (set(s.groups) for s in (a.train, a.val, a.test))
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert np.abs(a.train.x).max() <= 1.0


def test_tts_keyword_is_audible_where_it_was_placed():
    data = _tts(augment={"enabled": False}, per_keyword=8)
    s = data.train
    checked = 0
    for x, w, onset, length in zip(s.x[:, 0], s.meta["word"], s.meta["onset"], s.meta["length"]):
        if w == "_silence_":
            assert onset == -1 and np.std(x) > 0  # background noise, no word
            continue
        inside = x[onset : onset + length]
        outside = np.concatenate([x[:onset], x[onset + length :]])
        assert len(inside) > 0.1 * SR  # a word lasts at least 100 ms
        # dry placement: all the energy is inside the word's span
        assert np.sum(inside.astype(np.float64) ** 2) > 0.999 * np.sum(x.astype(np.float64) ** 2)
        assert outside.size == 0 or np.abs(outside).max() == 0.0
        checked += 1
    assert checked == 8 * 2 + 16
    # with noise at >= 20 dB SNR the word's span still holds most of the energy per sample
    noisy = _tts(augment={"snr_db": [20, 30], "noise_prob": 1.0, "reverb_prob": 0.0}, per_keyword=4).train
    for x, w, onset, length in zip(noisy.x[:, 0], noisy.meta["word"], noisy.meta["onset"], noisy.meta["length"]):
        if w in ("yes", "stop") and SR - length > 1600:
            e_in = np.mean(x[onset : onset + length].astype(np.float64) ** 2)
            rest = np.concatenate([x[:onset], x[onset + length :]]).astype(np.float64)
            assert e_in > 10 * np.mean(rest**2), w  # >= 10 dB louder where the word is


def test_tts_custom_keywords_and_bad_options():
    data = _tts(keywords=["lights", "music"], per_keyword=2, unknown_share=0.0, smoke=True)
    assert data.labels == ("lights", "music", "_silence_")
    assert set(data.train.meta["word"]) == {"lights", "music", "_silence_"}
    with pytest.raises(ConfigError, match="keyword 'yes' is listed twice"):
        _tts(keywords=["yes", "Yes"])
    with pytest.raises(ConfigError, match=r"dataset.variants: 'm99' is not an espeak-ng voice variant"):
        _tts(variants=["m1", "m99"])
    with pytest.raises(ConfigError, match=r"dataset.rate=\[50, 100\] must satisfy 80 <= low"):
        _tts(rate=[50, 100])


def test_tts_workers_give_the_same_clips():
    one = _tts(per_keyword=3, workers=1)
    two = _tts(per_keyword=3, workers=2)
    np.testing.assert_array_equal(one.train.x, two.train.x)


def test_espeak_voice_errors_are_one_line():
    from tinyml_suite.datasets.synthetic.espeak import get_synth

    synth = get_synth()
    assert synth.sample_rate == 22050
    with pytest.raises(DatasetError, match=r"espeak-ng has no voice 'xx-nowhere'"):
        synth.synth("yes", voice="xx-nowhere")
    slow = synth.synth("seven", voice="en-us", rate=100)
    fast = synth.synth("seven", voice="en-us", rate=300)
    assert len(slow) > 1.8 * len(fast)  # the rate parameter reaches the synthesiser


# -- augmentation ----------------------------------------------------------------------------


def test_augmentation_building_blocks(rng):
    from tinyml_suite.datasets import audio_augment as A

    # SNR is what was asked for (speech level vs noise level)
    s = _tone(300, SR)
    n = rng.standard_normal(SR).astype(np.float32)
    mixed = A.mix_at_snr(s, n, 10.0)
    noise = mixed - s
    snr = 10 * np.log10(np.mean(s.astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2))
    assert abs(snr - 10.0) < 0.01
    # pink noise: PSD slope about -1 (log-log fit, 100 Hz - 6 kHz), white about 0
    for beta in (0.0, 1.0, 2.0):
        x = A.coloured_noise(1 << 16, beta, rng)
        f = np.fft.rfftfreq(len(x), 1 / SR)
        p = np.abs(np.fft.rfft(x)) ** 2
        band = (f > 100) & (f < 6000)
        slope = np.polyfit(np.log10(f[band]), np.log10(p[band]), 1)[0]
        assert abs(slope + beta) < 0.1, (beta, slope)
    # reverb impulse response: decays by 60 dB over RT60
    h = A.reverb_ir(0.4, SR, rng).astype(np.float64)
    e = np.convolve(h**2, np.ones(400), "same")
    drop = 10 * np.log10(e[200:1200].mean() / e[5600:6200].mean())  # ~0.3 s apart
    assert 35 < drop < 55  # 60 dB / 0.4 s * 0.3 s = 45 dB


def test_augmenter_effects(rng):
    from tinyml_suite.datasets.audio_augment import (
        Augmenter,
        AugmentParams,
        SpecAugmentParams,
        spec_augment,
    )

    word = _tone(440, 8000) * np.hanning(8000).astype(np.float32)
    # band-limiting only: energy above the low-pass corner drops
    p = AugmentParams(speed_prob=0, reverb_prob=0, noise_prob=0, bandlimit_prob=1.0,
                      lowpass_hz=(2500, 2600), highpass_hz=(50, 60), gain_prob=0)
    aug = Augmenter(p, sample_rate=SR)
    white = rng.standard_normal(SR).astype(np.float32) * 0.1
    y = aug._bandlimit(white, np.random.default_rng(1))
    f = np.fft.rfftfreq(SR, 1 / SR)
    py, pw = np.abs(np.fft.rfft(y)) ** 2, np.abs(np.fft.rfft(white)) ** 2
    kind_has_lowpass = py[f > 5000].sum() < 0.05 * pw[f > 5000].sum()
    kind_has_highpass = py[f < 30].sum() < 0.5 * pw[f < 30].sum()
    assert kind_has_lowpass or kind_has_highpass
    # speed perturbation changes the duration; placement keeps the clip length
    fast = AugmentParams(speed=(1.2, 1.2), speed_prob=1, reverb_prob=0, noise_prob=0, bandlimit_prob=0)
    clip, _ = Augmenter(fast, sample_rate=SR).speech_clip(word, rng, n_samples=SR)
    nz = np.flatnonzero(np.abs(clip) > 1e-6)
    assert clip.shape == (SR,) and abs((nz[-1] - nz[0] + 1) - 8000 / 1.2) < 80
    # the level lands in the configured range
    lvl = AugmentParams(level_dbfs=(-30, -30), noise_prob=0, reverb_prob=0, speed_prob=0, bandlimit_prob=0)
    clip, _ = Augmenter(lvl, sample_rate=SR).speech_clip(word, rng, n_samples=SR)
    assert abs(10 * np.log10(np.mean(clip.astype(np.float64) ** 2)) + 30) < 0.1
    # MLPerf-style mixing: the recording as recorded times a volume, no SNR normalisation
    bank = [np.full(3 * SR, 0.2, np.float32)]
    vol = AugmentParams(noise_volume=(0.5, 0.5), noise_prob=1, real_noise_prob=1, speed_prob=0, reverb_prob=0,
                        bandlimit_prob=0, gain_prob=0)
    clip = _tone(300, SR, amp=0.3)
    np.testing.assert_allclose(Augmenter(vol, sample_rate=SR, noise_bank=bank).recorded_clip(clip, rng) - clip,
                               0.1, atol=1e-6)
    # silence clips: noise only, finite, within [-1, 1]
    sil = Augmenter(AugmentParams(), sample_rate=SR).silence_clip(rng, n_samples=SR)
    assert sil.shape == (SR,) and np.abs(sil).max() <= 1.0
    # SpecAugment: masked examples get flat bands, others are untouched
    X = rng.standard_normal((50, 49, 10, 1)).astype(np.float32)
    Y = spec_augment(X, rng, SpecAugmentParams(prob=0.5, time_masks=1, time_width=5, freq_masks=0))
    changed = np.any(Y != X, axis=(1, 2, 3))
    assert 10 < changed.sum() < 40
    for i in np.flatnonzero(changed):
        rows = np.flatnonzero(np.any(Y[i] != X[i], axis=(1, 2)))
        assert len(rows) <= 5 and np.all(Y[i, rows] == Y[i, rows[0], 0, 0])
    with pytest.raises(ConfigError, match=r"augment.snr_db=\[30.0, 0.0\] must have low <= high"):
        AugmentParams(snr_db=(30, 0))
    with pytest.raises(ConfigError, match=r"augment.noise_prob=1.5 must be a probability"):
        AugmentParams(noise_prob=1.5)


@needs_shared_data("speech_commands_v0.01_subset")
def test_speech_commands_loader_reads_the_real_subset():
    """The real v0.01 files as distributed (148 clips, official lists, no _background_noise_)."""
    from tinyml_suite.datasets.loaders.speech_commands import SpeechCommands, scan_clips

    root = SHARED_DATA / "speech_commands_v0.01_subset"
    clips = scan_clips(root)
    assert len(clips) == 148 and len({w for _, w, _ in clips}) == 30
    data = SpeechCommands(root=str(root), augment_copies=0, cache=False).load()
    test_list = set((root / "testing_list.txt").read_text().split())
    val_list = set((root / "validation_list.txt").read_text().split())
    n_test_kw = sum(1 for rel, w, _ in clips if rel in test_list and w in data.labels[:10])
    assert int(np.sum(data.test.y < 10)) == n_test_kw
    speakers = [set(s.groups) - {f"noise:{k}" for k in ("train", "val", "test")} for s in (data.train, data.val, data.test)]
    assert not (speakers[0] & speakers[1]) and not (speakers[0] & speakers[2]) and not (speakers[1] & speakers[2])
    assert all(rel in val_list for rel, _, s in clips if s in speakers[1])
    assert data.train.x.shape[1:] == (1, SR) and np.abs(data.train.x).max() <= 1.0
