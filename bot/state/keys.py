"""Every Redis key the bot writes, in one place, under one configurable prefix.

The prefix lets the bot share a Redis with other applications (or a second deployment) and
lets an operator find, size or flush exactly the bot's data with `SCAN MATCH sfa:*`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "sfa:"


@dataclass(frozen=True)
class KeySpace:
    prefix: str = DEFAULT_PREFIX

    def conversation(self, chat_id: int) -> str:
        return f"{self.prefix}conv:{chat_id}"

    def account_chats(self, account_number: str) -> str:
        return f"{self.prefix}account:{account_number}:chats"

    def wizard_chat(self, wizard_id: str) -> str:
        return f"{self.prefix}wizard:{wizard_id}:chat"

    def chat_lock(self, chat_id: int) -> str:
        return f"{self.prefix}lock:chat:{chat_id}"

    def chat_lock_released(self, chat_id: int) -> str:
        """A one-element list pushed on release, so waiters block in BLPOP instead of polling."""
        return f"{self.prefix}lock:chat:{chat_id}:released"

    def update(self, bot_id: int, update_id: int) -> str:
        return f"{self.prefix}upd:{bot_id}:{update_id}"

    def handoff(self, token_hash: str) -> str:
        return f"{self.prefix}handoff:{token_hash}"

    def handoff_tombstone(self, token_hash: str) -> str:
        return f"{self.prefix}handoff:{token_hash}:state"

    def oauth_state(self, state_hash: str) -> str:
        return f"{self.prefix}oauth:{state_hash}"

    def pending_switch(self, chat_id: int) -> str:
        """A redeemed hand-off for another account, waiting for the user to confirm."""
        return f"{self.prefix}switch:{chat_id}"

    def active_polls(self) -> str:
        """Hash of waiting wizards (`chat|wizard` -> step id), read to re-arm jobs at start-up."""
        return f"{self.prefix}polls"

    def poll_job(self, wizard_id: str, step_id: str | None) -> str:
        return f"{self.prefix}poll:{wizard_id}:{step_id or '-'}"

    def job_queue(self) -> str:
        return f"{self.prefix}arq:queue"

    def notifier_heartbeats(self) -> str:
        """Sorted set of running notifiers (instance -> heartbeat expiry, ms); expires with
        the last heartbeat, so a deployment with no notifier left leaves nothing behind."""
        return f"{self.prefix}notifier:alive"

    def binding(self, chat_id: int) -> str:
        return f"{self.prefix}binding:{chat_id}"
