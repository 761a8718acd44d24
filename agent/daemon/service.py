"""The systemd user unit: rendered from the packaged template, installed for the user.

The template (systemd/touchbase.service in the repository, shipped as
agent/data/touchbase.service) has two placeholders: @EXEC_START@ (this installation's
`touchbase` with --config when one was given) and @READ_WRITE_PATHS@ (the data and config
folders, the only places the hardened service may write).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from agent.configuration.loader import Config, default_config_path

UNIT_NAME = "touchbase.service"
_PLAIN = re.compile(r"^[A-Za-z0-9_/.:,+=@-]+$")


def template_text() -> str:
    """The unit template shipped with the package."""
    return resources.files("agent").joinpath("data/touchbase.service").read_text(encoding="utf-8")


def touchbase_command() -> list[str]:
    """How to start this installation: its `touchbase` script, else `python -m agent`."""
    script = Path(sys.executable).parent / "touchbase"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "agent"]


def service_folders(config: Config, config_path: Path | None) -> list[Path]:
    """Every folder the service writes: data folder, config folder, outbox, token files."""
    folders = [config.data_dir, (config_path or default_config_path()).parent, config.outbox_path]
    for source in config.sources:
        for key in ("token_file", "token_cache"):
            value = source.options.get(key)
            if value:
                folders.append(Path(value).expanduser().parent)
    return [folder.expanduser().absolute() for folder in folders]


def writable_paths(config: Config, config_path: Path | None) -> list[Path]:
    """The unit's ReadWritePaths: `service_folders` without those inside another."""
    folders = service_folders(config, config_path)
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique and not any(other in folder.parents for other in folders):
            unique.append(folder)
    return unique


def render_unit(command: list[str], writable: list[Path], template: str | None = None) -> str:
    """The unit text for `command` (argv) with `writable` as the only writable paths."""
    text = template if template is not None else template_text()
    exec_start = " ".join(quote(arg, in_exec=True) for arg in command)
    paths = "\n".join(f"ReadWritePaths={quote('-' + str(p))}" for p in writable)
    return text.replace("@EXEC_START@", exec_start).replace("@READ_WRITE_PATHS@", paths)


def unit_for(config: Config, config_path: Path | None) -> str:
    """The unit that runs `touchbase run` for this config (`config_path` None: the default)."""
    command = touchbase_command()
    if config_path is not None:
        command += ["--config", str(config_path.expanduser().absolute())]
    command.append("run")
    return render_unit(command, writable_paths(config, config_path))


def user_unit_dir() -> Path:
    """Where systemd looks for the user's own units ($XDG_CONFIG_HOME/systemd/user)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def install_unit(text: str, unit_dir: Path, writable: Sequence[Path] = ()) -> Path:
    """Write the unit atomically into `unit_dir` and create the writable folders it names."""
    for folder in writable:
        folder.mkdir(parents=True, exist_ok=True)
    unit_dir.mkdir(parents=True, exist_ok=True)
    target = unit_dir / UNIT_NAME
    fd, tmp = tempfile.mkstemp(prefix=".touchbase-", dir=unit_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def quote(arg: str, in_exec: bool = False) -> str:
    """One word for a unit file: specifiers (%), in Exec lines variables ($), escaped; quoted when needed."""
    escaped = arg.replace("%", "%%")
    if in_exec:
        escaped = escaped.replace("$", "$$")
    if _PLAIN.match(escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
