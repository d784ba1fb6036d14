"""The Dockerfile's build commands are the ones these tests run, and they succeed here.

The image is not built on the project's machine (no container runtime). Instead the
Dockerfile is parsed: its RUN lines must install requirements.txt, collect the static files
and run `check --deploy`, and the manage.py ones are run as written (with the Dockerfile's
own build environment) in a copy of the checkout, so the static files land there.
"""

from __future__ import annotations

import re
import shlex
import shutil
from importlib import metadata

import pytest

from tests.deploy.conftest import REPO, VENV_BIN, run

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", "", DOCKERFILE.read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def build_arg(name: str) -> str:
    for instruction, arguments in instructions():
        if instruction == "ARG" and arguments.startswith(f"{name}="):
            return shlex.split(arguments.split("=", 1)[1])[0]
    raise AssertionError(f"no ARG {name} in the Dockerfile")


def runs() -> list[str]:
    return [arguments for instruction, arguments in instructions() if instruction == "RUN"]


def manage_py_runs() -> list[list[str]]:
    """Each RUN of manage.py as argv, $BUILD_ENV expanded the way the shell does (split on spaces)."""
    commands = []
    for command in runs():
        if "manage.py" in command:
            expanded = command.replace("$BUILD_ENV", build_arg("BUILD_ENV"))
            commands.append(shlex.split(expanded))
    return commands


def test_dockerfile_installs_the_pinned_requirements():
    assert "pip install -r requirements.txt" in runs()


def test_dockerfile_collects_static_files_and_runs_the_deploy_check():
    commands = [" ".join(argv[argv.index("python") :]) for argv in manage_py_runs()]
    assert commands == [
        "python manage.py collectstatic --noinput",
        "python manage.py check --deploy --fail-level WARNING",
    ]


def test_every_pinned_requirement_is_what_this_virtualenv_runs():
    """`pip install -r requirements.txt` here would change nothing: the tests run what the image installs."""
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    assert pins
    assert {name: metadata.version(name) for name, _ in pins} == dict(pins)


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory):
    """The checkout as `COPY . .` sees it (.dockerignore'd parts left out), in a temp directory."""
    target = tmp_path_factory.mktemp("image") / "app"
    ignored = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    patterns = {pattern.removeprefix("**/") for pattern in ignored if "/" not in pattern.removeprefix("**/")}
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(*patterns), symlinks=True)
    return target


@pytest.mark.parametrize("index", [0, 1], ids=["collectstatic", "check --deploy"])
def test_the_dockerfile_build_commands_succeed_here(checkout_copy, index):
    argv = manage_py_runs()[index]
    assert argv[0] == "env"
    build_env = dict(
        assignment.split("=", 1) for assignment in argv[1:] if "=" in assignment and not assignment.startswith("-")
    )
    command = [str(VENV_BIN / "python"), *argv[argv.index("python") + 1 :]]
    result = run(command, env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", **build_env}, cwd=checkout_copy, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    if "collectstatic" in command:
        assert (checkout_copy / "staticfiles" / "staticfiles.json").exists()  # the manifest whitenoise serves from
    else:
        assert "System check identified no issues" in result.stdout
