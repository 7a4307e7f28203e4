"""Loaded beside every locustfile: the pytest run's TLS trust for users that choose none.

locust's `FastHttpUser` verifies nothing by default (`insecure = True`), and
geventhttpclient hands an `ssl_context_factory` certifi's bundle, which
would replace `--staging-ca-bundle`. A `FastHttpUser` class of a user's
locustfile that sets neither `insecure` nor `ssl_context_factory` gets the
same trust as the generated users and the pytest run's own client: the CA
bundle, or no verification with `--staging-insecure`, else certifi's. A
class that sets either keeps its own choice.

locust's `HttpUser` (requests) verifies with certifi and ignores the
environment (its session has `trust_env = False`), so `REQUESTS_CA_BUNDLE`
never reaches it: each new user's session gets `verify` set to the bundle, or
False with `--staging-insecure`. A user that sets `self.client.verify` itself
(in `on_start`, which runs later) or passes `verify=` to a request keeps its
own choice.
"""

from __future__ import annotations

import functools
import warnings
from itertools import takewhile
from typing import TYPE_CHECKING, Any

from locust import FastHttpUser, HttpUser, events
from urllib3.exceptions import InsecureRequestWarning

# The generated users' trust, so both read the same variables the same way.
from pytest_staging.load.locust_side.manifest_users import CA_BUNDLE, INSECURE, ssl_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from locust.env import Environment

_CHOICES = ("insecure", "ssl_context_factory")


def chose_its_own(user_class: type[FastHttpUser]) -> bool:
    """Whether the class, or a class between it and FastHttpUser, sets its TLS itself."""
    own = takewhile(lambda cls: cls is not FastHttpUser, user_class.__mro__)
    return any(name in vars(cls) for cls in own for name in _CHOICES)


def _trusting(init: Callable[..., None]) -> Callable[..., None]:
    """`HttpUser.__init__` and then the run's trust on the session it made, if still
    locust's default (certifi)."""

    @functools.wraps(init)
    def __init__(self: HttpUser, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self.client.verify is True:  # locust's default: certifi
            self.client.verify = False if INSECURE else (CA_BUNDLE or True)

    return __init__


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    for user_class in environment.user_classes:
        if issubclass(user_class, FastHttpUser) and not chose_its_own(user_class):
            user_class.insecure = INSECURE
            user_class.ssl_context_factory = staticmethod(ssl_context)
        if issubclass(user_class, HttpUser) and (INSECURE or CA_BUNDLE):
            user_class.__init__ = _trusting(user_class.__init__)  # type: ignore[method-assign]
    if INSECURE:  # the pytest run has warned, once: not once per request in locust's log
        warnings.simplefilter("ignore", InsecureRequestWarning)
