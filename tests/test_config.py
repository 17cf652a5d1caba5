"""Training profiles (sr_lib.config): one TrainConfig, three budgets; the schedules of the papers,
the method data rules, override checks and the precedence of size options."""
from __future__ import annotations

import dataclasses

import pytest

import sr_lib
from sr_lib.models.base import count_parameters
from sr_lib.config import CPU_SIZES, PAPER_SCHEDULES, PROFILES, SMOKE_SIZES, TrainConfig, config_for, model_options


def test_profiles_are_frozen_trainconfigs():
    assert set(PROFILES) == {"smoke", "cpu", "paper"}
    for name, cfg in PROFILES.items():
        assert isinstance(cfg, TrainConfig) and cfg.profile == name
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.lr = 1.0


def test_paper_profile_is_liif_schedule():
    # LIIF: 1000 epochs × 1000 iterations, batch 16, Adam 1e-4 halved every 200 epochs, 48² LR, ×1–4
    cfg = config_for("paper", "liif", "edsr-baseline")
    assert (cfg.iterations, cfg.batch_size, cfg.lr, cfg.gamma) == (1_000_000, 16, 1e-4, 0.5)
    assert cfg.milestones == (200_000, 400_000, 600_000, 800_000)
    assert (cfg.lr_size, cfg.scale_min, cfg.scale_max, cfg.n_queries) == (48, 1.0, 4.0, 48 * 48)


@pytest.mark.parametrize("method, backbone, key", [("lte", "swinir", ("lte", "swinir")),
                                                   ("ciaosr", "swinir", ("ciaosr", "swinir")),
                                                   ("eqsr", "eqnet", ("eqsr", None))])
def test_paper_schedules_apply_by_method_and_backbone(method, backbone, key):
    cfg = config_for("paper", method, backbone)
    for field, value in PAPER_SCHEDULES[key].items():
        assert getattr(cfg, field) == value


def test_paper_schedule_of_one_backbone_does_not_leak():
    assert config_for("paper", "lte", "edsr-baseline").batch_size == 16
    assert config_for("cpu", "lte", "swinir").batch_size == PROFILES["cpu"].batch_size


def test_method_data_rule_holds_in_every_profile():
    for profile in PROFILES:
        assert config_for(profile, "arbsr", "edsr-baseline").scale_per == "batch"
        assert config_for(profile, "liif", "edsr-baseline").scale_per == "sample"


def test_overrides_are_checked_and_sequences_become_tuples():
    cfg = config_for("smoke", "liif", scale_max=12, milestones=[1, 3], scales=[2, 3])
    assert cfg.scale_max == 12 and cfg.milestones == (1, 3) and cfg.scales == (2, 3)
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        config_for("smoke", learning_rate=1.0)
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        config_for("fast")


def test_pair_spec_carries_the_data_fields():
    cfg = config_for("smoke", "arbsr", scales=[2, 3])
    spec = cfg.pair_spec(layout="grid")
    assert (spec.lr_size, spec.n_queries, spec.scales, spec.layout, spec.scale_per) == \
        (cfg.lr_size, cfg.n_queries, (2, 3), "grid", "batch")


def test_model_options_precedence():
    cfg = config_for("cpu")
    opts = model_options(cfg, "liif", "edsr-baseline", {"n_feats": 8, "hidden": [4]})
    assert opts == {"backbone": "edsr-baseline", "n_resblocks": 4, "n_feats": 8, "hidden": [4]}
    assert model_options(cfg, "eqsr", None) == CPU_SIZES["eqsr"]
    opts["hidden"].append(5)                                            # a copy, not the profile's table
    assert CPU_SIZES["liif"]["hidden"] == [64, 64, 64, 64]


@pytest.mark.parametrize("method", sr_lib.list_models())
def test_every_registered_method_has_smoke_sizes(method):
    # the smoke profile must cover the whole zoo, or CI would train full-size decoders
    backbone = "eqnet" if method == "eqsr" else "edsr-baseline"
    assert method in SMOKE_SIZES, f"{method} has no smoke sizes"
    model = sr_lib.make(method, **model_options(config_for("smoke"), method, backbone))
    assert count_parameters(model) < 100_000


def test_to_dict_round_trips():
    cfg = config_for("cpu", "liif", scales=[2, 3])
    assert TrainConfig(**cfg.to_dict()) == cfg
