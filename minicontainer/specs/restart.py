"""--restart no|on-failure[:N]|always|unless-stopped: Docker's restart policy (HostConfig.RestartPolicy),
parsed as its CLI does, checked as its daemon does, and decided as its restart manager decides.
Pure; the supervisor carries it out (runtime/supervisor.py)."""

from __future__ import annotations

from dataclasses import dataclass

from minicontainer.errors import DaemonError, UsageError

NAMES = ("no", "always", "on-failure", "unless-stopped")
FIRST_DELAY, MAX_DELAY, RESET_AFTER = 0.1, 60.0, 10.0  # seconds: the restart manager's backoff


@dataclass(frozen=True)
class RestartPolicy:
    name: str = "no"
    maximum_retry_count: int = 0

    def json(self) -> dict:
        return {"Name": self.name, "MaximumRetryCount": self.maximum_retry_count}

    @property
    def restarts(self) -> bool:
        return self.name not in ("", "no")


def parse(text: str) -> RestartPolicy:
    """The CLI's ParseRestartPolicy, then the daemon's ValidateRestartPolicy."""
    if not text:
        return RestartPolicy()
    name, colon, count = text.partition(":")
    if colon and not name:
        raise UsageError("invalid restart policy format: no policy provided before colon")
    retries = 0
    if count:
        try:
            retries = int(count)
        except ValueError:
            raise UsageError("invalid restart policy format: maximum retry count must be an integer") from None
    if name not in NAMES:
        raise DaemonError(f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
                          "'on-failure', or 'unless-stopped'", 125)
    if name == "on-failure" and retries < 0:
        raise DaemonError("invalid restart policy: maximum retry count cannot be negative", 125)
    if name != "on-failure" and retries:
        raise DaemonError("invalid restart policy: maximum retry count can only be used with 'on-failure'"
                          + (" and cannot be negative" if retries < 0 else ""), 125)
    return RestartPolicy(name, retries)


def from_json(data: dict | None) -> RestartPolicy:
    data = data or {}
    return RestartPolicy(data.get("Name") or "no", data.get("MaximumRetryCount") or 0)


def should_restart(policy: RestartPolicy, exit_code: int, restart_count: int, stopped_by_user: bool) -> bool:
    """The restart manager's decision. A container stopped or killed by the user is not restarted
    (Docker cancels the restart manager on stop)."""
    if stopped_by_user:
        return False
    if policy.name in ("always", "unless-stopped"):
        return True
    if policy.name == "on-failure":
        limit = policy.maximum_retry_count
        return exit_code != 0 and (limit == 0 or restart_count < limit)
    return False


def next_delay(previous: float, ran_for: float) -> float:
    """100 ms, doubled at each restart up to a minute, back to 100 ms after a run of 10 s or more."""
    if ran_for >= RESET_AFTER or previous == 0:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)
