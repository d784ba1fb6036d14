"""What the deployment tests share: the repo, a production environment built from deploy/alertsite.env.example."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DEPLOY = REPO / "deploy"
ENV_EXAMPLE = DEPLOY / "alertsite.env.example"
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "deploy-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
ENCRYPTION_KEY = base64.urlsafe_b64encode(b"d" * 32).decode()


def env_file_values(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=value lines the way systemd's EnvironmentFile= reads them (no quotes, no expansion)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def production_env(**overrides: str) -> dict[str, str]:
    """The example environment file with its keys filled in (as install-debian.sh does), and `overrides`."""
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        **env_file_values(),
        "SECRET_KEY": SECRET_KEY,
        "ALERTSITE_ENCRYPTION_KEY": ENCRYPTION_KEY,
        **overrides,
    }


def run(
    args: list[str], env: dict[str, str], cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
