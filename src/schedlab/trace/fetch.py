"""Downloading public traces, verified against SHA-256 checksums shipped with schedlab."""

from __future__ import annotations

import logging
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pooch
import requests

from schedlab.errors import ConfigError, SchedlabError
from schedlab.files import file_sha256 as sha256

log = logging.getLogger(__name__)


class FetchError(SchedlabError):
    """A download failed: server unreachable, file missing there, or checksum mismatch."""


@dataclass(frozen=True)
class Dataset:
    """A set of files under one base URL, each with its SHA-256; ``extract`` names, per
    archive (``.tar.gz``), the file to take out of it and that file's SHA-256."""

    name: str
    base_url: str
    files: dict[str, str]
    description: str
    extract: dict[str, tuple[str, str]] = field(default_factory=dict)


OPENB_2023 = Dataset(
    name="openb-2023",
    base_url="https://raw.githubusercontent.com/alibaba/clusterdata/master/cluster-trace-gpu-v2023/csv/",
    description="Alibaba GPU cluster trace v2023 (openb): 2 node lists and 24 pod lists",
    files={
        "openb_node_list_all_node.csv": "5a85c2af79c66a1efff8bbcbda430400aae56d8431370d738480967e1a9c6b15",
        "openb_node_list_gpu_node.csv": "2beca64b4d3dfa342036a34b56a495c6cef9225db836c81f541282cb1df320b5",
        "openb_pod_list_cpu0.csv": "1bc3fd9ee5c1468ccd018f624d9222746e08d59f963f66b925804734271c0eaa",
        "openb_pod_list_cpu037.csv": "8ed554026d041b15ff21ddc104d9a21dbd9a93c496262fa23ef7b5be27e220dc",
        "openb_pod_list_cpu050.csv": "747f43247bffc2b0bb081d7f61f0705ca8d390dafc0b647e642c92f3baf3ba1e",
        "openb_pod_list_cpu072.csv": "f8a2b031461b54d7b9f06d55473c2371eb3357b78a255c646bdca5e0833a8a2f",
        "openb_pod_list_cpu100.csv": "bec1c33fbdde61fd463877534ec79b393aec73e1cbb22d55fab9f166ac480982",
        "openb_pod_list_cpu200.csv": "b7e9d8a1a601da84d6e0b4110b19ef5001be5e4796d33e7b82f166ba95161f87",
        "openb_pod_list_cpu235.csv": "87bebd4d012faa8305ce1fd82737f51cf03361aac28b75d42e34aa656d7f4ee0",
        "openb_pod_list_cpu250.csv": "134c21ff96d57533df8a37b67632972884fec9396e77cd0898ddc370cc8e607d",
        "openb_pod_list_cpu300.csv": "76528825f40ee662cb098b3b6e683c1efd9f87a0c8af7e628df1f32c639636d1",
        "openb_pod_list_default.csv": "1ee7ed79c27a3b0861cda8ddba86a004c6aba904caafa329a76ae93ca63834a8",
        "openb_pod_list_gpushare100.csv": "12dbc07d6a49bf8641e2275a2ff5bf7be74b5df7d148d531e135b140b95f9a3d",
        "openb_pod_list_gpushare20.csv": "9be2d0efb52e242c32e23dd184cc5fcc1983478c6c9c02cbb6b4b62925c0ffcd",
        "openb_pod_list_gpushare40.csv": "d83ce79a4eb6987524bedbb0c65e41aed3a36bf6c1b78b86234c3687a07e1d40",
        "openb_pod_list_gpushare60.csv": "d31809628128a1f24491086eda4af3e23882b9213d3ef57a56ee2d1af69492fe",
        "openb_pod_list_gpushare80.csv": "88b6649369ced40d0fde287d2498ea61ff4b05fccba8bdc95daf6042f2f8431e",
        "openb_pod_list_gpuspec05.csv": "8f1c0ef7e4e511e982bd2818898ba22ee6d273bf5fce124b7ace285b5928cf4e",
        "openb_pod_list_gpuspec10.csv": "2dc7e4cb9480484f08539720b433a9ec9ab5d76b396f3f7557c53a2ff78a7611",
        "openb_pod_list_gpuspec20.csv": "6b9b89ab8913c1c074e994e98f548cf1a872fc5f76f2442ca8cd514a478b00a9",
        "openb_pod_list_gpuspec25.csv": "9d030679a2ccd7e27a7ec9ff15baff34480d22a0012515691fc187e3f35ee68c",
        "openb_pod_list_gpuspec33.csv": "eca4f746db1e5b25864ad021b55ece3943e101a3ebd4574d09dcb95c46117652",
        "openb_pod_list_multigpu20.csv": "d9ec6f6c74fb980cc0b81239470c6353fceea077ea9abd610003b604c7cc2b01",
        "openb_pod_list_multigpu30.csv": "a5e479c6444b1d83eef848159cf00c3cfa13441b2d1e2c113c391b91f1cc5b11",
        "openb_pod_list_multigpu40.csv": "32c9e8731ca07ef96108aa65f2a289bb9aacb47f642ed9e3789f99b242df60eb",
        "openb_pod_list_multigpu50.csv": "206f2f5959db30ecb7c44e7f13197c8ec50b7a35558ad3777cc3662ef0fe5373",
    },
)
#: Alibaba PAI 2020: the job, task and machine tables (the instance and sensor tables, 663 and
#: 388 MB, are not replayed). Checksums of the archives and of the CSVs in them: the upstream
#: README (cluster-trace-gpu-v2020).
PAI_2020 = Dataset(
    name="pai-2020",
    base_url="https://aliopentrace.oss-cn-beijing.aliyuncs.com/v2020GPUTraces/",
    description="Alibaba PAI GPU cluster trace v2020: job, task and machine tables (headerless CSVs)",
    files={
        "pai_job_table.tar.gz": "5aad7f7caac501136d14ed6a48e40546f825d7b0617a3a4f337e2348fe0a6cb0",
        "pai_task_table.tar.gz": "cd1d6dc3215d2a8607ccf6b6dd952b5db776df86926c73259fea7c1499ac40e5",
        "pai_machine_spec.tar.gz": "cc0d38a4045af1b1af8179de8b1b54b1ddd995e6160d6d061a6b1000f1276c2d",
    },
    extract={
        "pai_job_table.tar.gz": (
            "pai_job_table.csv",
            "379ecb3becaba347f44a53bf7eb53e54b185221b2a0338a3f828828d269ba96c",
        ),
        "pai_task_table.tar.gz": (
            "pai_task_table.csv",
            "6954802b457305f8a9e480ef97c40060baee59649fd3adc62c5a1e048aa058de",
        ),
        "pai_machine_spec.tar.gz": (
            "pai_machine_spec.csv",
            "251e9e33649155a6a935fdc1dc0e90cd4698206936b60bd8fce60ff2ccd51439",
        ),
    },
)
DATASETS = {OPENB_2023.name: OPENB_2023, PAI_2020.name: PAI_2020}


def fetch(
    name: str,
    dest: Path,
    base_url: str | None = None,
    timeout: float = 30.0,
    on_file: Callable[[str, str], None] | None = None,
) -> dict[str, str]:
    """Download dataset ``name`` into ``dest``; return each file's status.

    Files already present with the right checksum are kept ("present"); others are
    downloaded ("downloaded") and verified. ``on_file(file, status)`` is called per file.
    """
    try:
        dataset = DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})") from None
    base = (base_url or dataset.base_url).rstrip("/") + "/"
    dest.mkdir(parents=True, exist_ok=True)
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=timeout)
    status: dict[str, str] = {}
    for file, digest in dataset.files.items():
        target = dest / file
        if target.is_file() and sha256(target) == digest:
            status[file] = "present"
        else:
            url = base + file
            try:
                pooch.retrieve(
                    url, known_hash=f"sha256:{digest}", fname=file, path=dest, downloader=downloader
                )
            except requests.exceptions.HTTPError as err:
                raise FetchError(f"{url}: {err}") from None
            except requests.exceptions.RequestException as err:
                raise FetchError(
                    f"cannot reach {base} ({type(err).__name__}); offline? "
                    "Use --base-url for a mirror, or copy the files into the destination"
                ) from None
            except ValueError as err:  # pooch: checksum mismatch after download
                if "hash" not in str(err).lower():
                    raise
                raise FetchError(
                    f"{url}: downloaded file does not match its SHA-256 checksum {digest}"
                ) from None
            status[file] = "downloaded"
        if file in dataset.extract:
            unpack(dest / file, dest, *dataset.extract[file])
        if on_file is not None:
            on_file(file, status[file])
    return status


def unpack(archive: Path, dest: Path, member: str, digest: str) -> Path:
    """Take ``member`` out of a ``.tar.gz`` into ``dest`` (unless present with ``digest``),
    verified against ``digest``; written under a temporary name, then renamed."""
    target = dest / member
    if target.is_file() and sha256(target) == digest:
        return target
    tmp = dest / f".{member}.part"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            found = next((m for m in tar.getmembers() if m.isfile() and Path(m.name).name == member), None)
            source = tar.extractfile(found) if found is not None else None
            if source is None:
                raise FetchError(f"{archive}: holds no file {member}")
            with tmp.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
    except (tarfile.TarError, OSError, EOFError) as err:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"{archive}: cannot unpack {member}: {err}") from None
    if sha256(tmp) != digest:
        tmp.unlink()
        raise FetchError(f"{archive}: {member} does not match its SHA-256 checksum {digest}")
    tmp.replace(target)
    return target
