"""MIT-BIH Arrhythmia Database (Moody & Mark 2001) through the WFDB format.

Files as distributed by PhysioNet, read with the ``wfdb`` package from a local folder
(no download): ``<rec>.hea`` (header), ``<rec>.dat`` (format 212, 360 Hz, two leads),
``<rec>.atr`` (reference annotations). Every record with all three files under ``root``
is used, or those listed in ``records``. A ``.hea`` without its ``.dat`` or ``.atr`` is
skipped with a warning that names it, and counted in ``metrics.json`` (``data.skipped``);
when ``records`` names it, it is an error. An annotation file that cannot be a
reference (codes WFDB does not define, positions outside the record or going back, an
impossible beat rate: :func:`check_annotations`) is an error naming it.

Reference beats are the annotations whose symbol is a beat label
(:data:`BEAT_SYMBOLS`: normal, bundle-branch-block, aberrant, premature, escape, paced,
fusion and unclassifiable beats); rhythm, noise and flutter-wave annotations
(``+ ~ | x [ ] ! "`` ...) are not beats. One lead is used (``lead``, default MLII, the
lead the MIT-BIH annotators and most published detectors use); a record without it
falls back to its first lead, logged and reported in ``extra['test_leads']``.
Ventricular flutter/fibrillation episodes (between ``[`` and ``]`` annotations, where no
beats are annotated) are carried as exclusion intervals (``extra['test_exclude']``):
ANSI/AAMI EC57 leaves them out of beat-by-beat QRS detection scoring.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.data import Dataset, DataSplits, require_dir
from tinyml_suite.common.dsp import resample
from tinyml_suite.common.errors import ConfigError, DatasetError
from tinyml_suite.datasets.synthetic.ecg import EcgRecord, records_to_splits

__all__ = ["MitBih", "BEAT_SYMBOLS", "check_annotations", "read_mitbih_record"]

log = logging.getLogger(__name__)

#: WFDB beat annotation codes (ecgcodes.h: NORMAL..PFUS, LEARN excluded from nothing).
BEAT_SYMBOLS: frozenset[str] = frozenset("NLRBAaJSVrFejnE/fQ?")


def read_mitbih_record(path_stem: Path, *, lead: str = "MLII", sample_rate: float | None = None,
                       max_seconds: float | None = None) -> tuple[EcgRecord, str]:
    """One record's lead and beat annotations; returns ``(record, lead used)``."""
    import wfdb

    stem = str(path_stem)
    try:
        header = wfdb.rdheader(stem)
        sampto = None if max_seconds is None else min(header.sig_len, int(max_seconds * header.fs))
        rec = wfdb.rdrecord(stem, sampto=sampto)
    except Exception as exc:  # wfdb raises ValueError/OSError/IndexError on bad files
        raise DatasetError(f"cannot read WFDB record {stem}.hea/.dat ({type(exc).__name__}: {exc}); "
                           "copy the record's files again") from None
    try:
        ann = wfdb.rdann(stem, "atr", sampto=sampto)
    except Exception as exc:
        raise DatasetError(f"{stem}.atr: not a readable WFDB annotation file ({type(exc).__name__}: {exc}); "
                           "copy it again from PhysioNet") from None
    if rec.p_signal is None or rec.p_signal.ndim != 2 or rec.p_signal.shape[0] == 0:
        raise DatasetError(f"{stem}.dat: the record holds no samples; copy it again")
    check_annotations(ann, sig_len=int(header.sig_len) if sampto is None else int(sampto),
                      fs=float(header.fs), source=f"{stem}.atr")
    names = list(rec.sig_name or [])
    if lead in names:
        ch, used = names.index(lead), lead
    else:
        ch, used = 0, names[0] if names else "?"
        log.warning("record %s has no lead %s; using %s", path_stem.name, lead, used)
    sig = np.asarray(rec.p_signal[:, ch], dtype=np.float64)
    if not np.all(np.isfinite(sig)):
        sig = np.nan_to_num(sig, nan=0.0)  # WFDB marks invalid samples as NaN
    symbols = np.asarray(ann.symbol)
    samples = np.asarray(ann.sample, dtype=np.int64)
    is_beat = np.isin(symbols, list(BEAT_SYMBOLS))
    beats, syms = samples[is_beat], symbols[is_beat].astype("<U1")
    fs = float(rec.fs)
    if sample_rate is not None and float(sample_rate) != fs:
        sig = resample(sig, orig_rate=fs, target_rate=float(sample_rate)).astype(np.float64)
        beats = np.round(beats * float(sample_rate) / fs).astype(np.int64)
        fs = float(sample_rate)
    # ventricular flutter/fibrillation episodes: '[' ... ']' (EC57 leaves them out of QRS scoring)
    excl, start = [], None
    for sy, sa in zip(symbols.tolist(), samples.tolist()):
        if sy == "[" and start is None:
            start = sa
        elif sy == "]" and start is not None:
            excl.append((start, sa + 1))
            start = None
    if start is not None:
        excl.append((start, int(rec.sig_len)))
    ex = np.asarray(excl, np.int64).reshape(-1, 2)
    if sample_rate is not None and float(sample_rate) != float(rec.fs):
        ex = np.round(ex * float(sample_rate) / float(rec.fs)).astype(np.int64)
    keep = (beats >= 0) & (beats < len(sig))
    return EcgRecord(path_stem.name, sig.astype(np.float32), beats[keep], syms[keep], fs, ex), used




def _known_symbols() -> frozenset[str]:
    """Every annotation code WFDB defines (its ecgcodes.h table), beats and non-beats."""
    from wfdb.io.annotation import ann_label_table

    return frozenset(str(v) for v in ann_label_table["symbol"] if str(v).strip())


def check_annotations(ann, *, sig_len: int, fs: float, source: str) -> None:
    """Refuse an annotation file whose content cannot be a record's reference beats.

    ``wfdb.rdann`` reads about half of all random byte strings without an error, as
    annotations with codes no WFDB writer emits (shown as NaN symbols) and sample
    positions far past the record's end; scored as references they silently halve PPV.
    Checked: every code is a WFDB code, positions lie in the record and never go back,
    and the beat rate is one a heart can have (5-600 per minute over the record).
    """
    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = list(ann.symbol)
    hint = "it is damaged or not this record's annotation file; copy it again from PhysioNet"
    known = _known_symbols()
    bad = [i for i, sy in enumerate(symbols) if not isinstance(sy, str) or sy not in known]
    if bad:
        raise DatasetError(
            f"{source}: {len(bad)} of {len(symbols)} annotations have codes WFDB does not define "
            f"(first at position {int(samples[bad[0]]) if len(samples) > bad[0] else '?'}); {hint}"
        )
    if len(samples) and (samples.min() < 0 or samples.max() > sig_len):
        raise DatasetError(
            f"{source}: annotations at sample {int(samples.max())} but the record has {sig_len} samples; {hint}"
        )
    if len(samples) > 1 and np.any(np.diff(samples) < 0):
        raise DatasetError(f"{source}: annotation positions go backwards; {hint}")
    beats = sum(1 for sy in symbols if sy in BEAT_SYMBOLS)
    minutes = sig_len / fs / 60.0
    if minutes >= 0.25 and not 5.0 * minutes <= beats <= 600.0 * minutes:
        raise DatasetError(
            f"{source}: {beats} beat annotations in {minutes:.1f} min ({beats / minutes:.0f} per minute) is not a "
            f"heart rate; {hint}"
        )


@dataclass(frozen=True)
class MitBihOptions:
    """Options of :class:`MitBih`; ``conf/dataset/mitbih.yaml`` overrides them."""

    root: Any = field(default=None, metadata={"required": True})  # folder with <rec>.hea, <rec>.dat, <rec>.atr (read locally with wfdb)
    records: Any = None  # list of record names, or null for every complete record found
    lead: str = 'MLII'  # lead to detect on (falls back to the first lead, logged)
    sample_rate: Any = None  # null keeps 360 Hz; a number resamples (annotations follow)
    segment_s: float = 6.0  # seconds per test example (a record is cut into these)
    warmup_s: float = 2.0  # seconds of signal before each segment, for the detector to settle
    smoke: bool = False  # set by debug=smoke: a tiny dataset


class MitBih(Dataset):
    """MIT-BIH Arrhythmia records with beat annotations (the ECG recipe on real data).

    Options (``conf/dataset/mitbih.yaml``): ``root``, ``records`` (list of names, or
    null for all found), ``lead`` (default MLII), ``sample_rate`` (null keeps 360 Hz),
    ``segment_s``/``warmup_s`` (how records are cut, see
    :func:`~tinyml_suite.datasets.synthetic.ecg.records_to_splits`), ``smoke`` (2 records x 60 s).
    """

    name = "mitbih"
    task = "regression"
    modality = "ecg"
    VERSION = 3
    Options = MitBihOptions

    def _load(self) -> DataSplits:
        o = dict(self.options)
        o.pop("name", None)
        root = require_dir(o.pop("root", None), dataset=self.name, hint="the MIT-BIH <rec>.hea/.dat/.atr files")
        smoke = bool(o.pop("smoke", False))
        records = o.pop("records", None)
        lead = str(o.pop("lead", "MLII"))
        fs = o.pop("sample_rate", None)
        segment_s, warmup_s = float(o.pop("segment_s", 6.0)), float(o.pop("warmup_s", 2.0))
        if o:
            raise ConfigError(f"dataset.{sorted(o)[0]} is not an option of mitbih; see conf/dataset/mitbih.yaml")
        headers = sorted(p.with_suffix("") for p in root.glob("*.hea"))
        lacking = {p.name: [s for s in (".dat", ".atr") if not p.with_suffix(s).exists()] for p in headers}
        lacking = {k: v for k, v in lacking.items() if v}
        found = [p for p in headers if p.name not in lacking]
        if records:
            named = [str(r) for r in records]
            incomplete = [f"{r} (no {'/'.join(lacking[r])})" for r in named if r in lacking]
            if incomplete:
                raise DatasetError(f"dataset.records names incomplete record(s) under {root}: "
                                   f"{', '.join(incomplete)}; copy the missing files or drop them from dataset.records")
            by_name = {p.name: p for p in found}
            missing = [r for r in named if r not in by_name]
            if missing:
                raise DatasetError(f"dataset.records names {missing}, not found under {root}; found: {', '.join(by_name)}")
            stems = [by_name[r] for r in named]
            lacking = {}
        else:
            stems = found
        if not stems:
            raise DatasetError(f"dataset.root={root} holds no complete WFDB record (<rec>.hea + .dat + .atr)")
        skipped = []
        if lacking:  # documented: incomplete records are skipped, named and counted
            what = ", ".join(f"{k} (no {'/'.join(v)})" for k, v in sorted(lacking.items()))
            log.warning("mitbih: skipped %d incomplete record(s) under %s: %s", len(lacking), root, what)
            skipped.append(f"{len(lacking)} record(s) without .dat/.atr: {what}")
        if smoke:
            stems = stems[:2]
        recs, leads = [], []
        for stem in stems:
            r, used = read_mitbih_record(stem, lead=lead, sample_rate=None if fs is None else float(fs),
                                         max_seconds=60.0 if smoke else None)
            recs.append(r)
            leads.append(used)
        data = records_to_splits(recs, name=self.name, segment_s=segment_s, warmup_s=warmup_s)
        data.extra["test_leads"] = np.asarray(leads, dtype="<U8")
        if skipped:
            data.extra["skipped"] = np.asarray(skipped)
        return data
