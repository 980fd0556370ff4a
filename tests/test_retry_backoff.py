"""Pruebas de la espera de ``RetryPolicy``: tope, *jitter* completo, a medias, ninguno o proporcional."""

from __future__ import annotations

import pytest

from lab.notebook.plots_backoff import backoff_arrivals
from lab.workers import RetryPolicy
from lab.workers.retry import JITTER_MODES, PERMANENT_ERRORS


def test_full_jitter_is_the_default_and_spans_zero_to_the_capped_delay():
    assert RetryPolicy().jitter == "full"
    assert RetryPolicy(random=lambda: 0.0).delay(3) == 0.0
    assert RetryPolicy(random=lambda: 0.5).delay(3) == pytest.approx(2.0)  # la mitad de 4 s
    assert RetryPolicy(max_delay=8, random=lambda: 0.999).delay(10) == pytest.approx(8 * 0.999)


def test_equal_jitter_keeps_half_of_the_delay():
    policy = RetryPolicy(jitter="equal", random=lambda: 0.0)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert RetryPolicy(jitter="equal", random=lambda: 1.0).delay(3) == pytest.approx(4.0)


def test_no_jitter_gives_exact_exponential_delays_up_to_the_cap():
    for jitter in ("none", 0, 0.0):
        policy = RetryPolicy(max_retries=6, max_delay=8, jitter=jitter, random=lambda: pytest.fail("sin azar"))
        assert [policy.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
        assert policy.schedule() == [1, 3, 7, 15, 23, 31]


def test_proportional_jitter_still_works():
    assert RetryPolicy(jitter=0.1, random=lambda: 1.0).delay(2) == pytest.approx(2.2)
    assert RetryPolicy(jitter=0.1, random=lambda: 0.0).delay(2) == pytest.approx(1.8)


def test_the_guide_exercise_makes_three_attempts_and_waits_one_and_two_seconds():
    # El bucle del ejercicio 2 de la guía, tal cual: max_retries = 3 son 3 *intentos*, esperas de 1 y 2 s.
    waits, calls = [], []

    def guide_process(max_retries=3):
        for attempt in range(max_retries):
            try:
                calls.append(attempt)
                raise OSError("disco de red")
            except Exception:
                if attempt == max_retries - 1:
                    raise
                waits.append(2 ** attempt)

    with pytest.raises(OSError):
        guide_process()
    assert calls == [0, 1, 2] and waits == [1, 2]
    assert RetryPolicy(max_retries=2, jitter="none").schedule() == [1, 3]


@pytest.mark.parametrize("bad", ["mucho", "Full", 1.5, -0.1, True, None])
def test_invalid_jitter_is_rejected_in_spanish(bad):
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=bad)


def test_coerce_and_permanent_errors_are_unchanged():
    assert RetryPolicy.coerce(3) == RetryPolicy(max_retries=3)
    assert RetryPolicy.coerce(None).max_retries == 0
    assert RetryPolicy().permanent == PERMANENT_ERRORS
    assert JITTER_MODES == ("full", "equal", "none")


def test_many_clients_with_full_jitter_do_not_come_back_together():
    herd = backoff_arrivals(RetryPolicy(max_retries=3, jitter="none"), clients=50)
    assert {tuple(times) for times in herd} == {(1.0, 3.0, 7.0)}
    spread = backoff_arrivals(RetryPolicy(max_retries=3, jitter="full"), clients=50, seed=2)
    firsts = sorted(times[0] for times in spread)
    assert len(set(firsts)) == 50 and 0 <= firsts[0] and firsts[-1] < 1
    assert spread == backoff_arrivals(RetryPolicy(max_retries=3, jitter="full"), clients=50, seed=2)
