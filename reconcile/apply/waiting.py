"""Following asynchronous work (training, evaluations) until it ends or a deadline passes.

Time is injected (``sleep``, ``monotonic``) so tests drive it without sleeping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from reconcile.backends.base import MODEL_TRAINED, Backend, LiveEvaluation, LiveModel
from reconcile.errors import ExitCode


@dataclass(frozen=True, slots=True)
class Progress:
    """One observation of everything being waited for."""

    models: dict[str, LiveModel]
    evaluations: dict[tuple[str, str], LiveEvaluation]
    elapsed: float

    @property
    def pending(self) -> list[str]:
        out = [f"model/{n}" for n, m in self.models.items() if not m.terminal]
        out += [f"evaluation/{m}/{n}" for (m, n), e in self.evaluations.items() if not e.terminal]
        return sorted(out)


@dataclass(slots=True)
class WaitResult:
    models: dict[str, LiveModel] = field(default_factory=dict)
    evaluations: dict[tuple[str, str], LiveEvaluation] = field(default_factory=dict)
    timed_out: bool = False

    @property
    def failed(self) -> list[tuple[str, str]]:
        """``(address, message)`` of every run that ended without success."""
        out = [(f"model/{n}", f"model/{n} {m.status} ({m.error_code or 'no code'})") for n, m in self.models.items()
               if m.status in ("failed", "cancelled")]
        out += [(f"evaluation/{m}/{n}", f"evaluation/{m}/{n} failed ({e.error_code or 'no code'})")
                for (m, n), e in self.evaluations.items() if e.status == "failed"]
        return out

    @property
    def exit_code(self) -> ExitCode:
        """ERROR if a run failed, RUNNING if the wait timed out, else OK."""
        if self.failed:
            return ExitCode.ERROR
        if self.timed_out:
            return ExitCode.RUNNING
        return ExitCode.OK


@dataclass(slots=True)
class Waiter:
    """Polls a backend. ``poll`` is the interval in seconds; ``timeout`` ``None`` waits forever.

    ``timeout`` is one budget for this waiter's whole life, counted from its first
    :meth:`wait`: an apply that waits for several things in turn (cancellations, models
    before their evaluations, then everything) still gives up on time. A sleep never
    runs past the deadline, so the budget is kept to within one round of polling.
    """

    backend: Backend
    poll: float = 5.0
    timeout: float | None = None
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    _deadline: float | None = field(default=None, init=False, repr=False)

    def wait(
        self,
        *,
        models: Iterable[str] = (),
        evaluations: Iterable[tuple[str, str]] = (),
        on_progress: Callable[[Progress], None] | None = None,
    ) -> WaitResult:
        """Poll until every named model and evaluation is terminal or the timeout passes.

        Resources that disappear are dropped from the result. A model whose training succeeded but
        which still needs a step from us (``trained``: Azure ML registers the best trial) gets it here
        (:meth:`Backend.finish_model`, idempotent), so waiting ends with a usable model. Remote errors
        propagate (the client already retried the transient ones).
        """
        start = self.monotonic()
        if self.timeout is not None and self._deadline is None:
            self._deadline = start + self.timeout
        want_models = sorted(set(models))
        want_evals = sorted(set(evaluations))
        result = WaitResult()
        while True:
            for name in want_models:
                m = self.backend.get_model(name)
                if m is not None and m.status == MODEL_TRAINED:
                    m = self.backend.finish_model(name)
                if m is not None:
                    result.models[name] = m
            for key in want_evals:
                e = self.backend.get_evaluation(*key)
                if e is not None:
                    result.evaluations[key] = e
            elapsed = self.monotonic() - start
            progress = Progress(dict(result.models), dict(result.evaluations), elapsed)
            if on_progress is not None:
                on_progress(progress)
            if not progress.pending:
                return result
            left = None if self._deadline is None else self._deadline - self.monotonic()
            if left is not None and left <= 0:
                result.timed_out = True
                return result
            self.sleep(self.poll if left is None else min(self.poll, left))
            # Only keep polling what is still running.
            want_models = [n for n in want_models if n not in result.models or not result.models[n].terminal]
            want_evals = [k for k in want_evals if k not in result.evaluations or not result.evaluations[k].terminal]
