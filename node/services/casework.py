"""1-to-1s and casework: organisers' private work.

1-to-1s and cases live in private data only
(:mod:`node.storage.private.casework`), each sealed with a key of its own;
every command and query here is for the group's organisers, and each is
written to the audit log (who, what, which record: never a name or a note).
Nothing of it enters a feed: what a group may publish is the counts of a
period, ``group.activity_reported``, and the public reads those reports
back from the activity read model (:mod:`.casework_activity` serves them).

Changes are serialised by one lock, so a read-change-write of a record never
loses a change made beside it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from uuid import UUID

from node.errors import ConflictError, NotFoundError
from node.services import casework_fields as fields
from node.services.casework_activity import ActivityReports
from node.services.casework_fields import TEXT, TIME
from node.storage.private import StoredRecord, TokenGrant
from protocol import JsonObject, JsonValue, SchemaViolationError

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["Casework"]

ONE_TO_ONE, CASE = "one_to_one", "case"


class Casework:
    """The 1-to-1s, cases and activity reports of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node
        self._lock = asyncio.Lock()
        #: The counts of a period, publishing them, and the published reports.
        self.reports = ActivityReports(node)

    # --- 1-to-1s -----------------------------------------------------------

    async def record_one_to_one(
        self, grant: TokenGrant, request: JsonValue
    ) -> JsonObject:
        """Record a 1-to-1 (organisers).

        The request is ``{person, held_at, interests?, notes?, follow_ups?:
        [{text, due_at?}], member?}``.

        Returns:
            The 1-to-1 as :func:`~.casework_fields.one_to_one_answer` shapes it.

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError, SchemaViolationError: The request is refused.
        """
        fields.organiser_only(grant)
        given = fields.checked(request, fields.NEW_ONE_TO_ONE, ("person", "held_at"))
        content = {
            "person": given["person"],
            "member": await self._member(given.get("member")),
            "interests": given.get("interests", []),
            "notes": given.get("notes"),
            "follow_ups": given.get("follow_ups", []),
        }
        record = await self._create(grant, ONE_TO_ONE, given["held_at"], content)
        return fields.one_to_one_answer(record)

    async def list_one_to_ones(
        self,
        grant: TokenGrant,
        *,
        starts_at: int | None = None,
        ends_at: int | None = None,
        q: str | None = None,
        open_follow_ups: bool = False,
        after: str | None = None,
        limit: int = 50,
    ) -> JsonObject:
        """1-to-1s held in ``[starts_at, ends_at)``, latest first (organisers).

        Args:
            grant: Who asks.
            starts_at: Held at or after (ms), or None.
            ends_at: Held before (ms), or None.
            q: Words that must all appear in the person, interests, notes or
                follow-ups.
            open_follow_ups: Only those with a follow-up not yet done.
            after: The ``next`` of the previous page.
            limit: The page size.

        Returns:
            ``{"one_to_ones": [...], "next": cursor or None}``.

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError: A cursor this node did not hand out.
        """
        records = await self._records(grant, ONE_TO_ONE, "one-to-ones")
        end = fields.MAX_TIME + 1 if ends_at is None else ends_at
        chosen = [
            r
            for r in records
            if (starts_at or 0) <= r.at < end
            and fields.matches(q, r.content)
            and (not open_follow_ups or fields.has_open_follow_ups(r))
        ]
        found, cursor = fields.page(chosen, after, limit)
        items: list[JsonValue] = [fields.one_to_one_answer(r) for r in found]
        return {"one_to_ones": items, "next": cursor}

    async def get_one_to_one(self, grant: TokenGrant, text_id: str) -> JsonObject:
        """One 1-to-1 (organisers).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such 1-to-1 (deleted, or its member erased).
        """
        record = await self._get(grant, ONE_TO_ONE, text_id, "read")
        return fields.one_to_one_answer(record)

    async def change_one_to_one(
        self, grant: TokenGrant, text_id: str, request: JsonValue
    ) -> JsonObject:
        """Change a 1-to-1: its notes, interests, follow-ups (organisers).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such 1-to-1.
            MalformedError, SchemaViolationError: The request is refused.
        """
        fields.organiser_only(grant)
        given = fields.checked(request, fields.CHANGE_ONE_TO_ONE)
        async with self._lock:
            record = await self._get(grant, ONE_TO_ONE, text_id, None)
            content = dict(record.content)
            for name in ("person", "interests", "notes"):
                if name in given:
                    content[name] = given[name]
            if "member" in given:
                content["member"] = await self._member(given["member"])
            held = [dict(item) for item in content.get("follow_ups", [])]
            fields.follow_ups(held, given, self.node.clock())
            content["follow_ups"] = held
            at = given.get("held_at", record.at)
            changed = await self._write(grant, record, content, at=at)
        return fields.one_to_one_answer(changed)

    async def delete_one_to_one(self, grant: TokenGrant, text_id: str) -> None:
        """Delete a 1-to-1 for good (organisers).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such 1-to-1.
        """
        await self._delete(grant, ONE_TO_ONE, text_id)

    # --- cases -------------------------------------------------------------

    async def open_case(self, grant: TokenGrant, request: JsonValue) -> JsonObject:
        """Open a case (organisers).

        The request is ``{person, problem, category?, opened_at?, next_step?,
        next_step_at?, member?}``; ``opened_at`` is now by default.

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError, SchemaViolationError: The request is refused.
        """
        fields.organiser_only(grant)
        given = fields.checked(request, fields.NEW_CASE, ("person", "problem"))
        content = {
            "person": given["person"],
            "member": await self._member(given.get("member")),
            "problem": given["problem"],
            "category": given.get("category"),
            "next_step": given.get("next_step"),
            "next_step_at": given.get("next_step_at"),
            "outcome": None,
            "actions": [],
        }
        opened_at = given.get("opened_at", self.node.clock())
        return fields.case_answer(await self._create(grant, CASE, opened_at, content))

    async def list_cases(
        self,
        grant: TokenGrant,
        *,
        status: str | None = None,
        category: str | None = None,
        q: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> JsonObject:
        """Cases, latest opened first (organisers).

        Args:
            grant: Who asks.
            status: "open" or "closed", or None for both.
            category: The category, in any case, or None.
            q: Words that must all appear in what the case holds.
            after: The ``next`` of the previous page.
            limit: The page size.

        Returns:
            ``{"cases": [...], "next": cursor or None}``.

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError: A cursor this node did not hand out.
        """
        records = await self._records(grant, CASE, "cases")
        fold = category.casefold() if category else None
        chosen = [
            r
            for r in records
            if (status is None or r.status == status)
            and (fold is None or (r.content.get("category") or "").casefold() == fold)
            and fields.matches(q, r.content)
        ]
        found, cursor = fields.page(chosen, after, limit)
        items: list[JsonValue] = [fields.case_answer(r) for r in found]
        return {"cases": items, "next": cursor}

    async def get_case(self, grant: TokenGrant, text_id: str) -> JsonObject:
        """One case (organisers).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such case (deleted, or its member erased).
        """
        return fields.case_answer(await self._get(grant, CASE, text_id, "read"))

    async def add_case_action(
        self, grant: TokenGrant, text_id: str, request: JsonValue
    ) -> JsonObject:
        """Log what was done on a case, ``{text, at?}`` (organisers).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such case.
            ConflictError: The case holds the most actions it may.
            MalformedError, SchemaViolationError: The request is refused.
        """
        fields.organiser_only(grant)
        given = fields.checked(request, {"text": TEXT, "at": TIME}, ("text",))
        async with self._lock:
            record = await self._get(grant, CASE, text_id, None)
            actions = list(record.content.get("actions", []))
            if len(actions) >= fields.MAX_ACTIONS:
                raise ConflictError(
                    f"a case holds at most {fields.MAX_ACTIONS} actions"
                )
            at = given.get("at", self.node.clock())
            actions.append({"text": given["text"], "at": at})
            actions.sort(key=lambda action: action["at"])
            content = {**record.content, "actions": actions}
            changed = await self._write(grant, record, content, at=record.at)
        return fields.case_answer(changed)

    async def change_case(
        self, grant: TokenGrant, text_id: str, request: JsonValue
    ) -> JsonObject:
        """Change a case: next step, close with an outcome, reopen (organisers).

        Closing needs an ``outcome``; reopening forgets it. An open case
        takes no outcome (``conflict``).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such case.
            ConflictError: An outcome for a case left open.
            MalformedError, SchemaViolationError: The request is refused.
        """
        fields.organiser_only(grant)
        given = fields.checked(request, fields.CHANGE_CASE)
        status = given.get("status")
        if status is not None and status not in fields.STATUSES:
            raise SchemaViolationError("status is open or closed", field_path="status")
        async with self._lock:
            record = await self._get(grant, CASE, text_id, None)
            content = dict(record.content)
            for name in ("person", "problem", "category", "next_step", "next_step_at"):
                if name in given:
                    content[name] = given[name]
            if "member" in given:
                content["member"] = await self._member(given["member"])
            fields.settle_outcome(content, record, given, status)
            changed = await self._write(
                grant, record, content, at=record.at, status=status
            )
        return fields.case_answer(changed)

    async def delete_case(self, grant: TokenGrant, text_id: str) -> None:
        """Delete a case for good (organisers).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such case.
        """
        await self._delete(grant, CASE, text_id)

    # --- helpers -----------------------------------------------------------

    async def _create(
        self, grant: TokenGrant, kind: str, at: int, content: dict[str, Any]
    ) -> StoredRecord:
        node = self.node
        async with self._lock:
            record: StoredRecord = await node.read(
                node.private.casework.create,
                kind,
                at,
                content,
                created_by=str(grant.account_id),
                now=node.clock(),
            )
        await self._audit(grant, f"{kind}.created", str(record.id))
        return record

    async def _records(
        self, grant: TokenGrant, kind: str, what: str
    ) -> list[StoredRecord]:
        fields.organiser_only(grant)
        records: list[StoredRecord] = await self.node.read(
            self.node.private.casework.records, kind
        )
        await self._audit(grant, f"{kind}.listed", what)
        return records

    async def _get(
        self, grant: TokenGrant, kind: str, text_id: str, action: str | None
    ) -> StoredRecord:
        fields.organiser_only(grant)
        record_id = fields.record_id(text_id)
        record = None
        if record_id is not None:
            record = await self.node.read(
                self.node.private.casework.get, kind, record_id
            )
        if record is None:
            raise NotFoundError(f"no {kind.replace('_', '-')} {text_id[:40]!r}")
        if action is not None:  # a change or deletion is audited as such
            await self._audit(grant, f"{kind}.{action}", str(record.id))
        return record

    async def _write(
        self,
        grant: TokenGrant,
        record: StoredRecord,
        content: dict[str, Any],
        *,
        at: int,
        status: str | None = None,
    ) -> StoredRecord:
        node = self.node
        changed: StoredRecord = await node.read(
            node.private.casework.write,
            record.kind,
            record.id,
            content,
            at=at,
            status=status,
            now=node.clock(),
        )
        await self._audit(grant, f"{record.kind}.changed", str(record.id))
        return changed

    async def _delete(self, grant: TokenGrant, kind: str, text_id: str) -> None:
        async with self._lock:
            record = await self._get(grant, kind, text_id, None)
            node = self.node
            await node.read(
                node.private.casework.delete, kind, record.id, now=node.clock()
            )
        await self._audit(grant, f"{kind}.deleted", str(record.id))

    async def _member(self, text: str | None) -> str | None:
        account = fields.account_field(text)
        if account is None:
            return None
        held = await self.node.read(self.node.private.members.info, UUID(account))
        if held is None:
            raise SchemaViolationError(
                "member must be an account of this node", field_path="member"
            )
        return account

    async def _audit(self, grant: TokenGrant, action: str, target: str) -> None:
        node = self.node
        await node.read(
            node.private.record_audit,
            str(grant.account_id),
            action,
            target,
            now=node.clock(),
        )
