"""Make the top-level ``loadtests`` package importable under a bare ``pytest``."""

from __future__ import annotations

import sys

from app.settings import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
