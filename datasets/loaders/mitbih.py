"""MIT-BIH Arrhythmia Database (Moody & Mark 2001) through the WFDB format.

Files as distributed by PhysioNet, read with the ``wfdb`` package from a local folder
(no download): ``<rec>.hea`` (header), ``<rec>.dat`` (format 212, 360 Hz, two leads),
``<rec>.atr`` (reference annotations). Every record with all three files under ``root``
is used, or those listed in ``records``.

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

__all__ = ["MitBih", "BEAT_SYMBOLS", "read_mitbih_record"]

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
        ann = wfdb.rdann(stem, "atr", sampto=sampto)
    except Exception as exc:  # wfdb raises ValueError/OSError/IndexError on bad files
        raise DatasetError(f"cannot read WFDB record {stem} ({type(exc).__name__}: {exc}); check the .hea/.dat/.atr files") from None
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
    apps = ("heart_rate",)
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
        found = sorted(p.with_suffix("") for p in root.glob("*.hea")
                       if p.with_suffix(".dat").exists() and p.with_suffix(".atr").exists())
        if not found:
            raise DatasetError(f"dataset.root={root} holds no complete WFDB record (<rec>.hea + .dat + .atr)")
        by_name = {p.name: p for p in found}
        if records:
            missing = [str(r) for r in records if str(r) not in by_name]
            if missing:
                raise DatasetError(f"dataset.records names {missing}, not found under {root}; found: {', '.join(by_name)}")
            stems = [by_name[str(r)] for r in records]
        else:
            stems = found
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
        return data
