"""Read models: the node's queryable views of the events it holds.

Projections follow the node's log (the order it stored events) into one
SQLite file, ``<data_dir>/readmodels.db``, recording their position in the
same transaction as every write, so they can be dropped and rebuilt
(``tredegar reindex``) and never miss or double-count an event after a crash
(DESIGN §4). :mod:`.runner` holds the design note.

Models today: the public events listing (:mod:`.events`), the directory of
groups (:mod:`.groups`) and full-text search (:mod:`.search`). The domain work
adds meetings, campaigns, needs and offers … the same way: a module with
``create``, ``apply``, ``finish`` and ``reset``, its SQL in :mod:`.sql`, and
an entry in :data:`.recorder.MODELS`.

The HTTP layer uses :class:`ReadModels` for queries and
:meth:`Projector.caught_up` to wait until an event it saved is visible.
"""

from node.projections.events import EventItem, EventsPage
from node.projections.groups import Group, GroupsPage
from node.projections.model import READMODELS_FILE, InvalidCursorError, Projected
from node.projections.readmodels import ReadModels
from node.projections.runner import EventLog, Projector, reindex
from node.projections.search import SearchHit

__all__ = [
    "READMODELS_FILE",
    "EventItem",
    "EventLog",
    "EventsPage",
    "Group",
    "GroupsPage",
    "InvalidCursorError",
    "Projected",
    "Projector",
    "ReadModels",
    "SearchHit",
    "reindex",
]
