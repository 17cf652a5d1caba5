"""The run plan: every training run the table notebooks use, trained once and shipped.

    python -m sr_lib train-plan --profile cpu                      # list the plan (and what is shipped)
    python -m sr_lib train-plan --profile cpu --run --worker 0 --workers 2    # train its half, cheapest first
    python -m sr_lib train-plan --profile cpu --evaluate --worker 0 --workers 2   # score the shipped runs' cells

``plan_runs(profile)`` collects the learned rows of notebooks 10, 20, 30 and 31 (their ``TableSpec``s),
one entry per distinct run (method, backbone, options, overrides, seed), each with the protocol of
the first paper that uses it (its health gate is scored under it). ``train_plan`` trains the runs
that are not shipped yet (resuming interrupted ones from the run cache), health-checks and ships
each as it finishes (``run_cards.ship_run``), so a session that stops loses at most the run in
progress. Two workers of one thread each use both cores of the 2-core machine. The CPU-hours per
group are in ``docs/RUN_PLAN.md``.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from sr_lib.config import config_for
from sr_lib.metrics.protocols import get_protocol

# CPU-seconds per training step at one thread on a quiet machine, (method, backbone) → s, backbone None =
# any: `benchmarks/bench_train.py --steps 20 --warmup 3` of 2026-12-02 (after the speed issue's changes;
# load 0.2 before it; docs/RUN_PLAN.md). Used to order the plan cheapest first and to print its cost.
STEP_COST = {("eqsr", None): 0.558, ("ciaosr", "rdn"): 0.220, ("ciaosr", "swinir"): 0.162, ("ciaosr", None): 0.140,
             ("ipe-liif", "rdn"): 0.139, ("lte", "rdn"): 0.132, ("metasr", "rdn"): 0.126, ("liif", "rdn"): 0.122,
             ("lte", "swinir"): 0.085, ("liif", "swinir"): 0.073, ("itsrn", None): 0.068, ("ipe-liif", None): 0.058,
             ("lte", None): 0.044, ("arbsr", None): 0.042, ("metasr", None): 0.041, ("liif", None): 0.037,
             ("liif-pe", None): 0.036, (None, "rdn"): 0.13, (None, "swinir"): 0.08, (None, None): 0.045}


@dataclass(frozen=True)
class PlannedRun:
    method: str
    backbone: str | None
    options: tuple
    overrides: tuple
    seed: int
    protocol: str
    paper: str
    steps: int = 0          # the profile's iterations for this run (``config_for``): a recipe change makes a new card

    @property
    def variant(self) -> str:
        """Options and overrides beyond the method's defaults, ``k=v,...`` (empty: the default recipe)."""
        from sr_lib.repro.run_cards import variant_label
        return variant_label(self.options, self.overrides)

    @property
    def card(self) -> tuple:
        """(method, backbone, seed, variant, steps): what identifies this run's card in ``runs.csv``."""
        return (self.method, self.backbone, self.seed, self.variant, self.steps)

    @property
    def label(self) -> str:
        extra = self.variant
        return f"{self.method}:{self.backbone or '-'}{'[' + extra + ']' if extra else ''} s{self.seed}"

    def step_cost(self) -> float:
        for key in ((self.method, self.backbone), (self.method, None), (None, self.backbone), (None, None)):
            if key in STEP_COST:
                return STEP_COST[key]
        return STEP_COST[(None, None)]


def table_specs(profile: str) -> list:
    """The ``TableSpec``s of the three table notebooks at ``profile`` (their default parameters), and
    the rows of notebook 31's analyses as one more spec (its HAT-style EQNet trains nowhere else)."""
    from sr_lib.repro.papers import ciaosr, eqsr, ipe_liif
    from sr_lib.repro.specs import TableSpec
    return [*ipe_liif.table_specs(profile=profile).values(),
            *ciaosr.table_specs(ciaosr.default_backbones(profile), profile).values(),
            *eqsr.table_specs(profile).values(),
            TableSpec("eqsr", "analyses", rows=tuple(eqsr.analysis_rows(profile).values()))]


def plan_runs(profile: str) -> list:
    """Every distinct training run of the table notebooks, cheapest first."""
    seeds = config_for(profile).seeds
    runs = {}
    for spec in table_specs(profile):
        protocol = get_protocol(spec.protocol).name
        for r in spec.rows:
            if not r.learned or r.checkpoint:
                continue
            for seed in seeds[:max(1, r.n_seeds)]:
                run = planned_run(profile, spec, r, seed, protocol)
                runs.setdefault((run.method, run.backbone, run.options, run.overrides, seed), run)
    return sorted(runs.values(), key=lambda p: (p.step_cost(), p.method, str(p.backbone), p.options, p.overrides, p.seed))


def planned_steps(profile: str, method: str, backbone: str | None, overrides) -> int:
    """The iterations ``method`` on ``backbone`` trains for at ``profile`` with ``overrides``."""
    return config_for(profile, method, backbone, **dict(overrides)).iterations


def planned_run(profile: str, spec, row, seed: int, protocol: str = "") -> PlannedRun:
    """The ``PlannedRun`` of table row ``row`` (of ``spec``) at ``seed`` and ``profile``: the one place a
    row becomes a run and its card."""
    return PlannedRun(row.method, row.backbone, tuple(sorted(row.options.items())), tuple(sorted(row.overrides.items())),
                      seed, protocol=protocol, paper=spec.paper,
                      steps=planned_steps(profile, row.method, row.backbone, row.overrides))


def prioritise(plan: list, first=()) -> list:
    """``plan`` with the runs whose label starts with ``first[0]`` first, then ``first[1]``, ...,
    then the rest, each group in the plan's own order (``train-plan --first liif:edsr-baseline``)."""
    first = tuple(first or ())
    rank = lambda run: next((i for i, p in enumerate(first) if run.label.startswith(p)), len(first))
    return sorted(plan, key=rank)


def check_workers(worker: int, workers: int) -> None:
    """``UserError`` unless ``0 <= worker < workers`` (each worker trains every ``workers``-th run)."""
    from sr_lib.errors import UserError
    if int(workers) < 1 or not 0 <= int(worker) < int(workers):
        raise UserError(f"--worker must be in 0..--workers-1 and --workers >= 1, got --worker {worker} "
                        f"--workers {workers}")


def train_plan(profile: str, *, worker: int = 0, workers: int = 1, data_root=None, device: str = "auto",
               first=(), log=None) -> list:
    """Train and ship this worker's share of the plan (every ``workers``-th run from ``worker``, after
    ``prioritise(plan, first)``); returns the run cards written. Shipped runs are skipped."""
    from sr_lib.engine.train import train
    from sr_lib.repro.run_cards import ship_run, weights_dir
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    check_workers(worker, workers)
    done = shipped_labels(profile)
    todo = [r for r in prioritise(plan_runs(profile), first) if r.card not in done]
    plan = todo[worker::workers]
    cards, t0 = [], time.perf_counter()
    for i, run in enumerate(plan, 1):
        cfg = config_for(profile, run.method, run.backbone, **dict(run.overrides))
        log(f"[{i}/{len(plan)}] {run.label} ({cfg.iterations} steps, ~{run.step_cost() * cfg.iterations / 60:.0f} "
            f"CPU-min; elapsed {(time.perf_counter() - t0) / 60:.0f} min)")
        model = train(run.method, run.backbone, profile=profile, seed=run.seed, data_root=data_root,
                      options=dict(run.options), device=device, progress=False,
                      weights_dir=weights_dir(profile), **dict(run.overrides))
        if model.train_info.get("source") == "shipped":
            log(f"    shipped already: {model.train_info['weights']}")
            continue
        card = ship_run(model, profile, run.protocol, data_root=data_root, variant=run.variant)
        cards.append(card)
        log(f"    {card['run']}: x2 {card['gain_x2']:+.2f} dB, x4 {card['gain_x4']:+.2f} dB over Bicubic -> "
            f"{'healthy' if card['healthy'] else 'BELOW THE BAR: ' + card['reasons']}")
    return cards


def evaluation_jobs(profile: str, papers=()) -> list:
    """``(spec, row, seed)`` of every table cell group the notebooks evaluate on a *shipped* run, in
    plan order (``table_specs``; notebook 31's analyses are not table cells). Runs not shipped yet are
    left out: they are trained (``train-plan --run``) before they are scored."""
    from sr_lib.repro.results import row_seeds
    done, seeds, jobs = shipped_labels(profile), config_for(profile).seeds, []
    for spec in table_specs(profile):
        if spec.table == "analyses" or (papers and spec.paper not in papers):
            continue
        for row in spec.rows:
            if not row.learned or row.checkpoint:
                continue
            for seed in row_seeds(row, seeds, False):
                if planned_run(profile, spec, row, seed).card in done:
                    jobs.append((spec, row, seed))
    return jobs


def evaluate_plan(profile: str, *, papers=(), worker: int = 0, workers: int = 1, data_root=None,
                  device: str = "auto", max_datasets: int | None = None, log=None) -> int:
    """Score this worker's share of ``evaluation_jobs`` into the notebooks' raw CSVs
    (``results/<profile>/<paper>_raw.csv``, merged under a lock), so that the table notebooks find
    every evaluation of a shipped run cached; the last worker also scores CiaoSR Table 6's synthesis
    (``score_synthesis``). Returns the number of jobs. Bicubic and official checkpoints are left to
    the notebooks (seconds). ``max_datasets``: only each table's N smallest test sets this pass
    (``EvalBudget.max_datasets``; the cells are the ones a full pass makes, so it finds them cached)."""
    from dataclasses import replace
    from sr_lib.paths import results_dir
    from sr_lib.repro.results import run_rows
    from sr_lib.repro.specs import EVAL_BUDGETS
    check_workers(worker, workers)
    budget = replace(EVAL_BUDGETS[profile], max_datasets=max_datasets) if max_datasets else None
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    jobs = evaluation_jobs(profile, papers)[worker::workers]
    t0 = time.perf_counter()
    for i, (spec, row, seed) in enumerate(jobs, 1):
        log(f"[{i}/{len(jobs)}] {spec.paper} {spec.table}: {row.label} ({row.backbone}) seed {seed} "
            f"(elapsed {(time.perf_counter() - t0) / 60:.0f} min)")
        run_rows(replace(spec, rows=(row,)), profile, seeds=(seed,), data_root=data_root, device=device,
                 raw_csv=results_dir(profile) / f"{spec.paper}_raw.csv", progress=False, log=log, budget=budget)
    n = len(jobs)
    if worker == workers - 1 and (not papers or "ciaosr" in papers):       # one worker scores it: the last
        n += score_synthesis(profile, data_root=data_root, device=device, log=log)
    return n


def score_synthesis(profile: str, *, data_root=None, device: str = "auto", log=print) -> bool:
    """CiaoSR Table 6 (×12 in one, two or three steps) on the shipped RDN-CiaoSR of seed 0, scored into
    ``results/<profile>/ciaosr_raw.csv`` as notebook 20 scores it (its test sets, its cache keys), so
    the notebook finds the cells cached. False (nothing done) while that run is not shipped, or where
    the plan has none."""
    from sr_lib.paths import results_dir
    from sr_lib.repro.papers import ciaosr
    run = next((r for r in plan_runs(profile) if (r.method, r.backbone, r.variant, r.seed) == ("ciaosr", ciaosr.RDN, "", 0)),
               None)
    if run is None or run.card not in shipped_labels(profile):
        return False
    log(f"ciaosr table6: CiaoSR ({ciaosr.RDN}) seed 0, x12 in 1, 2 and 3 steps")
    ciaosr.score_table6(profile, 0, data_root=data_root, device=device, raw_csv=results_dir(profile) / "ciaosr_raw.csv",
                        log=log)
    return True


def stale_runs(profile: str) -> list:
    """Run keys of ``runs.csv`` whose card no run of the plan has (shipped under a recipe the plan no
    longer uses): ``train-plan --withdraw-stale`` removes them."""
    cards = {r.card for r in plan_runs(profile)}
    return [key for key, card in _shipped_cards(profile) if card not in cards]


def _run_cli(args) -> int:
    check_workers(args.worker, args.workers)
    if args.withdraw_stale:
        from sr_lib.repro.run_cards import withdraw_runs
        for row in withdraw_runs(args.profile, stale_runs(args.profile)):
            print(f"withdrawn: {row['run']} ({row['variant'] or 'default recipe'}; weights {row['weights']} deleted)")
        return 0
    if args.evaluate:
        evaluate_plan(args.profile, papers=args.paper, worker=args.worker, workers=args.workers,
                      data_root=args.data_root, device=args.device, max_datasets=args.max_datasets)
        return 0
    if args.run:
        train_plan(args.profile, worker=args.worker, workers=args.workers, data_root=args.data_root,
                   device=args.device, first=args.first)
        return 0
    plan = prioritise(plan_runs(args.profile), args.first)
    clocks = shipped_seconds(args.profile)
    total = left = measured = 0.0
    n_left = 0
    for run in plan:
        cfg = config_for(args.profile, run.method, run.backbone, **dict(run.overrides))
        hours = run.step_cost() * cfg.iterations / 3600
        shipped = run.card in clocks
        total += hours
        if not shipped:
            left, n_left = left + hours, n_left + 1
        took = clocks.get(run.card)
        took_text = f"took {took / 3600:5.2f} h" if took is not None and took == took else ""   # NaN: no clock
        measured += took if took_text else 0.0
        print(f"{run.label:60s} {run.paper:9s} {run.protocol:9s} {hours:5.2f} CPU-h  {took_text:12s} "
              f"{'shipped' if shipped else 'to train'}")
    print(f"{len(plan)} runs, ~{total:.1f} CPU-hours at the listed step costs; {len(plan) - n_left} shipped, "
          f"{n_left} to train (~{left:.1f} CPU-hours); the shipped runs took {measured / 3600:.1f} h by their own "
          f"clocks (runs.csv train_seconds, two workers side by side)")
    stale = stale_runs(args.profile)
    if stale:
        print(f"{len(stale)} shipped run(s) the plan no longer uses ({', '.join(stale)}): "
              f"train-plan --profile {args.profile} --withdraw-stale removes them")
    return 0


def shipped_labels(profile: str) -> set:
    """``PlannedRun.card`` of every run card in ``results/<profile>/runs.csv``."""
    return {card for _, card in _shipped_cards(profile)}


def shipped_seconds(profile: str) -> dict:
    """``PlannedRun.card`` → the run's training time by its own clock (``train_seconds`` of its card in
    ``results/<profile>/runs.csv``; NaN where the card has none)."""
    import pandas as pd
    from sr_lib.repro.run_cards import read_runs
    secs = pd.to_numeric(read_runs(profile)["train_seconds"], errors="coerce")     # "" where a card has none
    return {card: float(t) for (_, card), t in zip(_shipped_cards(profile), secs)}


def _shipped_cards(profile: str) -> list:
    """``(run key, PlannedRun.card)`` of every row of ``results/<profile>/runs.csv``."""
    from sr_lib.repro.run_cards import read_runs
    runs = read_runs(profile)             # variant "" for the default recipe
    return [(str(k), (str(m), str(b), int(s), str(v), int(n))) for k, m, b, s, v, n in
            zip(runs["run"], runs["method"], runs["backbone"], runs["seed"], runs["variant"], runs["steps"])]


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("train-plan", help="list or train the table notebooks' training runs",
                              description="List (default) or train (--run) every training run of the table "
                                          "notebooks; finished runs are health-checked and shipped.")
    p.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "paper"])
    p.add_argument("--run", action="store_true", help="train the runs that are not shipped yet")
    p.add_argument("--worker", type=int, default=0, help="this worker's index (with --workers)")
    p.add_argument("--workers", type=int, default=1, help="how many workers share the plan")
    p.add_argument("--first", nargs="*", default=[], metavar="LABEL_PREFIX",
                   help="runs whose label starts with these go first, in this order (e.g. ipe-liif:edsr-baseline)")
    p.add_argument("--evaluate", action="store_true",
                   help="score the shipped runs on their table cells into the notebooks' raw CSVs (with --worker/--workers)")
    p.add_argument("--paper", nargs="*", default=[], choices=["ipe_liif", "ciaosr", "eqsr"],
                   help="with --evaluate: only these papers' tables")
    p.add_argument("--max-datasets", type=int, default=None, metavar="N",
                   help="with --evaluate: only each table's N smallest test sets this pass (Urban100 last)")
    p.add_argument("--withdraw-stale", action="store_true",
                   help="remove the shipped runs (card and weights) that the plan no longer uses")
    p.add_argument("--data-root", default=None)
    p.add_argument("--device", default="auto")
    p.set_defaults(func=_run_cli)


__all__ = ["PlannedRun", "plan_runs", "prioritise", "shipped_labels", "stale_runs", "evaluation_jobs", "evaluate_plan", "check_workers", "train_plan", "add_cli"]
