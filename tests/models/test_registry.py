"""One registry for methods and backbones (sr_lib.models.registry): names, duplicates, unknown
names, and the self-describing ``model.spec`` that a checkpoint carries."""
from __future__ import annotations

import pytest
import torch.nn as nn

import sr_lib
from sr_lib.models import registry


@pytest.fixture
def private_tables(monkeypatch):
    """Register into copies of the tables, so the zoo is untouched after the test."""
    monkeypatch.setattr(registry, "_METHODS", dict(registry._METHODS))
    monkeypatch.setattr(registry, "_BACKBONES", dict(registry._BACKBONES))


def test_the_zoo():
    assert sr_lib.list_models() == sorted(["arbsr", "ciaosr", "eqsr", "ipe-liif", "ipe-metasr", "itsrn",
                                           "liif", "liif-pe", "lte", "metasr"])
    assert {"edsr-baseline", "edsr", "rdn", "swinir", "eqnet"} <= set(sr_lib.list_backbones())


def test_spec_records_the_call_as_a_copy(private_tables):
    @registry.register("toy")
    def toy(width=2, sizes=(1,)):
        return nn.Linear(width, len(sizes))

    options = {"width": 3, "sizes": [4, 5]}
    model = sr_lib.make("toy", **options)
    assert model.spec == {"name": "toy", "args": {"width": 3, "sizes": [4, 5]}}
    options["sizes"].append(6)                                       # the caller's dict is not the spec
    assert model.spec["args"]["sizes"] == [4, 5]
    rebuilt = sr_lib.make(model.spec["name"], **model.spec["args"])
    assert rebuilt.spec == model.spec and rebuilt.out_features == 2


def test_builder_cannot_mutate_the_recorded_options(private_tables):
    @registry.register("greedy")
    def greedy(hidden):
        hidden.append(99)
        return nn.Identity()

    assert sr_lib.make("greedy", hidden=[1]).spec["args"] == {"hidden": [1]}


def test_duplicate_names_are_refused(private_tables):
    with pytest.raises(KeyError, match="method 'liif' is registered twice"):
        registry.register("liif")(lambda **kw: nn.Identity())
    with pytest.raises(KeyError, match="backbone 'rdn' is registered twice"):
        registry.register_backbone("rdn")(lambda **kw: nn.Identity())


def test_unknown_names_list_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown method 'liff'; known: arbsr, ciaosr"):
        sr_lib.make("liff")
    with pytest.raises(KeyError, match=r"unknown backbone 'vgg'; known: .*edsr-baseline"):
        sr_lib.make_backbone("vgg")


def test_methods_and_backbones_are_separate_tables(private_tables):
    registry.register_backbone("shared-name")(lambda: nn.Identity())
    registry.register("shared-name")(lambda: nn.ReLU())
    assert isinstance(sr_lib.make_backbone("shared-name"), nn.Identity)
    assert isinstance(sr_lib.make("shared-name"), nn.ReLU)
