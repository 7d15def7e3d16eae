"""The notifier looks by what is awaited: a test charge (about 7 minutes) is not asked about
before its expected end — its progress line is still redrawn, from what the chat shows — then
looked at close together; any other wait backs off as it always did. Time moves by the
harness's clock (Kraken's and the bot's together), one job run at a time as arq runs them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from arq import Retry
from arq.constants import job_key_prefix
from pytest import approx

from bot.notifier import NotifierContext, look_at_wizard
from bot.turns import WaitFigures
from harness.deployment import InProcessDeployment
from tests.bot.inproc.conftest import USER
from tests.bot.inproc.test_chat_intents_and_waits import reach_waiting
from tests.bot.inproc.test_live_message import TEST_CHARGE_RUNNING, choose

WIZARD_READ = "SmartFlexOnboardingWizards"
MANUFACTURER = "Waiting for the manufacturer"  # the step after the test charge
CONNECTED = "is connected"


@dataclass(frozen=True)
class JobRun:
    at: float
    """Seconds since the wait began (the conversation's `waiting_since`), by the bot's clock."""
    reads: int
    """Kraken wizard reads the run made."""
    outcome: str | float
    """The job's result, or the seconds until its next run."""

    @property
    def delay(self) -> float:
        assert isinstance(self.outcome, float), f"the job ended: {self.outcome}"
        return self.outcome


class WaitJob:
    """One wait's arq job (its arguments fixed when it was queued), run as arq runs it."""

    def __init__(
        self, d: InProcessDeployment, wizard_id: str, step_id: str | None, began: datetime
    ) -> None:
        self.d, self.wizard_id, self.step_id, self.began = d, wizard_id, step_id, began
        self.attempt = 1
        self.runs: list[JobRun] = []

    @classmethod
    async def of(cls, d: InProcessDeployment) -> WaitJob:
        """The job the chat's current wait queued."""
        conv = await d.runtime.turns.peek(USER)
        assert conv is not None and conv.wizard_id is not None and conv.waiting_since
        return cls(d, conv.wizard_id, conv.step_id, conv.waiting_since)

    async def run(self) -> str | float:
        d = self.d
        ctx = {
            "notifier": NotifierContext(d.runtime.turns, d.runtime.watches),
            "job_try": self.attempt,
        }
        before = wizard_reads(d)
        try:
            outcome: str | float = await look_at_wizard(ctx, USER, self.wizard_id, self.step_id)
        except Retry as retry:
            outcome = float(retry.defer_score or 0) / 1000
        at = (d.runtime.turns.clock() - self.began).total_seconds()
        self.runs.append(JobRun(at, int(wizard_reads(d) - before), outcome))
        self.attempt += 1
        return outcome

    async def until_done(self) -> str:
        """Runs, moving time on by each run's delay, until the job ends."""
        while isinstance(outcome := await self.run(), float):
            self.d.advance(outcome)
        return outcome


def wizard_reads(d: InProcessDeployment) -> float:
    value = d.runtime.metrics.registry.get_sample_value(
        "kraken_calls_total", {"operation": WIZARD_READ}
    )
    return value or 0.0


async def start_test_charge(d: InProcessDeployment) -> WaitJob:
    await choose(d, "Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await d.sign_in(USER, "Sign in")
    await d.user_taps(USER, "I've added the key")
    await d.user_taps(USER, "start the test")
    assert TEST_CHARGE_RUNNING in (await d.sim.transcript(USER))[-1].text
    job = await WaitJob.of(d)
    d.advance(d.runtime.watches.policy.first_delay)  # arq runs a new watch's job this late
    return job


def charge_seconds(d: InProcessDeployment) -> float:
    return d.runtime.turns.waits.test_charge.total_seconds()


async def test_a_test_charge_is_not_asked_about_before_its_end_and_its_end_is_told_at_once(
    started: InProcessDeployment,
) -> None:
    d = started
    job = await start_test_charge(d)
    seq = (await d.sim.outbox())[-1]["seq"]

    assert await job.until_done() == "changed"

    ends = charge_seconds(d)
    *quiet, told = job.runs
    assert [run.reads for run in quiet] == [0] * len(quiet)  # Kraken never asked meanwhile
    assert told.reads == 1 and ends <= told.at < ends + 1  # the first look told the end
    edits = await d.sim.outbox("editMessageText", since=seq)
    progress = [e for e in edits if "▰" in e["params"]["text"]]
    every = d.runtime.turns.waits.progress_every.total_seconds()
    assert len(progress) == int(ends // every)  # the line moved all along, without a read
    assert "Check now" in progress[-1]["params"]["reply_markup"]  # the same screen, redrawn
    assert MANUFACTURER in (await d.sim.transcript(USER))[-1].text


async def test_a_test_charge_that_runs_late_is_looked_at_close_together_then_less_often(
    started: InProcessDeployment,
) -> None:
    d = started
    d.runtime.turns.waits = WaitFigures(test_charge=timedelta(minutes=5))  # Kraken's take 7
    job = await start_test_charge(d)

    assert await job.until_done() == "changed"

    policy, ends = d.runtime.watches.policy, charge_seconds(d)
    quiet = [run for run in job.runs if run.at < ends]
    looks = job.runs[len(quiet) :]
    assert [run.reads for run in quiet] == [0] * len(quiet)
    assert all(run.reads >= 1 for run in looks)
    gaps = [run.delay for run in looks[:-1]]
    close = [policy.first_delay] * (policy.close_looks + 1)  # the curve's first gap is one too
    assert gaps[: len(close)] == close  # around the expected end: seconds apart
    assert gaps[len(close) :] == sorted(gaps[len(close) :])  # then backing off
    assert gaps[-1] > policy.first_delay
    kraken_end = 7 * 60.0
    assert kraken_end <= looks[-1].at <= kraken_end + gaps[-1]  # told at the next look


async def test_a_restart_mid_test_charge_keeps_the_schedule(started: InProcessDeployment) -> None:
    """The job is lost with its worker; the next worker's re-arm queues it afresh (its first
    run `first_delay` later, as for a new watch), and it still waits for the expected end."""
    d = started
    job = await start_test_charge(d)
    while not job.runs or job.runs[-1].at < 200:  # a few minutes into the test charge
        outcome = await job.run()
        assert isinstance(outcome, float)
        d.advance(outcome)
    keys, arq = d.runtime.keys, d.runtime.arq
    job_id = keys.watch_job(job.wizard_id, job.step_id)
    await arq.delete(keys.job_queue(), job_key_prefix + job_id)

    assert await d.runtime.watches.rearm() >= 1
    assert await arq.zscore(keys.job_queue(), job_id) is not None
    rearmed = WaitJob(d, job.wizard_id, job.step_id, job.began)  # a fresh job: try 1
    d.advance(d.runtime.watches.policy.first_delay)
    assert await rearmed.until_done() == "changed"

    ends = charge_seconds(d)
    *quiet, told = rearmed.runs
    assert [run.reads for run in quiet] == [0] * len(quiet)
    assert told.reads == 1 and ends <= told.at < ends + 1  # not 7 minutes after the restart


async def test_a_wait_the_customer_ended_with_check_now_is_left_without_asking_kraken(
    started: InProcessDeployment,
) -> None:
    d = started
    job = await start_test_charge(d)
    d.advance(charge_seconds(d))
    await d.user_taps(USER, "Check now")  # the customer's own look finds the end
    assert MANUFACTURER in (await d.sim.transcript(USER))[-1].text

    assert await job.run() == "gone"
    assert job.runs[-1].reads == 0
    active = await d.runtime.redis.client.hgetall(d.runtime.keys.active_watches())  # type: ignore[misc]
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None
    assert active == {f"{USER}|{conv.wizard_id}".encode(): (conv.step_id or "").encode()}


async def test_an_unknown_wait_is_looked_at_as_it_always_was(
    started: InProcessDeployment,
) -> None:
    d = started
    await reach_waiting(d)  # WaitForLiveIntegration: Kraken says nothing of its length
    job = await WaitJob.of(d)
    policy = d.runtime.watches.policy
    d.advance(policy.first_delay)

    assert await job.until_done() == "changed"

    assert all(run.reads >= 1 for run in job.runs)
    delays = [run.delay for run in job.runs[:-1]]
    assert delays == [approx(policy.delay(n), abs=0.001) for n in range(1, len(job.runs))]
    assert CONNECTED in (await d.sim.transcript(USER))[-1].text
