"""The one place the device is chosen (sr_lib.engine.device)."""
from __future__ import annotations

import pytest
import torch

from sr_lib.engine.device import get_device


def test_auto_is_cuda_when_present(monkeypatch):
    monkeypatch.delenv("SR_DEVICE", raising=False)
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == want and get_device("AUTO").type == want


def test_env_and_argument(monkeypatch):
    monkeypatch.setenv("SR_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")


def test_missing_cuda_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device("cuda:1")
    monkeypatch.setenv("SR_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device()
    monkeypatch.setenv("SR_DEVICE", "auto")
    assert get_device() == torch.device("cpu")


def test_device_fixture_matches_the_option(device, request):
    assert device == torch.device(request.config.getoption("--device"))


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "meta", "cpu:1", "tpu"])
def test_unknown_devices_are_one_line_value_errors(bad):
    with pytest.raises(ValueError, match="device") as e:
        get_device(bad)
    assert "\n" not in str(e.value)
