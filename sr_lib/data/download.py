"""Official sources of the data and checkpoints, and ``python -m sr_lib data list|download``.

Downloads go through the standard library (``urllib``): streamed to ``<name>.part`` while
hashing, checked against the recorded sha256, renamed into place (``os.replace``), then
extracted into a temporary folder inside the data root and moved into place — an
interrupted run never leaves a half-written file or folder under its final name.

Hashes: every download is verified by sha256, or refused. An entry's ``sha256`` is filled in
only where it could be confirmed (none of the official pages publishes checksums, so none is);
otherwise the user gives the expected hash (``--sha256``), or explicitly accepts an unverified
download (``--allow-unverified``), after which the computed sha256 is printed for them to pin.
Before anything is fetched the data root must be writable; before extraction the archive's
unpacked size must fit the free disk space, and no member may escape the target folder. Entries of
kind "manual" (checkpoints behind Google Drive / Baidu / release pages, Manga109 behind a
request form) cannot be fetched by a script: ``download`` prints where to get them and
where to put them.

Tests never touch the network: they download ``file://`` URLs.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sr_lib.data.resolver import resolve_data_root
from sr_lib.paths import repo_root

_DIV2K = "http://data.vision.ee.ethz.ch/cvl/DIV2K/"
_HF_MIRROR = ("a third-party mirror (huggingface.co/datasets/goodfellowliu/DIV2K) lists sha256 {} "
              "for a {}-byte file; not confirmed to be the official file")


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    kind: str                 # "zip" | "tar" | "manual"
    target: str               # folder under the data root that receives the content
    what: str
    sha256: str | None = None  # None = unverified
    note: str = ""


SOURCES = {s.name: s for s in [
    Source("DIV2K_train_HR", _DIV2K + "DIV2K_train_HR.zip", "zip", "DIV2K",
           "DIV2K training HR, 800 PNG (official DIV2K site, linked from the LIIF README)",
           note=_HF_MIRROR.format("9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335", 3530603713)),
    Source("DIV2K_valid_HR", _DIV2K + "DIV2K_valid_HR.zip", "zip", "DIV2K",
           "DIV2K validation HR, 100 PNG"),
    Source("DIV2K_valid_LR_bicubic_X2", _DIV2K + "DIV2K_valid_LR_bicubic_X2.zip", "zip", "DIV2K",
           "DIV2K validation MATLAB-bicubic LR x2",
           note=_HF_MIRROR.format("60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57", 117763600)),
    Source("DIV2K_valid_LR_bicubic_X3", _DIV2K + "DIV2K_valid_LR_bicubic_X3.zip", "zip", "DIV2K",
           "DIV2K validation MATLAB-bicubic LR x3",
           note=_HF_MIRROR.format("04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3", 54513392)),
    Source("DIV2K_valid_LR_bicubic_X4", _DIV2K + "DIV2K_valid_LR_bicubic_X4.zip", "zip", "DIV2K",
           "DIV2K validation MATLAB-bicubic LR x4"),
    Source("benchmark", "https://cv.snu.ac.kr/research/EDSR/benchmark.tar", "tar", ".",
           "EDSR benchmark.tar: Set5, Set14, B100, Urban100 HR + LR_bicubic/X{2,3,4} (linked from the "
           "LIIF README); extracts to benchmark/"),
    Source("Manga109", "http://www.manga109.org/en/download.html", "manual", "benchmark/Manga109/HR",
           "Manga109 (licence forbids redistribution: request access on the official page)"),
    Source("liif-edsr-baseline", "https://www.dropbox.com/s/6f402wcn4v83w2v/edsr-baseline-liif.pth?dl=0",
           "manual", "checkpoints", "official EDSR-baseline-LIIF checkpoint (LIIF README)"),
    Source("liif-rdn", "https://www.dropbox.com/s/mzha6ll9kb9bwy0/rdn-liif.pth?dl=0", "manual",
           "checkpoints", "official RDN-LIIF checkpoint (LIIF README)"),
    Source("lte-edsr-baseline", "https://drive.google.com/file/d/108-wQJOTR41JNn_2Q-5X4p07DvgrBNSB/view",
           "manual", "checkpoints", "official EDSR-baseline-LTE checkpoint (LTE README)"),
    Source("lte-rdn", "https://drive.google.com/file/d/1fdj5cvSopIqFi74x9rofPP9O_2HfSp7K/view", "manual",
           "checkpoints", "official RDN-LTE checkpoint (LTE README)"),
    Source("lte-swinir", "https://drive.google.com/file/d/1DnrL86pUKwRXNLOxoK_GJdrP6IZ3y9nH/view", "manual",
           "checkpoints", "official SwinIR-LTE checkpoint (LTE README)"),
    Source("ciaosr", "https://github.com/caojiezhang/CiaoSR/releases", "manual", "checkpoints",
           "official CiaoSR checkpoints (release page named by the CiaoSR README)"),
    Source("eqsr", "https://pan.baidu.com/s/1ui-GSbAQLuTyOmxBlAQZVg", "manual", "checkpoints",
           "official EQSR checkpoints (Baidu Netdisk, extraction code lspg, EQSR README)"),
]}


def get_source(name: str) -> Source:
    by_lower = {k.lower(): v for k, v in SOURCES.items()}
    if name.lower() not in by_lower:
        raise ValueError(f"unknown download {name!r}; known: {', '.join(SOURCES)}")
    return by_lower[name.lower()]


def fetch(url: str, dest: Path, expected_sha256: str | None = None, chunk: int = 1 << 20) -> str:
    """Stream ``url`` into ``dest`` atomically; return its sha256.

    The bytes go to ``dest.part`` first; on a hash mismatch (or any error) the part file is
    removed and nothing appears at ``dest``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(part, "wb") as f:
            while True:
                block = r.read(chunk)
                if not block:
                    break
                h.update(block)
                f.write(block)
        digest = h.hexdigest()
        if expected_sha256 and digest != expected_sha256.lower():
            raise ValueError(f"sha256 mismatch for {url}: expected {expected_sha256}, got {digest}")
        os.replace(part, dest)
        return digest
    finally:
        if part.exists():
            part.unlink()


def _safe_members(names, root: Path):
    for n in names:
        p = (root / n).resolve()
        if root.resolve() not in p.parents and p != root.resolve():
            raise ValueError(f"archive member escapes the target folder: {n}")


def _unpacked_size(archive: Path) -> int:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                return sum(i.file_size for i in z.infolist())
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                return sum(m.size for m in t.getmembers())
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"cannot read archive {archive.name}: {type(e).__name__}: {e}") from None
    raise ValueError(f"not a zip or tar archive: {archive}")


def extract(archive: Path, target: Path) -> list:
    """Extract ``archive`` (zip or tar) into ``target``; entries appear only when complete.

    Everything is unpacked into a temporary folder next to ``target`` and each top-level
    entry is then renamed into ``target`` (existing entries are kept, not overwritten).
    Returns the top-level names placed.
    """
    target.mkdir(parents=True, exist_ok=True)
    need, free = _unpacked_size(archive), shutil.disk_usage(target).free
    if need > free:
        raise OSError(f"{archive.name} unpacks to {need / 2**30:.2f} GB but {target} has {free / 2**30:.2f} GB free")
    placed = []
    with tempfile.TemporaryDirectory(dir=target, prefix=".extract-") as tmp:
        tmp = Path(tmp)
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as z:
                    _safe_members(z.namelist(), tmp)
                    z.extractall(tmp)
            elif tarfile.is_tarfile(archive):
                with tarfile.open(archive) as t:
                    _safe_members(t.getnames(), tmp)
                    t.extractall(tmp, filter="data")      # no links out, no devices, no absolute paths
            else:
                raise ValueError(f"not a zip or tar archive: {archive}")
        except (tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
            raise ValueError(f"cannot extract {archive.name}: {type(e).__name__}: {e}") from None
        for entry in sorted(tmp.iterdir()):
            final = target / entry.name
            if final.exists():
                print(f"keeping existing {final}", file=sys.stderr)
                continue
            os.replace(entry, final)
            placed.append(entry.name)
    return placed


def download_root(data_root=None) -> Path:
    """Where downloads go: the resolved data root, or ``<repo>/data`` when none is set."""
    root = resolve_data_root(data_root, warn=False)
    return root.path if not root.bundled else repo_root() / "data"


def check_sha256(value) -> str:
    """A sha256 given by the user: 64 hex digits (any case)."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value.strip()):
        raise ValueError(f"--sha256 must be 64 hexadecimal digits, got {value!r}")
    return value.strip().lower()


def download(name: str, data_root=None, sha256: str | None = None, keep_archive: bool = False,
             allow_unverified: bool = False) -> Path:
    """Fetch and extract source ``name`` into the data root; returns the target folder.

    The archive is verified against ``sha256`` (or the entry's recorded one); without either the
    download is refused unless ``allow_unverified``, and then its computed sha256 is printed."""
    src = get_source(name)
    root = download_root(data_root)
    if src.kind == "manual":
        raise ValueError(f"{src.name} cannot be downloaded by a script: get it from {src.url} "
                         f"and place it under {root / src.target}")
    expected = check_sha256(sha256) if sha256 is not None else src.sha256
    if not expected and not allow_unverified:
        raise ValueError(f"no confirmed sha256 is recorded for {src.name}, so it cannot be verified: give the "
                         "expected hash with --sha256 HEX, or accept an unverified download with "
                         "--allow-unverified (its sha256 is then printed for you to pin)")
    from sr_lib.paths import check_writable_folder
    check_writable_folder(root, "data root")
    archive = root / ".downloads" / Path(src.url).name
    target = root / src.target
    # the folders this download creates, deepest first: removed again when it leaves them empty
    made = sorted({q for p in (archive.parent, target) for q in (p, *p.parents)
                   if not q.exists() and root in q.parents}, key=lambda q: -len(q.parts))
    try:
        print(f"downloading {src.url} -> {archive}", file=sys.stderr)
        digest = fetch(src.url, archive, expected)
        if expected:
            print(f"sha256 verified: {digest}", file=sys.stderr)
        else:
            plain = " over plain http" if src.url.startswith("http:") else ""
            print(f"sha256 {digest} (UNVERIFIED{plain}: no confirmed checksum is recorded for {src.name}; "
                  f"pin it: --sha256 {digest})", file=sys.stderr)
        placed = extract(archive, target)
    finally:
        if not keep_archive:
            archive.unlink(missing_ok=True)
        for folder in made:                     # a failed (or archive-only) download leaves no empty folder
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    print(f"extracted {', '.join(placed) or 'nothing new'} into {target}", file=sys.stderr)
    return target


def format_table() -> str:
    lines = [f"{'name':28s} {'kind':7s} {'sha256':12s} url"]
    for s in SOURCES.values():
        status = s.sha256[:12] if s.sha256 else "unverified"
        lines.append(f"{s.name:28s} {s.kind:7s} {status:12s} {s.url}")
        lines.append(f"{'':28s} {s.what}" + (f" [{s.note}]" if s.note else ""))
    return "\n".join(lines)


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("data", help="list or download datasets and official checkpoints")
    sub = p.add_subparsers(dest="data_command", required=True)
    q = sub.add_parser("list", help="official sources and checksums")
    q.set_defaults(func=lambda args: print(format_table()) or 0)
    d = sub.add_parser("download", help="download and extract one source into the data root")
    d.add_argument("name", help="a name from `data list`")
    d.add_argument("--data-root", default=None)
    d.add_argument("--sha256", default=None, help="expected sha256 of the archive (verified before extraction)")
    d.add_argument("--allow-unverified", action="store_true",
                   help="download without a known sha256 (refused otherwise); the computed hash is printed to pin")
    d.add_argument("--keep-archive", action="store_true")
    d.set_defaults(func=_run_download)


def _run_download(args) -> int:
    from sr_lib.errors import UserError
    try:
        target = download(args.name, args.data_root, args.sha256, args.keep_archive, args.allow_unverified)
    except OSError as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise UserError(str(e)) from None
    print(target)
    return 0


__all__ = ["Source", "SOURCES", "get_source", "check_sha256", "fetch", "extract", "download", "download_root",
           "format_table"]
