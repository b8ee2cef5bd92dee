"""The top-level names a rendered project's environment can import, and the generated list.

`extensions/dependencies/import_names.txt` holds the union of these names over every
variant's installed environment (each engine with each orchestrator, the dev group too, and
every source and destination), so `package_name` refuses every name that would shadow a
module the project may import at run or test time, transitive dependencies included.
Regenerate it, after a change to any dependency list, with:

    uv run python tests/import_names.py extensions/dependencies/import_names.txt

It renders one project per engine and orchestrator (the pairs of source and destination
cycled along, so each pair appears at least once) and one streaming project per stream
source, installs each with `uv sync` into one scratch environment per orchestrator (and one
for streaming; uv's cache makes the later syncs cheap) and lists that environment's
site-packages.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
IMPORT_NAMES_FILE = REPO_ROOT / "extensions" / "dependencies" / "import_names.txt"

# Entries of site-packages that are no importable top-level name.
_NOT_MODULES = ("__pycache__", "_distutils_hack", "distutils-precedence")
_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")

# The package every variant is rendered with (the default answer).
DEFAULT_PACKAGE = "orders_pipeline"

HEADER = """\
# Top-level import names of every rendered project's environment (every engine, orchestrator,
# source, stream source and destination; runtime and dev groups): a package_name equal to one
# of them would shadow the real module. Generated, do not edit. Regenerate after changing a
# dependency:
#     uv run python tests/import_names.py extensions/dependencies/import_names.txt
"""


def site_packages(environment: Path) -> Path:
    """The site-packages folder of the virtual environment at `environment`."""
    found = sorted(environment.glob("lib/python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no site-packages under {environment}")
    return found[0]


def importable_names(folder: Path) -> set[str]:
    """Top-level names importable from `folder`: packages (regular and namespace), modules
    and extension modules (`name.cpython-311-x86_64-linux-gnu.so` is `name`)."""
    names: set[str] = set()
    for entry in folder.iterdir():
        if entry.name.endswith((".dist-info", ".egg-info", ".pth", ".data")):
            continue
        if entry.is_dir():
            name = entry.name
        elif entry.name.endswith(_MODULE_SUFFIXES):
            name = entry.name.split(".", 1)[0]
        else:
            continue
        if name.isidentifier() and name not in _NOT_MODULES:
            names.add(name)
    return names


def read_import_names(path: Path = IMPORT_NAMES_FILE) -> set[str]:
    """The names listed in the generated file (comments and blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def write_import_names(names: Iterable[str], path: Path) -> None:
    """Write the generated file: the header, then one name a line, sorted."""
    body = "".join(f"{name}\n" for name in sorted(set(names)))
    path.write_text(HEADER + body, encoding="utf-8")


def _variants() -> list[dict[str, str]]:
    """Each orchestrator with each engine, sources and destinations cycled along; and a
    streaming project per stream source."""
    sys.path.insert(0, str(Path(__file__).parent))
    import answer_space

    def choices(key: str) -> list[str]:
        return [str(value) for value in answer_space.QUESTIONS[key].choices]

    connectors = itertools.cycle(itertools.product(choices("source"), choices("destination")))
    variants = []
    for orchestrator in choices("orchestrator"):
        for engine in choices("engine"):
            source, destination = next(connectors)
            variants.append(
                {
                    "orchestrator": orchestrator,
                    "engine": engine,
                    "source": source,
                    "destination": destination,
                }
            )
    # A streaming project has no orchestrator and no source: its stream source's packages
    # (the broker client, and the test broker in the dev group) are what it adds.
    for stream_source in choices("stream_source"):
        variants.append(
            {"pipeline_type": "streaming", "stream_source": stream_source, "engine": "polars"}
        )
    return variants


def generate(scratch: Path) -> set[str]:
    """Render, install and list every variant (see the module docstring)."""
    from template_fixtures import render

    names: set[str] = set()
    for index, answers in enumerate(_variants()):
        # The working tree as it is (vcs_ref None: uncommitted dependency edits included).
        project = render(REPO_ROOT, scratch / f"project-{index}", answers, None, skip_tasks=True)
        environment = scratch / f"env-{answers.get('orchestrator', 'streaming')}"
        env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
        env["UV_PROJECT_ENVIRONMENT"] = str(environment)
        subprocess.run(["uv", "sync", "-q"], cwd=project, env=env, check=True)
        # The project itself is installed too: its package is no dependency.
        found = importable_names(site_packages(environment)) - {DEFAULT_PACKAGE}
        print(f"{answers}: {len(found)} names", file=sys.stderr)
        names |= found
    return names


def main(argv: list[str]) -> int:
    """Regenerate the file named in argv[1]."""
    with tempfile.TemporaryDirectory(prefix="import-names-") as scratch:
        names = generate(Path(scratch))
    write_import_names(names, Path(argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
