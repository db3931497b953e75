"""``python -m app.model_export``."""

from app.model_export import main

raise SystemExit(main())
