"""How hard the property tests and fuzzers work: a fast developer run, a thorough CI run.

`HUIQUAN_HYPOTHESIS_PROFILE` names the profile (`dev` or `ci`); when it is unset, `CI=true`
(what CI services set) selects `ci`, anything else `dev`. `make test` sets it to `ci`.

A profile is a Hypothesis settings profile (loaded by `tests/conftest.py`: it sets what no test
sets itself) and the figures below, which the tests that size themselves read: the ledger's
state machine (examples x steps, at least 10,000 steps a CI run on each engine), the parser
fuzzers, and schemathesis' examples per operation and mode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings

__all__ = ["PROFILE", "SCALE", "Scale", "load"]


@dataclass(frozen=True, slots=True)
class Scale:
    machine_examples: int
    machine_steps: int
    fuzz_examples: int
    api_positive: int
    api_negative: int
    min_machine_steps: int = 0  # the state machine's run fails below this many steps

    @property
    def machine_total_steps(self) -> int:
        return self.machine_examples * self.machine_steps


SCALES = {
    "dev": Scale(
        machine_examples=15, machine_steps=25, fuzz_examples=100, api_positive=25, api_negative=10
    ),
    # Hypothesis ends some runs of the machine before their last step (about 1 in 10 steps is
    # not run): 130 x 100 runs about 11,700 steps, and the test insists on 10,000.
    "ci": Scale(
        machine_examples=130,
        machine_steps=100,
        fuzz_examples=500,
        api_positive=25,
        api_negative=10,
        min_machine_steps=10_000,
    ),
}


def _profile() -> str:
    named = os.environ.get("HUIQUAN_HYPOTHESIS_PROFILE", "").strip()
    if named:
        if named not in SCALES:
            raise ValueError(f"HUIQUAN_HYPOTHESIS_PROFILE must be one of {sorted(SCALES)}")
        return named
    return "ci" if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"} else "dev"


PROFILE = _profile()
SCALE = SCALES[PROFILE]


def load() -> None:
    """Register both profiles and load the selected one."""
    settings.register_profile("dev")  # Hypothesis' own defaults
    # CI: no deadline flakiness on a shared 2-core machine, no example database to carry over,
    # and a failing example printed so it can be replayed (@reproduce_failure).
    settings.register_profile(
        "ci",
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(PROFILE)
