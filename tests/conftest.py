"""Shared fixtures. Data-dependent tests skip (with the reason) when the shared data is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")
    parser.addoption("--device", action="store", default="cpu",
                     help="torch device for the tests that take the `device` fixture: cpu (default), cuda, cuda:1, ...")


def pytest_configure(config):
    name = config.getoption("--device")
    try:
        torch.device(name)
    except RuntimeError as e:       # a typo stops the run up front instead of erroring every test
        raise pytest.UsageError(f"--device {name!r}: {e}") from None


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: needs --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def refvec_dir() -> Path:
    p = Path(os.environ.get("SR_REFVEC", SHARED / "refvec"))
    if not p.is_dir():
        pytest.skip(f"reference vectors not found at {p}")
    return p


@pytest.fixture(scope="session")
def shared_data() -> Path:
    p = Path(os.environ.get("SR_DATA", SHARED / "data"))
    if not (p / "benchmark").is_dir():
        pytest.skip(f"benchmark data not found at {p}")
    return p


@pytest.fixture(scope="session")
def paper_tables_dir() -> Path:
    p = Path(os.environ.get("SR_PAPER_TABLES", SHARED / "paper_tables"))
    if not p.is_dir():
        pytest.skip(f"paper tables not found at {p}")
    return p


@pytest.fixture
def one_torch_thread():
    """One intra-op thread: tiny models run fastest so, and on a shared 2-core machine two
    threads spin against other processes (measured: 0.7 s vs 0.02 s per smoke step).
    Modules of tiny-model tests use it with ``pytestmark = pytest.mark.usefixtures(...)``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    """The torch device of ``--device`` (default cpu). A CUDA device that is not there skips the
    test with the reason (CI never needs a GPU); an unknown device string is a usage error."""
    name = request.config.getoption("--device")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise pytest.UsageError(f"--device {name!r}: {e}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            pytest.skip(f"--device {name}: CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            pytest.skip(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        pytest.skip(f"--device {name}: only cpu and cuda are supported by the tests")
    return dev


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request) -> torch.dtype:
    """Each test that takes it runs once in float32 and once in float64."""
    return request.param
