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

    def chat_lock(self, chat_id: int) -> str:
        return f"{self.prefix}lock:chat:{chat_id}"

    def chat_lock_released(self, chat_id: int) -> str:
        """A one-element list pushed on release, so waiters block in BLPOP instead of polling."""
        return f"{self.prefix}lock:chat:{chat_id}:released"

    def update(self, bot_id: int, update_id: int) -> str:
        """Set once the update's turn has finished (a redelivery is then dropped)."""
        return f"{self.prefix}upd:{bot_id}:{update_id}"

    def update_lease(self, bot_id: int, update_id: int) -> str:
        """Held, with a short TTL renewed while the turn runs, by the process handling it."""
        return f"{self.prefix}upd:{bot_id}:{update_id}:lease"

    def update_body(self, bot_id: int, update_id: int) -> str:
        """The update's JSON and attempt count, until it is done (for a redelivery)."""
        return f"{self.prefix}upd:{bot_id}:{update_id}:body"

    def update_inbox(self, bot_id: int) -> str:
        """Sorted set of updates received and not yet done, scored by arrival (ms)."""
        return f"{self.prefix}inbox:{bot_id}"

    def chat_rate(self, chat_id: int, window: int) -> str:
        return f"{self.prefix}rate:{chat_id}:{window}"

    def chat_notice(self, chat_id: int, what: str) -> str:
        """Set for a while after the chat was told `what` (busy, slow down): told once."""
        return f"{self.prefix}told:{chat_id}:{what}"

    def handoff(self, token_hash: str) -> str:
        return f"{self.prefix}handoff:{token_hash}"

    def handoff_tombstone(self, token_hash: str) -> str:
        return f"{self.prefix}handoff:{token_hash}:state"

    def oauth_state(self, state_hash: str) -> str:
        return f"{self.prefix}oauth:{state_hash}"

    def active_watches(self) -> str:
        """Hash of waiting wizards (`chat|wizard` -> step id), read to re-arm jobs at start-up."""
        return f"{self.prefix}polls"

    def watch_job(self, wizard_id: str, step_id: str | None) -> str:
        # Key strings predate the "watch" naming; kept so running deployments keep their jobs.
        return f"{self.prefix}poll:{wizard_id}:{step_id or '-'}"

    def device_watches(self) -> str:
        """Hash of chats whose devices the notifier watches after LIVE (chat -> the token of
        the one look scheduled now), read to re-arm the looks at start-up."""
        return f"{self.prefix}alerts:watched"

    def device_watch_job(self, chat_id: int, token: str) -> str:
        return f"{self.prefix}alerts:look:{chat_id}:{token}"

    def alerts_told(self, chat_id: int) -> str:
        """Hash: each device as the chat was last told of it, and a mark left when the
        customer changed a device in the chat (not news to them)."""
        return f"{self.prefix}alerts:told:{chat_id}"

    def alerts_adopted(self) -> str:
        """Set once every chat bound before device alerts existed has had its devices armed."""
        return f"{self.prefix}alerts:adopted"

    def alerts_off(self, chat_id: int) -> str:
        """Set while the chat has turned device alerts off (`/alerts off`)."""
        return f"{self.prefix}alerts:off:{chat_id}"

    def kraken_schema(self) -> str:
        """The Kraken instance's detected schema, shared by every process (with a TTL)."""
        return f"{self.prefix}kraken:schema"

    def job_queue(self) -> str:
        return f"{self.prefix}arq:queue"

    def notifier_heartbeats(self) -> str:
        """Sorted set of running notifiers (instance -> heartbeat expiry, ms); expires with
        the last heartbeat, so a deployment with no notifier left leaves nothing behind."""
        return f"{self.prefix}notifier:alive"

    def binding(self, chat_id: int) -> str:
        return f"{self.binding_prefix()}{chat_id}"

    def binding_prefix(self) -> str:
        return f"{self.prefix}binding:"

    def account_prefix(self) -> str:
        return f"{self.prefix}account:"

    def account_driver(self, account_number: str) -> str:
        """The chat that drives the account's onboarding (the others may only look)."""
        return f"{self.account_prefix()}{account_number}:driver"

    # ---- the support console (bot.console) and the journal it reads (bot.state.journal)

    def journal_chat(self, chat_id: int) -> str:
        """Stream of the chat's turns (the console's timeline), capped and expiring."""
        return f"{self.prefix}journal:chat:{chat_id}"

    def journal_chat_now(self, chat_id: int) -> str:
        """Hash: where the chat is now (step, since when, last error, its link, its name)."""
        return f"{self.prefix}journal:chat:{chat_id}:now"

    def journal_funnel(self) -> str:
        """Stream of onboarding events (started, step reached, error, LIVE, cancelled)."""
        return f"{self.prefix}journal:funnel"

    def link_prefix(self) -> str:
        return f"{self.prefix}console:link:"

    def link_record(self, link_id: str) -> str:
        """Hash: one issued hand-off link (who, when, for what; the chat that opened it)."""
        return f"{self.link_prefix()}{link_id}"

    def links_issued(self) -> str:
        """Sorted set of link ids by time of issue (ms)."""
        return f"{self.prefix}console:links"

    def links_of_account(self, account_number: str) -> str:
        """Sorted set of the account's link ids by time of issue (ms)."""
        return f"{self.prefix}console:links:{account_number}"

    def link_unopened(self, account_number: str) -> str:
        """The account's newest link not yet opened: the chat that binds next opened it."""
        return f"{self.prefix}console:links:{account_number}:next"

    def agents(self) -> str:
        """Hash of the console's local agent accounts (name -> JSON with the password hash)."""
        return f"{self.prefix}console:agents"

    def agent_prefs(self) -> str:
        """Hash of agents' language and time zone (name -> JSON), proxy users included."""
        return f"{self.prefix}console:prefs"

    def console_session(self, session_id: str) -> str:
        return f"{self.prefix}console:session:{session_id}"

    def console_secret(self) -> str:
        """The session-signing key when SUPPORT_SESSION_SECRET is not set."""
        return f"{self.prefix}console:secret"

    def login_failures(self, kind: str, who: str) -> str:
        """Failed sign-ins in the current window, per account (`agent`) or per address."""
        return f"{self.prefix}console:login:{kind}:{who}"

    def audit_log(self) -> str:
        return f"{self.prefix}console:audit"
