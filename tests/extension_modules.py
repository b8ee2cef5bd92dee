"""Import the template's Copier extensions by file path, as Copier's extension loader does.

extensions/ is not an importable package, so tests load its modules by path.
"""

from __future__ import annotations

import sys
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType

EXTENSIONS_DIR = Path(__file__).resolve().parent.parent / "extensions"


def load_extension(name: str) -> ModuleType:
    """Import extensions/<name>.py by path."""
    return load_module(EXTENSIONS_DIR / f"{name}.py")


def load_module(path: Path) -> ModuleType:
    """Import the Python file at `path` (extensions/, migrations/: not packages) by path."""
    spec = spec_from_file_location(f"golden_path_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module
