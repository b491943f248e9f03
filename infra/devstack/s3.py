"""moto's standalone S3 server as a child process on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys

from infra.devstack.ports import free_port, wait_for_port

DEV_ACCESS_KEY = "dev-access-key"
DEV_SECRET_KEY = "dev-secret-key"  # noqa: S105 - a local throwaway server's credential


class EmbeddedS3:
    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": DEV_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": DEV_SECRET_KEY}
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # we stop it ourselves, in order, on Ctrl-C
        )
        process = self._process
        wait_for_port(self.port, timeout_s=30, alive=lambda: process.poll() is None)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None
