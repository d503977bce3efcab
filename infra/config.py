"""The typed, validated configuration of one stack (:class:`InfraConfig`).

Sources, all funnelled through :meth:`InfraConfig.from_mapping` so that they validate the same way:

- :meth:`InfraConfig.from_pulumi_config` -- what ``infra/__main__.py`` uses under the Pulumi CLI
  (every value arrives as a string; lists and objects as JSON);
- :meth:`InfraConfig.from_stack_file` -- a ``Pulumi.<stack>.yaml`` read directly (typed YAML values);
  the tests use it on the real example stacks.

Every problem found is reported at once in one :class:`reconcile.errors.ConfigError` whose lines name
the config key (``vision-gitops:<key>``) and say what to do. Unknown keys in the project namespace are
errors too, so a typo such as ``disableLocalAuht`` cannot silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Final

from reconcile.errors import ConfigError

from infra import naming, regions
from infra.config_keys import AZUREML_KEYS, KEYS

#: The Pulumi project name (``name:`` in Pulumi.yaml) and so the config namespace of our keys.
PROJECT: Final = "vision-gitops"

#: Values of the ``service`` key: which Azure service a stack provisions (``vision`` when unset).
SERVICES: Final = ("vision", "azureml")
DEFAULT_SERVICE: Final = "vision"

VISION_SKUS: Final = ("F0", "S1")
STORAGE_SKUS: Final = (
    "Standard_LRS",
    "Standard_ZRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
)
PUBLIC_NETWORK_ACCESS: Final = ("Enabled", "Disabled")
DEFAULT_ACTIONS: Final = ("Allow", "Deny")
VISION_STORAGE_ROLES: Final = ("Reader", "Contributor")
MAX_TAGS: Final = 50
#: Azure Storage refuses RFC 1918 ranges in IP rules (use private endpoints / VNet rules for those).
_RFC1918: Final = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """Network exposure shared by the Vision and the storage account (the same CI runners use both)."""

    public_network_access: str = "Enabled"
    """``Enabled`` or ``Disabled`` (then only private endpoints, which this program does not create, reach them)."""
    default_action: str = "Allow"
    """``Allow`` or ``Deny``: what happens to traffic that matches no IP rule."""
    ip_rules: tuple[str, ...] = ()
    """Public IPv4 addresses or CIDR ranges allowed when ``default_action`` is ``Deny``; /32 is written as the bare address."""


@dataclass(frozen=True, slots=True)
class InfraConfig:
    """Everything one stack needs; construct through :meth:`from_mapping` (or the two loaders)."""

    location: str
    """Programmatic region name, e.g. ``westus2``."""
    vision_account_name: str
    vision_subdomain: str
    storage_account_name: str
    ci_principal_id: str
    """Object id (not the app/client id) of the CI service principal."""
    resource_group_name: str
    use_existing_resource_group: bool = False
    """True: the resource group exists already and is only looked up, never created or deleted."""
    vision_sku: str = "S1"
    disable_local_auth: bool = True
    network: NetworkConfig = field(default_factory=NetworkConfig)
    storage_sku: str = "Standard_LRS"
    allow_shared_key_access: bool = False
    blob_versioning: bool = True
    blob_soft_delete_days: int = 7
    """Soft-delete retention of blobs and containers in days; 0 turns soft delete off."""
    container_name: str = "training"
    vision_storage_role: str = "Reader"
    """Role of the Vision identity on the container: ``Reader`` or ``Contributor``."""
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def vision_endpoint(self) -> str:
        """The Entra-ID-capable endpoint: ``https://<subdomain>.cognitiveservices.azure.com/``."""
        return f"https://{self.vision_subdomain}.cognitiveservices.azure.com/"

    # --- loaders ------------------------------------------------------------------

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        *,
        source: str = "<config>",
        fallback_location: str | None = None,
        project: str = PROJECT,
    ) -> "InfraConfig":
        """Validate ``values`` (keys without the ``vision-gitops:`` prefix) into an :class:`InfraConfig`.

        Values may be typed (YAML) or strings (Pulumi CLI). ``fallback_location`` is
        ``azure-native:location``, used when ``location`` is unset. Raises :class:`ConfigError`
        listing every problem, each naming its key and what to do.
        """
        return KeyParser(values, source=source, project=project, keys=KEYS).parse(fallback_location)

    @classmethod
    def from_pulumi_config(cls, project: str = PROJECT) -> "InfraConfig":
        """Read the current stack's config (inside a Pulumi program or a mocked test run).

        Raises :class:`ConfigError` as :meth:`from_mapping` does.
        """
        raw = read_pulumi_config(project)
        return cls.from_mapping(raw.values, source=raw.source, fallback_location=raw.fallback_location, project=project)

    @classmethod
    def from_stack_file(cls, path: str | Path, project: str = PROJECT) -> "InfraConfig":
        """Read a ``Pulumi.<stack>.yaml`` file directly (no CLI needed).

        Raises :class:`ConfigError` when the file is missing, is not YAML or holds invalid config.
        """
        raw = read_stack_file(path, project)
        return cls.from_mapping(raw.values, source=raw.source, fallback_location=raw.fallback_location, project=project)


# --- reading raw stack config (shared by every service) ---------------------------------------


@dataclass(frozen=True, slots=True)
class RawConfig:
    """One stack's project-namespace values (keys without the prefix), not validated yet."""

    values: Mapping[str, Any]
    source: str
    """Where the values came from, for error messages (a file path or ``Pulumi config of stack 'x'``)."""
    fallback_location: str | None
    """``azure-native:location``, used when the project's ``location`` is unset."""

    @property
    def service(self) -> Any:
        """The raw ``service`` value (validated by :func:`infra.stack_config.parse_stack_config`)."""
        return self.values.get("service")


def read_pulumi_config(project: str = PROJECT) -> RawConfig:
    """The current stack's config, read through the Pulumi runtime (every value a string)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = f"{project}:"
    keys = {k for k in (*runtime_config.CONFIG.get(), *runtime_config.get_config_env()) if k.startswith(prefix)}
    cfg = pulumi.Config(project)
    values = {k[len(prefix) :]: cfg.get(k[len(prefix) :]) for k in keys}
    return RawConfig(
        values={k: v for k, v in values.items() if v is not None},
        source=f"Pulumi config of stack {pulumi.get_stack()!r}",
        fallback_location=pulumi.Config("azure-native").get("location"),
    )


def read_stack_file(path: str | Path, project: str = PROJECT) -> RawConfig:
    """A ``Pulumi.<stack>.yaml`` file's project-namespace values (typed YAML values).

    Raises :class:`ConfigError` when the file is missing, is not YAML or has no ``config`` mapping.
    """
    import yaml

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read stack config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: 'config' must be a mapping of '<namespace>:<key>: value' entries")
    prefix = f"{project}:"
    values = {k[len(prefix) :]: v for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)}
    return RawConfig(values=values, source=str(path), fallback_location=_plain(config.get("azure-native:location")))


def ci_principal_problem(value: str) -> str | None:
    why = naming.guid_problem(value)
    if why is None:
        return None
    return f"{why}; use the service principal's object id: `az ad sp show --id <appId> --query id -o tsv`"


def declared_default(cls: type, name: str) -> Any:
    """The declared default of dataclass field ``name`` (the one place each default is written)."""
    field_ = next(f for f in fields(cls) if f.name == name)
    return field_.default_factory() if field_.default is MISSING else field_.default  # type: ignore[misc]


def _plain(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- validation (the keys of every service: infra.config_keys) ------------------------

class KeyParser:
    """Collects every problem before raising, so one run shows all of them."""

    def __init__(self, values: Mapping[str, Any], *, source: str, project: str, keys: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.source = source
        self.project = project
        self.keys = keys
        """Every key this service's stacks know, with its one-line meaning."""
        self.problems: list[str] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.project}:{key}: {text}")

    # typed getters: each returns the default (or None) after recording a problem

    def raw(self, key: str) -> Any:
        value = self.values.get(key)
        if isinstance(value, dict) and "secure" in value:
            self.problem(key, "is stored as a secret but is not secret; set it with plain `pulumi config set`")
            return None
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.problem(key, f"must be a string (got {type(value).__name__})")
            return default
        value = str(value).strip()
        return value if value else default

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.problem(key, f"must be true or false (got {value!r})")
        return default

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            number = int(value.strip())
        if number is None or not low <= number <= high:
            self.problem(key, f"must be a whole number from {low} to {high} (got {value!r})")
            return default
        return number

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key) or default
        for option in allowed:
            if value.lower() == option.lower():
                return option
        self.problem(key, f"must be one of {', '.join(allowed)} (got {value!r})")
        return default

    def string_list(self, key: str) -> list[str]:
        value = self.raw(key)
        if value is None:
            return []
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("["):
                try:
                    value = json.loads(stripped)
                except json.JSONDecodeError:
                    self.problem(key, "is not a valid JSON list; give a YAML list or comma-separated values")
                    return []
            else:
                value = [part for part in (p.strip() for p in stripped.split(",")) if part]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, "must be a list of strings")
            return []
        return [v.strip() for v in value]

    def string_map(self, key: str) -> dict[str, str]:
        value = self.raw(key)
        if value is None:
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                self.problem(key, "is not a valid JSON object; set entries with `pulumi config set --path tags.<name> <value>`")
                return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            self.problem(key, "must map tag names to string values")
            return {}
        if len(value) > MAX_TAGS:
            self.problem(key, f"at most {MAX_TAGS} tags are allowed (got {len(value)})")
        return dict(value)

    def named(self, key: str, check: Callable[[str], str | None], *, required: bool, default: str | None = None) -> str:
        value = self.text(key, default)
        if value is None:
            raw = self.values.get(key)
            # A wrong type or a secret was reported already; only an absent (or blank) value is "required".
            if required and (raw is None or (isinstance(raw, str) and not raw.strip())):
                self.problem(key, f"is required: run `pulumi config set {key} <value>` ({self.keys[key]})")
            return ""
        if (why := check(value)) is not None:
            self.problem(key, why)
        return value

    # the whole config

    def unknown_keys(self, service: str, other_service: str, other_keys: Mapping[str, str]) -> None:
        """Report keys this service does not know; a key of the other service says so."""
        for key in sorted(set(self.values) - set(self.keys)):
            if key in other_keys:
                self.problem(key, f"configures {other_service} stacks, not {service} stacks; remove it, or check the service key")
            else:
                self.problem(key, f"is not a known key of {service} stacks; known keys are: {', '.join(self.keys)}")

    def service(self, expected: str) -> None:
        """Check ``service`` (absent means ``expected``: the caller chose this config type)."""
        value = self.text("service", expected) or expected
        if value.lower() not in SERVICES:
            self.problem("service", f"must be one of {', '.join(SERVICES)} (got {value!r})")
        elif value.lower() != expected:
            self.problem("service", f"is {value!r}, but this is the {expected} config; load stacks with infra.stack_config")

    def resource_group(self, default: str | None) -> tuple[str, bool]:
        """(name, exists already) from resourceGroupName / existingResourceGroupName."""
        existing_rg = self.text("existingResourceGroupName")
        new_rg = self.text("resourceGroupName")
        if existing_rg and new_rg:
            self.problem(
                "existingResourceGroupName",
                "and resourceGroupName are both set; keep existingResourceGroupName to use an existing group, "
                "or resourceGroupName to create one, not both",
            )
        rg_key = "existingResourceGroupName" if existing_rg else "resourceGroupName"
        return self.named(rg_key, naming.resource_group_problem, required=False, default=default), bool(existing_rg)

    def fail_on_problems(self) -> None:
        if self.problems:
            raise ConfigError(
                f"invalid infrastructure config in {self.source}",
                problems=self.problems,
                hint="fix the keys above in Pulumi.<stack>.yaml or with `pulumi config set`; docs/infra.md lists every key",
            )

    def parse(self, fallback_location: str | None) -> InfraConfig:
        self.unknown_keys("vision", "azureml", AZUREML_KEYS)
        self.service("vision")

        location = self.location(fallback_location, example="westus2", display="West US 2",
                                 advice=f"model customization was offered in {regions.describe_supported()}",
                                 check=self.customization_region)
        vision_account = self.named("visionAccountName", naming.vision_account_problem, required=True)
        if self.values.get("visionSubdomain") is None and naming.vision_account_problem(vision_account) is None:
            # Derived from a valid account name; only a name longer than a DNS label can still fail.
            subdomain = vision_account.lower()
            if (why := naming.subdomain_problem(subdomain)) is not None:
                self.problem("visionSubdomain", f"the default (the account name) does not work: {why}; set visionSubdomain")
        else:
            subdomain = self.named("visionSubdomain", naming.subdomain_problem, required=False)
        storage_account = self.named("storageAccountName", naming.storage_account_problem, required=True)
        ci_principal = self.named("ciPrincipalId", ci_principal_problem, required=True)
        rg_name, existing_rg = self.resource_group(f"rg-{vision_account}" if vision_account else None)

        network = self.network()
        config = InfraConfig(
            location=location,
            vision_account_name=vision_account,
            vision_subdomain=subdomain,
            storage_account_name=storage_account,
            ci_principal_id=ci_principal.lower(),
            resource_group_name=rg_name,
            use_existing_resource_group=existing_rg,
            vision_sku=self.choice("visionSku", declared_default(InfraConfig, "vision_sku"), VISION_SKUS),
            disable_local_auth=self.flag("disableLocalAuth", declared_default(InfraConfig, "disable_local_auth")),
            network=network,
            storage_sku=self.choice("storageSku", declared_default(InfraConfig, "storage_sku"), STORAGE_SKUS),
            allow_shared_key_access=self.flag("allowSharedKeyAccess", declared_default(InfraConfig, "allow_shared_key_access")),
            blob_versioning=self.flag("blobVersioning", declared_default(InfraConfig, "blob_versioning")),
            blob_soft_delete_days=self.integer("blobSoftDeleteDays", declared_default(InfraConfig, "blob_soft_delete_days"), 0, 365),
            container_name=self.named("containerName", naming.container_problem, required=False,
                                      default=declared_default(InfraConfig, "container_name")),
            vision_storage_role=self.choice("visionStorageRole", declared_default(InfraConfig, "vision_storage_role"),
                                            VISION_STORAGE_ROLES),
            tags=self.string_map("tags"),
        )
        self.fail_on_problems()
        return config

    def location(self, fallback: str | None, *, example: str, display: str, advice: str,
                 check: Callable[[str, str], str | None] | None = None) -> str:
        """The ``location`` key (else ``fallback``, ``azure-native:location``) as a programmatic region
        name, "" when neither is set. ``example``/``display``: a region as the messages show it
        (``westus2``, ``West US 2``); ``advice`` ends the message for a missing location;
        ``check(region, value)`` is the service's own rule for a well-formed region (a problem or None).
        """
        value = self.text("location", fallback.strip() if fallback and fallback.strip() else None)
        if value is None:
            self.problem(
                "location",
                f"is required: run `pulumi config set location {example}` (or set azure-native:location); {advice}",
            )
            return ""
        region = regions.normalize_region(value)
        if not region.isalnum():
            self.problem("location", f"{value!r} is not a region name (e.g. {example} or '{display}')")
        elif check is not None and (why := check(region, value)) is not None:
            self.problem("location", why)
        return region

    def customization_region(self, region: str, value: str) -> str | None:
        """Vision stacks: the region must have offered model customization (or allowUnsupportedRegion)."""
        if regions.supports_customization(region) or self.flag("allowUnsupportedRegion", False):
            return None
        return (f"{value!r} never offered Image Analysis 4.0 model customization; use one of "
                f"{regions.describe_supported()}, or set allowUnsupportedRegion to true to deploy there anyway")

    def network(self) -> NetworkConfig:
        access = self.choice("publicNetworkAccess", "Enabled", PUBLIC_NETWORK_ACCESS)
        action = self.choice("networkDefaultAction", "Allow", DEFAULT_ACTIONS)
        rules: list[str] = []
        for entry in self.string_list("allowedIpRanges"):
            rule = self.ip_rule(entry)
            if rule is not None and rule not in rules:
                rules.append(rule)
        if rules and action == "Allow":
            self.problem(
                "allowedIpRanges",
                "has no effect while networkDefaultAction is Allow; set networkDefaultAction to Deny, or remove the ranges",
            )
        return NetworkConfig(public_network_access=access, default_action=action, ip_rules=tuple(rules))

    def ip_rule(self, entry: str) -> str | None:
        key = "allowedIpRanges"
        try:
            net = ipaddress.ip_network(entry, strict=True)
        except ValueError:
            self.problem(key, f"{entry!r} is not an IPv4 address or CIDR range with host bits zero (e.g. 203.0.113.0/24)")
            return None
        if net.version != 4:
            self.problem(key, f"{entry!r}: only IPv4 addresses and ranges are allowed in storage IP rules")
            return None
        if any(net.subnet_of(private) for private in _RFC1918):  # type: ignore[arg-type]
            self.problem(key, f"{entry!r} is a private (RFC 1918) range, which IP rules refuse; use public addresses")
            return None
        if net.prefixlen == 31:
            self.problem(key, f"{entry!r}: /31 ranges are refused by storage IP rules; list the two addresses instead")
            return None
        # Storage rejects /32; the bare address means the same to both services.
        return str(net.network_address) if net.prefixlen == 32 else str(net)
