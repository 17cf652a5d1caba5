"""Downloads: hash check, atomic write, extraction — all on file:// URLs (no network)."""
import hashlib
import zipfile

import pytest

import sr_lib.data.download as dl
from sr_lib.cli import main


def _zip(tmp_path):
    src = tmp_path / "src" / "DIV2K_valid_HR"
    src.mkdir(parents=True)
    (src / "0801.png").write_bytes(b"fake png bytes")
    archive = tmp_path / "DIV2K_valid_HR.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(src / "0801.png", "DIV2K_valid_HR/0801.png")
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


class TestFetch:
    def test_good_hash_lands_atomically(self, tmp_path):
        archive, sha = _zip(tmp_path)
        dest = tmp_path / "out" / "a.zip"
        assert dl.fetch(archive.as_uri(), dest, sha) == sha
        assert dest.read_bytes() == archive.read_bytes()
        assert not dest.with_name("a.zip.part").exists()

    def test_bad_hash_leaves_nothing_behind(self, tmp_path):
        archive, _ = _zip(tmp_path)
        dest = tmp_path / "out" / "a.zip"
        with pytest.raises(ValueError, match="sha256 mismatch"):
            dl.fetch(archive.as_uri(), dest, "0" * 64)
        assert list((tmp_path / "out").iterdir()) == []


class TestDownload:
    def test_unverified_download_extracts_and_says_unverified(self, tmp_path, monkeypatch, capsys):
        archive, sha = _zip(tmp_path)
        src = dl.Source("DIV2K_valid_HR", archive.as_uri(), "zip", "DIV2K", "test")
        monkeypatch.setitem(dl.SOURCES, "DIV2K_valid_HR", src)
        root = tmp_path / "root"
        root.mkdir()
        target = dl.download("DIV2K_valid_HR", root, allow_unverified=True)
        assert (target / "DIV2K_valid_HR" / "0801.png").read_bytes() == b"fake png bytes"
        err = capsys.readouterr().err
        assert "UNVERIFIED" in err and sha in err
        assert not (root / ".downloads" / "DIV2K_valid_HR.zip").exists()
        assert [p.name for p in (root / "DIV2K").iterdir()] == ["DIV2K_valid_HR"]   # no temp leftovers

    def test_unverified_download_is_refused_before_fetching(self, tmp_path, monkeypatch, capsys):
        archive, sha = _zip(tmp_path)
        monkeypatch.setitem(dl.SOURCES, "DIV2K_valid_HR",
                            dl.Source("DIV2K_valid_HR", archive.as_uri(), "zip", "DIV2K", "test"))
        root = tmp_path / "root"
        root.mkdir()
        assert main(["data", "download", "DIV2K_valid_HR", "--data-root", str(root)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--sha256" in err and "--allow-unverified" in err
        assert list(root.iterdir()) == []                          # nothing fetched, nothing written
        assert main(["data", "download", "DIV2K_valid_HR", "--data-root", str(root), "--sha256", sha]) == 0
        assert "sha256 verified" in capsys.readouterr().err
        assert (root / "DIV2K" / "DIV2K_valid_HR" / "0801.png").is_file()

    def test_malformed_sha256_is_refused(self, capsys, tmp_path):
        assert main(["data", "download", "DIV2K_valid_HR", "--data-root", str(tmp_path), "--sha256", "abc"]) == 2
        assert "64 hexadecimal digits" in capsys.readouterr().err and list(tmp_path.iterdir()) == []

    def test_user_pinned_hash_is_checked(self, tmp_path, monkeypatch):
        archive, _ = _zip(tmp_path)
        monkeypatch.setitem(dl.SOURCES, "DIV2K_valid_HR",
                            dl.Source("DIV2K_valid_HR", archive.as_uri(), "zip", "DIV2K", "test"))
        root = tmp_path / "root"
        root.mkdir()
        with pytest.raises(ValueError, match="mismatch"):
            dl.download("DIV2K_valid_HR", root, sha256="f" * 64)
        assert not (root / "DIV2K").exists()

    def test_manual_sources_explain_instead_of_fetching(self, tmp_path):
        with pytest.raises(ValueError, match="manga109.org"):
            dl.download("Manga109", tmp_path)

    def test_no_entry_claims_a_hash_it_does_not_have(self):
        # every recorded sha256 would have to be confirmed; none of the official pages publishes one
        assert all(s.sha256 is None for s in dl.SOURCES.values())


class TestDataCli:
    def test_list_shows_official_urls_and_unverified(self, capsys):
        assert main(["data", "list"]) == 0
        out = capsys.readouterr().out
        assert "data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip" in out and "unverified" in out

    def test_unknown_name_is_a_one_line_error(self, capsys):
        assert main(["data", "download", "ImageNet"]) == 2
        assert "unknown download" in capsys.readouterr().err


class TestHostileArchives:
    def test_links_out_of_the_target_are_refused_and_nothing_is_placed(self, tmp_path):
        import tarfile
        (tmp_path / "evil").symlink_to("/etc/passwd")
        archive = tmp_path / "evil.tar"
        with tarfile.open(archive, "w") as t:
            t.add(tmp_path / "evil", "evil")
        with pytest.raises(ValueError, match="cannot extract evil.tar: .*link") as e:
            dl.extract(archive, tmp_path / "out")
        assert "\n" not in str(e.value) and list((tmp_path / "out").iterdir()) == []

    def test_an_archive_larger_than_the_free_disk_is_refused_before_extraction(self, tmp_path, monkeypatch):
        archive, _ = _zip(tmp_path)
        monkeypatch.setattr(dl.shutil, "disk_usage", lambda p: type("U", (), {"free": 3})())
        with pytest.raises(OSError, match="unpacks to .* GB free"):
            dl.extract(archive, tmp_path / "out")
        assert list((tmp_path / "out").iterdir()) == []
