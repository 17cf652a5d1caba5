"""Checkpoints (sr_lib.engine.checkpoint): official LIIF/MetaSR/LTE layout and ours, one save and one load,
strict loading, clear rejections."""
from __future__ import annotations

import pytest
import torch

import sr_lib
from sr_lib import compat
from sr_lib.engine.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint

SMALL_EDSR = {"name": "edsr-baseline", "args": {"n_resblocks": 2, "n_feats": 8, "no_upsampling": True}}
MLP = {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [16, 16]}}
OFFICIAL_CONFIGS = {
    "liif": {"name": "liif", "args": {"encoder_spec": SMALL_EDSR, "imnet_spec": MLP}},
    "metasr": {"name": "metasr", "args": {"encoder_spec": SMALL_EDSR}},
    "lte": {"name": "lte", "args": {"encoder_spec": SMALL_EDSR, "imnet_spec": MLP, "hidden_dim": 16}},
}


def _inputs():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 6, 7) * 2 - 1
    coord = torch.rand(1, 30, 2) * 2 - 1
    return x, coord, torch.full((1, 30, 2), 0.1)


def _official_file(tmp_path, config, model):
    """What train_liif.py writes: {'model': {name, args, sd}, 'optimizer': {...}, 'epoch'}."""
    path = tmp_path / "epoch-last.pth"
    torch.save({"model": {**config, "sd": model.state_dict()},
                "optimizer": {"name": "adam", "args": {"lr": 1e-4}, "sd": {}}, "epoch": 3}, path)
    return path


class TestOfficialCheckpoints:
    @pytest.mark.parametrize("name", sorted(OFFICIAL_CONFIGS))
    def test_official_layout_loads_strictly_and_reproduces_outputs(self, tmp_path, name):
        src = compat.build_official(OFFICIAL_CONFIGS[name]).eval()
        with torch.no_grad():
            for p in src.parameters():
                p.add_(torch.rand_like(p) * 0.01)      # differ from any fresh init
        path = _official_file(tmp_path, OFFICIAL_CONFIGS[name], src)
        model = load_checkpoint(path)
        assert not model.training
        with torch.no_grad():
            torch.testing.assert_close(model(*_inputs()), src(*_inputs()), rtol=0, atol=0)

    def test_refvec_weights_in_official_layout_load(self, tmp_path, refvec_dir):
        ref = compat.load_reference(refvec_dir / "lte_edsr-baseline.pt")
        src = compat.from_reference(ref).float()
        model = load_checkpoint(_official_file(tmp_path, ref["config"], src))
        assert list(model.state_dict()) == [k for k, _, _ in ref["keys"]]
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), src.state_dict().values()))

    def test_resaving_an_official_model_keeps_the_official_layout(self, tmp_path):
        src = compat.build_official(OFFICIAL_CONFIGS["lte"])
        model = load_checkpoint(_official_file(tmp_path, OFFICIAL_CONFIGS["lte"], src))
        save_checkpoint(tmp_path / "again.pth", model)
        ckpt = read_checkpoint(tmp_path / "again.pth")
        assert "format" not in ckpt and ckpt["model"]["name"] == "lte"
        assert load_checkpoint(tmp_path / "again.pth").state_dict().keys() == src.state_dict().keys()


class TestOwnCheckpoints:
    def test_save_then_load_roundtrip(self, tmp_path):
        src = sr_lib.make("liif", n_resblocks=1, n_feats=8, hidden=[16], cell_decode=False).eval()
        save_checkpoint(tmp_path / "m.pt", src, epoch=7)
        ckpt = read_checkpoint(tmp_path / "m.pt")
        assert ckpt["format"] == "sr_lib/1" and ckpt["epoch"] == 7
        assert ckpt["model"]["args"] == {"n_resblocks": 1, "n_feats": 8, "hidden": [16], "cell_decode": False}
        model = load_checkpoint(tmp_path / "m.pt")
        assert model.spec == src.spec
        with torch.no_grad():
            torch.testing.assert_close(model(*_inputs()), src(*_inputs()), rtol=0, atol=0)
        assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]       # no temporary file left

    def test_extras_come_back_from_read_checkpoint(self, tmp_path):
        """What training resume needs besides the model: optimizer state, step, seconds, tensors."""
        src = sr_lib.make("metasr", n_resblocks=1, n_feats=8, hidden=[16])
        opt = torch.optim.Adam(src.parameters(), lr=1e-3)
        src(*_inputs()).sum().backward()
        opt.step()
        save_checkpoint(tmp_path / "ckpt.pt", src, optimizer=opt.state_dict(), step=12, train_seconds=3.5,
                        history=torch.arange(3, dtype=torch.float64))
        ck = read_checkpoint(tmp_path / "ckpt.pt")
        assert (ck["step"], ck["train_seconds"]) == (12, 3.5) and ck["history"].tolist() == [0.0, 1.0, 2.0]
        again = torch.optim.Adam(src.parameters(), lr=1e-3)
        again.load_state_dict(ck["optimizer"])
        got, want = again.state_dict()["state"], opt.state_dict()["state"]
        assert want and got.keys() == want.keys()
        assert all(torch.equal(got[i]["exp_avg_sq"], want[i]["exp_avg_sq"]) for i in want)

    def test_package_level_load_returns_the_model(self, tmp_path):
        src = sr_lib.make("liif", n_resblocks=1, n_feats=8, hidden=[16])
        save_checkpoint(tmp_path / "m.pt", src)
        model = sr_lib.load_checkpoint(tmp_path / "m.pt")
        assert isinstance(model, torch.nn.Module) and not model.training and model.spec == src.spec

    def test_failed_write_keeps_the_previous_file(self, tmp_path):
        src = sr_lib.make("liif", n_resblocks=1, n_feats=8, hidden=[16])
        save_checkpoint(tmp_path / "m.pt", src, step=1)
        with pytest.raises(Exception):
            save_checkpoint(tmp_path / "m.pt", src, step=2, f=lambda: 0)     # not picklable: fails mid-write
        assert read_checkpoint(tmp_path / "m.pt")["step"] == 1
        assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]

    def test_save_requires_a_spec(self, tmp_path):
        with pytest.raises(ValueError, match="no spec"):
            save_checkpoint(tmp_path / "x.pt", torch.nn.Linear(2, 2))


class TestRejections:
    def _saved(self, tmp_path, obj):
        path = tmp_path / "bad.pth"
        torch.save(obj, path)
        return path

    def test_mismatched_state_dict_names_missing_and_unexpected_keys(self, tmp_path):
        src = compat.build_official(OFFICIAL_CONFIGS["liif"])
        sd = src.state_dict()
        sd.pop("imnet.layers.0.bias")
        sd["encoder.tail.0.weight"] = torch.zeros(3)
        path = self._saved(tmp_path, {"model": {**OFFICIAL_CONFIGS["liif"], "sd": sd}})
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(path)
        msg = str(e.value)
        assert "missing keys (1): imnet.layers.0.bias" in msg
        assert "unexpected keys (1): encoder.tail.0.weight" in msg
        assert "\n" not in msg

    def test_shape_mismatch_is_named(self, tmp_path):
        src = compat.build_official(OFFICIAL_CONFIGS["metasr"])
        sd = src.state_dict()
        sd["imnet.layers.0.weight"] = torch.zeros(16, 3)
        path = self._saved(tmp_path, {"model": {**OFFICIAL_CONFIGS["metasr"], "sd": sd}})
        with pytest.raises(CheckpointError, match=r"shape mismatch \(1\): imnet.layers.0.weight"):
            load_checkpoint(path)

    def test_truncated_file_gives_one_line_error(self, tmp_path):
        src = sr_lib.make("metasr", n_resblocks=1, n_feats=8)
        save_checkpoint(tmp_path / "m.pt", src)
        data = (tmp_path / "m.pt").read_bytes()
        (tmp_path / "m.pt").write_bytes(data[: len(data) // 2])
        with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint") as e:
            load_checkpoint(tmp_path / "m.pt")
        assert "\n" not in str(e.value)

    def test_checkpoint_of_another_model_is_rejected(self, tmp_path):
        path = self._saved(tmp_path, {"model": {"name": "rrdbnet", "args": {}, "sd": {}}})
        with pytest.raises(CheckpointError, match="model 'rrdbnet', which sr_lib cannot build"):
            load_checkpoint(path)

    def test_unregistered_own_model_is_rejected(self, tmp_path):
        path = self._saved(tmp_path, {"format": "sr_lib/1", "model": {"name": "nope", "args": {}, "sd": {}}})
        with pytest.raises(CheckpointError, match="'nope' is not registered"):
            load_checkpoint(path)

    def test_file_without_model_spec_is_rejected(self, tmp_path):
        path = self._saved(tmp_path, {"state_dict": {}})
        with pytest.raises(CheckpointError, match="not an sr_lib or LIIF/MetaSR/LTE checkpoint"):
            load_checkpoint(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="checkpoint not found"):
            load_checkpoint(tmp_path / "none.pth")
