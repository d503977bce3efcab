"""The waiter keeps its deadline: never sleeps past it, and one budget covers every wait of a run.

Time is virtual (injected ``sleep``/``monotonic``), so these tests never sleep.
"""

from __future__ import annotations

from reconcile.apply.waiting import Waiter
from reconcile.backends.base import LiveModel


class _Training:
    """A backend whose models train forever (only what the waiter calls)."""

    def __init__(self) -> None:
        self.gets = 0

    def get_model(self, name: str) -> LiveModel:
        self.gets += 1
        return LiveModel(name=name, status="training", training_dataset="d", budget_hours=1)

    def get_evaluation(self, model: str, name: str) -> None:
        return None


def _waiter(poll: float, timeout: float | None) -> tuple[Waiter, list[float], dict[str, float]]:
    clock = {"t": 0.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["t"] += seconds

    waiter = Waiter(_Training(), poll=poll, timeout=timeout, sleep=sleep,  # type: ignore[arg-type]
                    monotonic=lambda: clock["t"])
    return waiter, slept, clock


def test_a_short_timeout_is_not_rounded_up_to_the_poll_interval() -> None:
    waiter, slept, clock = _waiter(poll=10.0, timeout=2.0)
    result = waiter.wait(models=["clf"])
    assert result.timed_out and result.models["clf"].status == "training"
    assert clock["t"] == 2.0
    assert slept == [2.0]


def test_the_last_sleep_is_capped_at_the_time_left() -> None:
    waiter, slept, clock = _waiter(poll=3.0, timeout=7.0)
    assert waiter.wait(models=["clf"]).timed_out
    assert slept == [3.0, 3.0, 1.0] and clock["t"] == 7.0


def test_one_budget_covers_every_wait_of_a_run() -> None:
    """apply --wait waits for a model, then for everything: together they keep --timeout."""
    waiter, _slept, clock = _waiter(poll=1.0, timeout=5.0)
    assert waiter.wait(models=["a"]).timed_out
    assert clock["t"] == 5.0
    second = waiter.wait(models=["b"])
    assert second.timed_out and clock["t"] == 5.0  # no time left: one poll, no sleep


def test_without_timeout_the_waiter_returns_when_done() -> None:
    done = {"n": 0}

    def sleep(_s: float) -> None:
        done["n"] += 1

    class _Finishing(_Training):
        def get_model(self, name: str) -> LiveModel:
            status = "succeeded" if done["n"] >= 2 else "training"
            return LiveModel(name=name, status=status, training_dataset="d", budget_hours=1)

    result = Waiter(_Finishing(), poll=60.0, sleep=sleep).wait(models=["m"])  # type: ignore[arg-type]
    assert not result.timed_out and result.models["m"].status == "succeeded" and done["n"] == 2


def test_apply_wait_whose_timeout_passes_defers_the_evaluation_and_exits_running(tmp_path) -> None:
    """--timeout ran out while the model trains: nothing failed, so exit 3 like `reconcile wait`."""
    from reconcile.apply.executor import ApplyOptions, apply_plan
    from reconcile.backends.base import Capabilities
    from reconcile.errors import ExitCode
    from tests.apply.test_capabilities import MemoryBackend, _plan, _specs

    backend = MemoryBackend(Capabilities(service="memory"))
    backend.polls_until_done = 1_000_000  # trains far longer than the timeout
    clock = {"t": 0.0}
    waiter = Waiter(backend, poll=1.0, timeout=2.0, sleep=lambda s: clock.update(t=clock["t"] + s),  # type: ignore[arg-type]
                    monotonic=lambda: clock["t"])
    plan = _plan(_specs(tmp_path, budget=1, labels="a", evaluation=True), backend)
    result = apply_plan(plan, backend, ApplyOptions(wait=True, waiter=waiter))  # type: ignore[arg-type]
    assert result.failed == []
    assert result.deferred == ["evaluation/m/e"] and result.running == ["model/m"]
    assert result.exit_code == ExitCode.RUNNING
    assert clock["t"] == 2.0
