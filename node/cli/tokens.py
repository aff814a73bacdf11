"""``tredegar token create|revoke|list``: API tokens for scripts and members.

These work while the node runs: each call is one SQLite transaction on the
private database, and the node looks tokens up on every request, so a
revocation takes effect at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from node.cli.output import emit, settings_for
from node.errors import NotFoundError
from node.services.clock import system_clock
from node.storage.private import PrivateStore

__all__ = ["register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``token`` and its subcommands."""
    token = commands.add_parser("token", help="create, revoke or list API tokens")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", parents=[common], help="issue a new token")
    create.add_argument("--role", choices=("organiser", "member"), default="member")
    create.add_argument("--name", default="API script", help="who or what will use it")
    create.set_defaults(handler=create_token)
    revoke = actions.add_parser("revoke", parents=[common], help="revoke a token")
    revoke.add_argument("token", help="the token's id (from 'token list') or the token")
    revoke.set_defaults(handler=revoke_token)
    listing = actions.add_parser(
        "list", parents=[common], help="list tokens (no secrets)"
    )
    listing.set_defaults(handler=list_tokens)


def create_token(args: argparse.Namespace) -> int:
    """Issue a token for a new account with the given role."""
    private = PrivateStore.open(settings_for(args))
    try:
        now = system_clock()
        account = private.create_account(args.name, args.role, now=now)
        issued = private.issue_token(account, args.role, label=args.name, now=now)
        private.record_audit("cli", "token_created", issued.token_id, now=now)
    finally:
        private.close()
    emit(
        args,
        {"token": issued.token},
        f"{args.role} token {issued.token_id} (shown once): {issued.token}",
    )
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    """Revoke a token by its id or its text."""
    private = PrivateStore.open(settings_for(args))
    try:
        now = system_clock()
        if not private.revoke_token(args.token, now=now):
            raise NotFoundError("no such token")
        # Never put (part of) a secret in the audit log: name a token id only.
        target = args.token if len(args.token) == 12 else "a token given in full"
        private.record_audit("cli", "token_revoked", target, now=now)
    finally:
        private.close()
    emit(args, {"revoked": True}, "revoked")
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    """List tokens without their secrets."""
    private = PrivateStore.open(settings_for(args))
    try:
        infos = private.list_tokens()
    finally:
        private.close()
    rows = [
        {
            "token_id": info.token_id,
            "role": info.role,
            "label": info.label,
            "created_at": info.created_at,
            "revoked_at": info.revoked_at,
        }
        for info in infos
    ]
    text = "\n".join(
        f"{r['token_id']}  {r['role']:<9}  "
        f"{'revoked' if r['revoked_at'] else 'active':<7}  {r['label']}"
        for r in rows
    )
    emit(args, {"tokens": rows}, text or "no tokens")
    return 0
