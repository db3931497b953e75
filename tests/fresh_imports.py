"""What a fresh interpreter imports: for tests that keep heavy libraries off a path.

A plain module (not a conftest) so test modules can import it by name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Sequence

from app.settings import PROJECT_ROOT


def modules_loaded_by(statements: str, modules: Sequence[str]) -> list[str]:
    """Which of ``modules`` are imported after ``statements`` run in a new Python process."""
    code = f"import json, sys\n{statements}\nprint(json.dumps(sorted(m for m in {tuple(modules)!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
