"""A run killed at any moment resumes to the same weights, bit for bit (real SIGKILL)."""
from __future__ import annotations

import pytest

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from sr_lib.engine.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[2]
ITERATIONS, EVERY = 100, 10
RUN = dict(method="liif", backbone="edsr-baseline", profile="smoke", seed=3, device="cpu",
           iterations=ITERATIONS, checkpoint_every=EVERY, ema_decay=0.9)


def train_cmd(root, out) -> list:
    return [sys.executable, "-m", "sr_lib", "train", "--method", "liif", "--backbone", "edsr-baseline",
            "--profile", "smoke", "--seed", "3", "--device", "cpu", "--data-root", str(root), "--out", str(out),
            "--no-progress", "--set", f"iterations={ITERATIONS}", "--set", f"checkpoint_every={EVERY}",
            "--set", "ema_decay=0.9"]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def saved_step(out) -> int:
    ckpts = list(Path(out).glob("smoke/*/ckpt.pt"))
    if not ckpts:
        return 0
    try:
        return int(torch.load(ckpts[0], weights_only=True)["step"])
    except Exception:       # mid-replace on some filesystems: try again
        return 0


def start_and_kill(root, out, min_step: int, extra_delay: float) -> None:
    """Start training, wait until a checkpoint at ≥ ``min_step`` exists, wait a little more, SIGKILL."""
    proc = subprocess.Popen(train_cmd(root, out), env=env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while saved_step(out) < min_step:
        assert proc.poll() is None, f"training exited early: {proc.stderr.read().decode()[-2000:]}"
        assert time.time() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    time.sleep(extra_delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def final_state(out) -> dict:
    (final,) = Path(out).glob("smoke/*/final.pt")
    return torch.load(final, weights_only=True)


class TestResumeAfterKill:
    def test_killed_run_resumes_to_the_uninterrupted_weights(self, tiny_root, tmp_path):
        straight, killed = tmp_path / "straight", tmp_path / "killed"
        start_and_kill(tiny_root, killed, min_step=EVERY, extra_delay=0.05)    # maybe mid-write
        assert not list(killed.glob("smoke/*/final.pt")), "the run finished before it was killed"
        assert 0 < saved_step(killed) < ITERATIONS

        # same thread count as the subprocess (OMP_NUM_THREADS=1 there, the autouse fixture here)
        resumed = train(**RUN, data_root=tiny_root, out=killed, progress=False)
        uninterrupted = train(**RUN, data_root=tiny_root, out=straight, progress=False)

        a, b = final_state(straight), final_state(killed)
        assert a["key"] == b["key"] and a["step"] == b["step"] == ITERATIONS
        assert a["model"]["sd"].keys() == b["model"]["sd"].keys()
        for k in a["model"]["sd"]:
            assert torch.equal(a["model"]["sd"][k], b["model"]["sd"][k]), k
        assert torch.equal(a["history"], b["history"])           # the same loss at every step
        assert resumed.train_info["loss"] == uninterrupted.train_info["loss"]
