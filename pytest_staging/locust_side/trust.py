"""Loaded beside every locustfile: the pytest run's TLS trust for users that choose none.

locust's `FastHttpUser` verifies nothing by default (`insecure = True`), and
geventhttpclient hands an `ssl_context_factory` certifi's bundle, which
would replace `--staging-ca-bundle`. A `FastHttpUser` class of a user's
locustfile that sets neither `insecure` nor `ssl_context_factory` gets the
same trust as the generated users and the pytest run's own client: the CA
bundle, or no verification with `--staging-insecure`, else certifi's. A
class that sets either keeps its own choice.
"""

from __future__ import annotations

from itertools import takewhile
from typing import TYPE_CHECKING, Any

from locust import FastHttpUser, events

# The generated users' trust, so both read the same variables the same way.
from pytest_staging.locust_side.manifest_users import INSECURE, ssl_context

if TYPE_CHECKING:
    from locust.env import Environment

_CHOICES = ("insecure", "ssl_context_factory")


def chose_its_own(user_class: type[FastHttpUser]) -> bool:
    """Whether the class, or a class between it and FastHttpUser, sets its TLS itself."""
    own = takewhile(lambda cls: cls is not FastHttpUser, user_class.__mro__)
    return any(name in vars(cls) for cls in own for name in _CHOICES)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    for user_class in environment.user_classes:
        if issubclass(user_class, FastHttpUser) and not chose_its_own(user_class):
            user_class.insecure = INSECURE
            user_class.ssl_context_factory = staticmethod(ssl_context)
