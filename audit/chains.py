"""Which hash chain an event goes to, decided by the event's own content.

A store's events go to the store's chain (its id, a positive number). Events outside any store
used to share chain 0 (`OUTSIDE_ANY_STORE`), whose one head row every login locked: a password
spray then queued every login of the merchant on that row. Now they spread out:

- an event about a known user (`object_type == "user"` with the user's id, or else the acting
  user) goes to the user's own chain, `-user_id`: two users' logins never wait for each other;
- a failed login (no user, a `username` in `changes`) goes to one of `USERNAME_SHARDS` chains,
  `USERNAME_SHARD_BASE - k` with `k` from SHA-256 of the normalized username: the same username
  always lands on the same chain, a spray over many names spreads over all of them;
- anything else (no store, no user, no username: system work) stays on chain 0, which also
  keeps every event written before this rule (legacy chain 0 stays valid).

Because the chain is a function of the content (which the hash covers), verification checks that
each event sits on the chain its content names (`chain_holds`): an event moved to another chain
is noticed even if its links were rewritten to fit.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from typing import Any

from audit.models import OUTSIDE_ANY_STORE

USERNAME_SHARDS = 64
"""Chains shared by failed logins of usernames no event names a user for."""

USERNAME_SHARD_BASE = -(10**18)
"""Shard `k` is chain `USERNAME_SHARD_BASE - k`: below every `-user_id` (ids stay under 10**18)."""

_USER_OBJECT_TYPE = "user"


def user_chain(user_id: int) -> int:
    return -user_id


def username_shard_chain(username: str) -> int:
    """The shard chain of a username: NFKC, case-folded and stripped first, so `Alice` and
    `alice ` (one spray target) share a chain."""
    normalized = unicodedata.normalize("NFKC", username).casefold().strip()
    digest = hashlib.sha256(normalized.encode("utf-8")).digest()
    return USERNAME_SHARD_BASE - int.from_bytes(digest[:8], "big") % USERNAME_SHARDS


def _user_about(content: Mapping[str, Any]) -> int | None:
    """The user the event is about: the object when it is a user, else the actor."""
    object_id = content.get("object_id")
    if (
        content.get("object_type") == _USER_OBJECT_TYPE
        and isinstance(object_id, str)
        and object_id.isascii()
        and object_id.isdecimal()
        and int(object_id) > 0
    ):
        return int(object_id)
    actor = content.get("actor")
    if isinstance(actor, int) and not isinstance(actor, bool) and actor > 0:
        return actor
    return None


def _username(content: Mapping[str, Any]) -> str | None:
    changes = content.get("changes")
    if isinstance(changes, Mapping):
        username = changes.get("username")
        if isinstance(username, str):
            return username
    return None


def chain_for(content: Mapping[str, Any]) -> int:
    """The chain of an event, from its content (`audit.hashing.event_content`)."""
    store_id = content.get("store_id")
    if store_id:
        return int(store_id)
    user_id = _user_about(content)
    if user_id is not None:
        return user_chain(user_id)
    username = _username(content)
    if username is not None:
        return username_shard_chain(username)
    return OUTSIDE_ANY_STORE


def chain_holds(chain: int, content: Mapping[str, Any]) -> bool:
    """Whether an event with this content may sit on `chain`: the chain its content names, or
    chain 0 for an event outside any store (written before events outside stores were spread
    over user and username chains)."""
    if chain == chain_for(content):
        return True
    return chain == OUTSIDE_ANY_STORE and not content.get("store_id")
