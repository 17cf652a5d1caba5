"""A claim re-checked on images the project has never looked at (issue 12: "on held-back data").

The ``cpu`` tables score the first ``TABLE_IMAGES`` (20) images, sorted by name, of B100 and Urban100
(``repro.specs.EVAL_BUDGETS``; B100 is also the DIV2K-val stand-in), the health gate scores Set5 and Set14, and training uses T91 + BSD200. The rest
of B100 (80 photographs, BSD300's test half: disjoint from BSD200) was never scored, tuned on or
trained on: it is the held-back set. ``held_out_ordering`` loads both methods' runs (the shipped
weights at ``cpu``), scores each seed on those images under the paper's protocol, and judges
"A beats B" from the paired per-image PSNR differences exactly as the tables' claims are judged
(``verdicts.paired_verdict``: bootstrap CI over images, seed spread). A run below the health bar,
or without a health check, makes the verdict "not tested".
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from sr_lib.data.datasets import ImageSet, load_dataset
from sr_lib.engine.evaluate import evaluate
from sr_lib.metrics.protocols import get_protocol
from sr_lib.repro.claims import health_reason
from sr_lib.repro.results import write_csv
from sr_lib.repro.specs import EVAL_BUDGETS
from sr_lib.repro.verdicts import not_tested, paired_verdict

HELD_OUT_SET = "B100"
TABLE_IMAGES = dict(EVAL_BUDGETS["cpu"].limits)[HELD_OUT_SET]     # the leading B100 images the cpu tables score

COLUMNS = ["claim", "dataset", "images", "scale", "protocol", "profile", "seeds", "a_psnr", "b_psnr", "verdict",
           "mean", "ci_low", "ci_high", "seed_sd", "n_images", "n_seeds", "runs"]


def held_out_images(data_root=None, limit: int | None = None) -> ImageSet:
    """B100 without the images the tables score: ``B100[TABLE_IMAGES:]`` in sorted-name order
    (``limit``: the first n of those). Raises ``FileNotFoundError`` when B100 is absent or there
    is nothing left after the table images (the bundled stand-ins hold no such split)."""
    full = load_dataset(HELD_OUT_SET, data_root)
    if full.bundled:
        raise FileNotFoundError("held-back images need the real B100 (SR_DATA); the bundled stand-ins have none")
    items = full.items[TABLE_IMAGES:]
    items = items[:limit] if limit is not None else items
    if not items:
        raise FileNotFoundError(f"B100 has only {len(full)} images: none left after the {TABLE_IMAGES} the tables use")
    return ImageSet(f"{HELD_OUT_SET}-held-out", items, folder=full.folder)


def held_out_ordering(a: str, b: str, *, backbone: str = "edsr-baseline", seeds=(0, 1, 2), scales=(2, 4),
                      protocol: str = "ipe_liif", profile: str = "cpu", data_root=None, limit: int | None = None,
                      device: str = "auto", retrain: bool = False, health=None, csv=None, log=None) -> pd.DataFrame:
    """Does ``a`` beat ``b`` (PSNR) on the held-back images? One row per scale (``COLUMNS``).

    Seed j of ``a`` is paired with seed j of ``b``; ``health`` maps run keys to the gate's answer
    (default: ``run_cards.health_map(profile)``). The models come from ``run_cards.load_or_train``
    (shipped weights at ``cpu``; trained or taken from the run cache elsewhere). ``csv``: the result is
    written there (atomically), and a scale already there for the same runs and images is reused."""
    from sr_lib.repro.run_cards import health_map, load_or_train
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    images = held_out_images(data_root, limit)
    proto = get_protocol(protocol)
    health = health_map(profile) if health is None else health
    models = {(m, s): load_or_train(m, backbone, profile=profile, seed=s, retrain=retrain, device=device,
                                    data_root=data_root or None, progress=False)
              for m in (a, b) for s in seeds}
    keys = {ms: model.train_info["key"] for ms, model in models.items()}
    why = next((w for w in (health_reason(k, health) for k in sorted(keys.values())) if w), "")
    runs = " ".join(sorted(keys.values()))
    old = _read(csv)
    rows = []
    for scale in scales:
        hit = old[(old["runs"] == runs) & (old["scale"].astype(float) == float(scale))
                  & (old["dataset"] == images.name) & (old["n_images"].astype(int) == len(images))
                  & (old["protocol"] == proto.name)] if not old.empty else old
        if len(hit) and not why and not str(hit.iloc[0]["verdict"]).startswith("not tested"):
            rows.append(hit.iloc[0].to_dict())
            continue
        scores = {}
        for (m, s), model in models.items():
            log(f"held-out {images.name} x{scale:g}: {m} seed {s} ({len(images)} images)")
            res = evaluate(model.eval(), images, scale, proto.name)
            scores[(m, s)] = {r["image"]: r["psnr"] for r in res["per_image"]}
        names = sorted(scores[(a, seeds[0])])
        diff = np.array([[scores[(a, s)][n] - scores[(b, s)][n] for n in names] for s in seeds])   # [k, n]
        v = not_tested(why) if why else paired_verdict(diff)
        rows.append({"claim": f"{a} > {b}", "dataset": images.name,
                     "images": f"{HELD_OUT_SET} sorted by name, images {TABLE_IMAGES + 1}-{TABLE_IMAGES + len(names)}",
                     "scale": scale, "protocol": proto.name, "profile": profile,
                     "seeds": ",".join(map(str, seeds)),
                     "a_psnr": float(np.mean([np.mean(list(scores[(a, s)].values())) for s in seeds])),
                     "b_psnr": float(np.mean([np.mean(list(scores[(b, s)].values())) for s in seeds])),
                     **{k: getattr(v, k) for k in ("verdict", "mean", "ci_low", "ci_high", "seed_sd", "n_images",
                                                   "n_seeds")},
                     "runs": runs})
    out = pd.DataFrame(rows, columns=COLUMNS)
    if csv is not None:
        write_csv(out, csv)
    return out


def held_out_sentence(held: pd.DataFrame) -> str:
    """One line per ``held_out_ordering`` result: "x2 within noise (+0.08 dB; 95% CI over images ...; sd over
    3 seeds ... dB)", joined by "; ". A "within noise" verdict whose image CI excludes 0 says that the seed
    interval is what crosses 0 (``verdicts.paired_verdict`` widens the CI by the seed spread)."""
    parts = []
    for r in held.itertuples():
        text = f"x{r.scale:g} {r.verdict}"
        if not r.verdict.startswith("not tested"):
            seeds_cross = r.verdict == "within noise" and r.ci_low * r.ci_high > 0
            text += (f" ({r.mean:+.3f} dB; 95% CI over images {r.ci_low:+.3f}..{r.ci_high:+.3f}; "
                     f"sd over {r.n_seeds} seeds {r.seed_sd:.3f} dB"
                     + (", so the seed interval crosses 0" if seeds_cross else "") + ")")
        parts.append(text)
    return "; ".join(parts)


def _read(csv) -> pd.DataFrame:
    try:
        old = pd.read_csv(csv)
    except (TypeError, ValueError, OSError, pd.errors.EmptyDataError):      # None, absent or unreadable: evaluate
        return pd.DataFrame(columns=COLUMNS)
    return old if set(COLUMNS) <= set(old.columns) else pd.DataFrame(columns=COLUMNS)


__all__ = ["HELD_OUT_SET", "TABLE_IMAGES", "held_out_images", "held_out_ordering", "held_out_sentence"]
