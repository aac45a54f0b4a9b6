"""Usage sources: where a vendor already keeps usage (a file, a SQL database, an HTTP endpoint),
read and routed to partners for ``gradient-desktop sync`` (issue #13). Qt-free."""

from gradient_desktop.services.sources.config import FieldMap, SourceConfig, SourceError
from gradient_desktop.services.sources.store import Preview, RunStore, SourceStore, preview

__all__ = [
    "FieldMap",
    "Preview",
    "RunStore",
    "SourceConfig",
    "SourceError",
    "SourceStore",
    "preview",
]
