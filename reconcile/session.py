"""A session: everything one command needs, opened from the project config.

It owns the resources it opens (the embedded emulator, the HTTP client, blob
storage) and closes them in reverse order. Heavy modules are imported here, not
at CLI start-up.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from reconcile.backends.base import Backend
from reconcile.errors import ConfigError
from reconcile.specs.config import EnvironmentConfig

if TYPE_CHECKING:  # heavy imports stay out of CLI start-up
    import httpx

    from reconcile.client.arm import ArmClient
    from reconcile.client.http import VisionClient
    from reconcile.emulator.azureml.server import AzureMLEmulatorServer
    from reconcile.emulator.server import EmulatorServer
    from reconcile.inventory.store import StateStore
    from reconcile.storage.base import BlobStore

#: The key the embedded emulator accepts; it guards nothing but loopback traffic.
EMBEDDED_KEY = "embedded-emulator-key"


@dataclass
class Session:
    config: EnvironmentConfig
    """The environment in force."""
    endpoint: str
    backend: Backend
    client: VisionClient | ArmClient
    emulator: EmulatorServer | AzureMLEmulatorServer | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _store: BlobStore | None = None
    _state: StateStore | None = None

    @property
    def display_endpoint(self) -> str:
        """The endpoint as plans show it: ``embedded`` for the bundled emulator (its port changes per run)."""
        return "embedded" if self.emulator is not None else self.endpoint

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def blob_store(self) -> BlobStore:
        """The blob store label files and images are uploaded to (opened on first use, :mod:`reconcile.storage.open`)."""
        if self._store is None:
            from reconcile.storage.open import open_blob_store

            self._store = open_blob_store(self.config)
        return self._store

    def state_store(self) -> StateStore:
        """Where the environment's inventory lives (opened on first use)."""
        if self._state is None:
            from reconcile.inventory.store import state_store_for

            self._state = state_store_for(self.config)
        return self._state


def open_session(
    config: EnvironmentConfig, *, env: Mapping[str, str] | None = None, transport: httpx.BaseTransport | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> Session:
    """Open the backend for ``config``. Raises :class:`ConfigError` for a missing secret or endpoint.

    ``transport`` and ``client_options`` (extra :class:`VisionClient` keywords such as
    ``sleep``) exist for tests and benchmarks.
    """
    from reconcile.backends.vision import VisionBackend
    from reconcile.client.auth import KeyAuth, auth_from_settings
    from reconcile.client.http import VisionClient

    env = os.environ if env is None else env
    if config.service == "azureml":
        return _open_azureml(config, env=env, transport=transport, client_options=client_options)
    stack = contextlib.ExitStack()
    emulator = None
    try:
        if config.is_embedded:
            from reconcile.emulator.server import start_emulator

            state = Path(config.state_dir) / "emulator"
            state.mkdir(parents=True, exist_ok=True)
            # The embedded emulator reads local label files and images from the repository only.
            emulator = start_emulator(state_dir=state, speed=config.emulator_speed, key=EMBEDDED_KEY,
                                      file_roots=[config.root])
            stack.callback(emulator.stop)
            endpoint = emulator.endpoint
            auth = KeyAuth(EMBEDDED_KEY)
        else:
            if not config.endpoint:
                raise ConfigError(
                    f"environment {config.name!r} has no endpoint",
                    hint="set `endpoint:` or `stackOutputs:` for it in vision-gitops.yaml",
                )
            endpoint = config.endpoint
            auth = auth_from_settings(config.auth.kind, config.auth.key_env, env)
        client = VisionClient(
            endpoint=endpoint,
            api_version=config.api_version,
            auth=auth,
            rate_limit_tps=config.rate_limit_tps,
            max_retries=config.max_retries,
            timeout=config.timeout_seconds,
            transport=transport,
            **dict(client_options or {}),
        )
        stack.callback(client.close)
        backend = VisionBackend(client, max_concurrency=config.max_concurrency)
    except BaseException:
        stack.close()
        raise
    return Session(config=config, endpoint=endpoint, backend=backend, client=client, emulator=emulator, _stack=stack)


def _open_azureml(
    config: EnvironmentConfig, *, env: Mapping[str, str], transport: httpx.BaseTransport | None,
    client_options: Mapping[str, Any] | None,
) -> Session:
    """An Azure ML session: the ARM client (Entra ID, management scope) and the workspace's datastore container.

    ``client_options`` are extra :class:`~reconcile.client.arm.ArmClient` keywords (``verify`` for an
    emulator's throwaway certificate, ``sleep``). Raises :class:`ConfigError` when the environment has no
    workspace (an embedded Azure ML environment is not served yet).
    """
    from reconcile.backends.azureml.backend import AzureMLBackend
    from reconcile.client.arm import ArmClient
    from reconcile.client.auth import BearerAuth

    if config.azureml is None and not config.is_embedded:
        raise ConfigError(
            f"environment {config.name!r} names no Azure ML workspace",
            hint="give it `stackOutputs:` (pulumi stack output --json of an azureml stack)",
        )
    stack = contextlib.ExitStack()
    emulator = None
    try:
        options = dict(client_options or {})
        target = config.azureml
        store: BlobStore | None = None
        auth: Any = BearerAuth(scope=config.auth.scope or "")
        if config.is_embedded:
            import ssl

            from reconcile.backends.azureml.target import AzureMLTarget
            from reconcile.emulator.azureml.datastore import BlobConfig
            from reconcile.emulator.azureml.server import start_azureml_emulator
            from reconcile.storage.azurite import ACCOUNT, ACCOUNT_KEY, start_azurite
            from reconcile.storage.open import open_connection_string_store

            state = Path(config.state_dir)
            azurite = start_azurite(config.root, state / "azurite")
            stack.callback(azurite.stop)
            blob = BlobConfig(endpoint=azurite.blob_endpoint, account=ACCOUNT, key=ACCOUNT_KEY)
            (state / "emulator-azureml").mkdir(parents=True, exist_ok=True)
            emulator = start_azureml_emulator(blob=blob, state_dir=state / "emulator-azureml",
                                              speed=config.emulator_speed, tls=True, token=EMBEDDED_KEY)
            stack.callback(emulator.stop)
            ws = emulator.workspace
            target = AzureMLTarget(subscription_id=ws.subscription, resource_group=ws.resource_group,
                                   workspace=ws.name, location=ws.region, compute="gpu-cluster",
                                   datastore="workspaceblobstore", container_url=f"{azurite.blob_endpoint}/{blob.container}",
                                   arm_endpoint=emulator.endpoint)
            options.setdefault("verify", ssl.create_default_context(cafile=str(emulator.cert_file)))
            auth = BearerAuth(_StaticToken(EMBEDDED_KEY), scope="embedded")
            store = open_connection_string_store(azurite.connection_string, blob.container)
        assert target is not None
        client = ArmClient(
            endpoint=target.arm_endpoint,
            api_version=config.api_version,
            auth=auth,
            max_retries=config.max_retries,
            timeout=config.timeout_seconds,
            transport=transport,
            **options,
        )
        stack.callback(client.close)
        from reconcile.storage.open import open_blob_store

        if store is None:
            store = open_blob_store(config, env)
        backend = AzureMLBackend(client, target, store, max_concurrency=config.max_concurrency)
    except BaseException:
        stack.close()
        raise
    return Session(config=config, endpoint=target.arm_endpoint, backend=backend, client=client, emulator=emulator,
                   _stack=stack, _store=store)


class _StaticToken:
    """The embedded Azure ML emulator's bearer token (it guards nothing but loopback traffic)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, scope: str) -> tuple[str, float]:
        return (self._token, 4e9)
