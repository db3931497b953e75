"""Index lifecycle: create, migrate, roll back, import and report index versions.

:mod:`.index_versions` holds the commands (:class:`Lifecycle`); :mod:`.verification`
the checks a new index passes before its alias switch; :mod:`.copy` copying one
index into another; :mod:`.field_map` reading an old index's fields on import;
:mod:`.reports` what each step reports.
"""

from app.lifecycle.field_map import FieldMap
from app.lifecycle.index_versions import Lifecycle
from app.lifecycle.reports import LifecycleError, MigrationReport, Verification

__all__ = ["FieldMap", "Lifecycle", "LifecycleError", "MigrationReport", "Verification"]
