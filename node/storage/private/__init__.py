"""Private data: accounts, credentials and the audit log, event-sourced.

Owns what the node keeps about people (DESIGN §4, §6), in the eventsourcing
application ``PrivateData`` and its own file ``<data_dir>/private.db``. None
of it ever enters a feed, a federation response or a peer's hands.

- ``app``: the application, configured from Settings alone, with no
  aggregate cache (a revocation by the command line counts at once), and
  encrypted at rest (AES-256-GCM) when the settings' key file exists. Ids,
  versions and topics stay in clear and carry no personal data.
- ``aggregates``: accounts, API tokens, audit entries, invites, reset codes
  and sessions, with explicit topics (``tredegar.private:…``) so they can move
  without migrating stored events.
- ``vault``: each member's own key, in a table where deleting is real, and
  sealing personal data with it; erasure destroys the key.
- ``store`` (``PrivateStore``: tokens, audit log, export), ``members``
  (accounts, roles, erasure), ``credentials`` (invites, reset codes,
  passwords, sessions), ``rsvps`` (members' named RSVPs, sealed, and
  their counts), ``ideas`` (members' supports and votes, sealed),
  ``pledges`` (members' pledges, sealed) and ``casework``
  (organisers' 1-to-1s and cases, each sealed with a key of its own).

Secrets are kept only as SHA-256 and found by ``uuid5(namespace, hash)``: one
fast hash and one load per request. A fast hash is safe for a 256-bit random
secret; passwords, which people choose, get argon2id.
"""

from node.storage.private.aggregates import (
    ROLES,
    TOKEN_NAMESPACE,
    Account,
    ApiToken,
    AuditEntry,
    Invite,
    ResetCode,
    Session,
)
from node.storage.private.app import DB_FILE, PrivateData, create_encryption_key
from node.storage.private.casework import (
    KINDS,
    ActivityCounts,
    CaseworkStore,
    StoredRecord,
)
from node.storage.private.credentials import Credentials, csrf_token
from node.storage.private.ideas import IdeaBook, IdeaStore
from node.storage.private.members import Members
from node.storage.private.pledges import PledgeBook, PledgeStore
from node.storage.private.records import (
    AuditRecord,
    Export,
    HeldPledge,
    IdeaSupport,
    InviteInfo,
    IssuedCode,
    IssuedInvite,
    IssuedSession,
    IssuedToken,
    MemberInfo,
    NamedRsvp,
    Pledge,
    Rsvp,
    RsvpCounts,
    SessionInfo,
    TokenGrant,
    TokenInfo,
    Vote,
)
from node.storage.private.rsvps import ANSWERS, Occasion, RsvpBook, RsvpStore
from node.storage.private.store import PrivateStore

__all__ = [
    "ANSWERS",
    "DB_FILE",
    "KINDS",
    "ROLES",
    "TOKEN_NAMESPACE",
    "Account",
    "ActivityCounts",
    "ApiToken",
    "AuditEntry",
    "AuditRecord",
    "CaseworkStore",
    "Credentials",
    "Export",
    "HeldPledge",
    "IdeaBook",
    "IdeaStore",
    "IdeaSupport",
    "Invite",
    "InviteInfo",
    "IssuedCode",
    "IssuedInvite",
    "IssuedSession",
    "IssuedToken",
    "MemberInfo",
    "Members",
    "NamedRsvp",
    "Occasion",
    "Pledge",
    "PledgeBook",
    "PledgeStore",
    "PrivateData",
    "PrivateStore",
    "ResetCode",
    "Rsvp",
    "RsvpBook",
    "RsvpCounts",
    "RsvpStore",
    "Session",
    "SessionInfo",
    "StoredRecord",
    "TokenGrant",
    "TokenInfo",
    "Vote",
    "create_encryption_key",
    "csrf_token",
]
