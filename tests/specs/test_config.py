"""load_config: environments, defaults, stack outputs, secrets, and errors with file:line: field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconcile.errors import ConfigError
from reconcile.specs.config import ENTRA_SCOPE, STACK_OUTPUT_KEYS, find_config, load_config
from tests.specs.helpers import write

OUTPUTS = {
    "visionEndpoint": "https://vg-dev-abc.cognitiveservices.azure.com/",
    "visionAccountName": "vg-dev-abc",
    "visionSubdomain": "vg-dev-abc",
    "visionPrincipalId": "00000000-0000-0000-0000-000000000001",
    "resourceGroupName": "rg-vg-dev",
    "location": "eastus",
    "storageAccountName": "vgdevabc",
    "blobEndpoint": "https://vgdevabc.blob.core.windows.net/",
    "containerName": "datasets",
    "containerUrl": "https://vgdevabc.blob.core.windows.net/datasets",
    "ciPrincipalId": "00000000-0000-0000-0000-000000000002",
}

CONFIG = """\
defaultEnvironment: local
environments:
  dev:
    stackOutputs: infra/outputs/dev.json
    auth: {kind: entra}
  prod:
    endpoint: https://vg-prod.cognitiveservices.azure.com/
    auth: {kind: key}
    storage: {kind: azure, accountUrl: https://vgprod.blob.core.windows.net, container: prod-data}
    apiVersion: 2023-07-01-preview
    rateLimitTps: 5
    guardrails: {maxDeletions: 0}
"""


def config_problems(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def one(path: Path, **kwargs: object) -> str:
    found = config_problems(path, **kwargs)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "vision-gitops.yaml", CONFIG)
    write(tmp_path, "infra/outputs/dev.json", json.dumps(OUTPUTS, indent=2))
    return tmp_path


def test_embedded_local_default(repo: Path) -> None:
    c = load_config(repo / "vision-gitops.yaml", env={})
    assert c.name == "local" and c.is_embedded and c.endpoint == "embedded"
    assert c.root == repo.resolve()
    assert c.storage.kind == "local" and c.storage.path == repo.resolve() / ".vision-gitops/blobs"
    assert c.state_dir == repo.resolve() / ".vision-gitops"
    assert c.emulator_state_dir == repo.resolve() / ".vision-gitops/emulator"
    assert c.auth.kind == "none"
    assert c.api_version == "2023-04-01-preview"
    assert (c.rate_limit_tps, c.max_concurrency, c.timeout_seconds, c.max_retries) == (20.0, 4, 30.0, 5)
    assert c.specs == [repo.resolve() / "specs"]
    assert c.guardrails.max_deletions == 5
    assert c.emulator_speed == 3600.0


def test_stack_outputs_fill_endpoint_and_storage(repo: Path) -> None:
    c = load_config(repo / "vision-gitops.yaml", environment="dev", env={})
    assert c.endpoint == "https://vg-dev-abc.cognitiveservices.azure.com"
    assert not c.is_embedded
    assert c.auth.kind == "entra" and c.auth.scope == ENTRA_SCOPE and c.auth.key_env is None
    assert c.storage.kind == "azure"
    assert c.storage.account_url == "https://vgdevabc.blob.core.windows.net"
    assert c.storage.container == "datasets"
    assert c.stack_outputs is not None and c.stack_outputs.ci_principal_id.endswith("2")
    assert c.state_dir == repo.resolve() / ".vision-gitops/dev"


def test_explicit_values_win_over_stack_outputs(repo: Path) -> None:
    write(
        repo,
        "vision-gitops.yaml",
        CONFIG.replace(
            "    auth: {kind: entra}\n  prod",
            "    auth: {kind: entra}\n    endpoint: https://other.cognitiveservices.azure.com\n"
            "    storage: {kind: azure, container: mine}\n  prod",
        ),
    )
    c = load_config(repo / "vision-gitops.yaml", environment="dev", env={})
    assert c.endpoint == "https://other.cognitiveservices.azure.com"
    assert c.storage.container == "mine"
    assert c.storage.account_url == "https://vgdevabc.blob.core.windows.net"  # not given: from the stack


def test_environment_overrides_and_selection_by_env_var(repo: Path) -> None:
    c = load_config(repo / "vision-gitops.yaml", env={"VISION_GITOPS_ENV": "prod"})
    assert c.name == "prod"
    assert c.auth.kind == "key" and c.auth.key_env == "VISION_KEY"
    assert c.api_version == "2023-07-01-preview" and c.rate_limit_tps == 5
    assert c.guardrails.max_deletions == 0 and c.guardrails.max_budget_hours_per_model == 48
    # an explicit argument wins over the variable
    assert load_config(repo / "vision-gitops.yaml", environment="local", env={"VISION_GITOPS_ENV": "prod"}).name == "local"


def test_find_config_in_parents(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "specs/sub").mkdir(parents=True)
    monkeypatch.chdir(repo / "specs/sub")
    assert find_config() == (repo / "vision-gitops.yaml").resolve()
    assert load_config(env={}).root == repo.resolve()


def test_no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no vision-gitops.yaml found"):
        load_config(env={})


def test_unknown_environment_suggests(repo: Path) -> None:
    assert one(repo / "vision-gitops.yaml", environment="prd") == (
        "vision-gitops.yaml:2: environments: no environment 'prd' (from --env); did you mean 'prod'? "
        "(known: dev, local, local-azureml, prod); pick one of them or add it under 'environments'"
    )


def test_default_environment_must_exist_even_when_not_selected(repo: Path) -> None:
    write(repo, "vision-gitops.yaml", CONFIG.replace("defaultEnvironment: local", "defaultEnvironment: dve"))
    assert one(repo / "vision-gitops.yaml", environment="prod") == (
        "vision-gitops.yaml:1: defaultEnvironment: no environment 'dve'; did you mean 'dev'? (known: dev, local, local-azureml, prod); "
        "name one of them or add it under 'environments'"
    )


def test_unknown_field_names_line_and_path(repo: Path) -> None:
    write(repo, "vision-gitops.yaml", CONFIG.replace("    rateLimitTps: 5", "    rateLimitTPS: 5"))
    assert one(repo / "vision-gitops.yaml") == (
        "vision-gitops.yaml:11: environments.prod.rateLimitTPS: unknown field 'rateLimitTPS'; did you mean 'rateLimitTps'?"
    )


def test_bad_values(repo: Path) -> None:
    bad = CONFIG.replace("apiVersion: 2023-07-01-preview", "apiVersion: 2024-01-01").replace("rateLimitTps: 5", "rateLimitTps: 0")
    write(repo, "vision-gitops.yaml", bad)
    found = config_problems(repo / "vision-gitops.yaml")
    assert found[0].startswith("vision-gitops.yaml:10: environments.prod.apiVersion: '2024-01-01' is not allowed")
    assert found[1] == "vision-gitops.yaml:11: environments.prod.rateLimitTps: Input should be greater than 0"


def test_key_value_is_refused_without_echoing_it(repo: Path) -> None:
    secret = "0123456789abcdef0123456789abcdef"
    write(repo, "vision-gitops.yaml", CONFIG.replace("auth: {kind: key}", f"auth: {{kind: key, keyEnv: {secret}}}"))
    with pytest.raises(ConfigError) as info:
        load_config(repo / "vision-gitops.yaml", env={})
    assert secret not in str(info.value)
    assert info.value.problems[0].startswith(
        "vision-gitops.yaml:8: environments.prod.auth.keyEnv: this value looks like an Azure AI services key; never write secrets"
    )


@pytest.mark.parametrize(
    "value,what",
    [
        ("A" * 42 + "b1+/" * 11 + "==", "a storage account key"),
        ("x9" * 42, "an Azure AI services key"),
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "a bearer token"),
    ],
)
def test_secret_shaped_values_are_refused(repo: Path, value: str, what: str) -> None:
    write(repo, "vision-gitops.yaml", CONFIG.replace("auth: {kind: key}", f"auth: {{kind: key, keyEnv: '{value}'}}"))
    with pytest.raises(ConfigError) as info:
        load_config(repo / "vision-gitops.yaml", env={})
    assert value not in str(info.value)
    assert info.value.problems == [
        f"vision-gitops.yaml:8: environments.prod.auth.keyEnv: this value looks like {what}; never write secrets in "
        "this file: put it in an environment variable and give the variable's NAME (keyEnv / connectionStringEnv), "
        "or use auth: {kind: entra}"
    ]


def test_long_paths_are_not_mistaken_for_keys(repo: Path) -> None:
    long_path = "specs/" + "/".join(["abcdefgh"] * 12)
    write(repo, "vision-gitops.yaml", f"specs: [{long_path}]\n")
    assert load_config(repo / "vision-gitops.yaml", env={}).specs == [repo.resolve() / long_path]


def test_secret_keys_are_refused(repo: Path) -> None:
    write(repo, "vision-gitops.yaml", CONFIG.replace("auth: {kind: key}", "auth: {kind: key, key: hunter2}"))
    with pytest.raises(ConfigError) as info:
        load_config(repo / "vision-gitops.yaml", env={})
    assert "hunter2" not in str(info.value)
    assert info.value.problems == [
        "vision-gitops.yaml:8: environments.prod.auth.key: secrets never go in this file: remove it, put the value in "
        "an environment variable and name that variable instead (auth: {kind: key, keyEnv: VISION_KEY}; "
        "storage: {kind: azurite, connectionStringEnv: ...}), or use auth: {kind: entra}"
    ]


def test_connection_string_and_sas_values_are_refused(repo: Path) -> None:
    text = CONFIG.replace(
        "container: prod-data}",
        "container: prod-data}\n    stateDir: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=xyz'",
    ).replace("https://vgprod.blob.core.windows.net", "'https://vgprod.blob.core.windows.net/?sv=1&sig=abc'")
    write(repo, "vision-gitops.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(repo / "vision-gitops.yaml", env={})
    assert "AccountKey=xyz" not in str(info.value) and "sig=abc" not in str(info.value)
    found = info.value.problems
    assert any(p.startswith("vision-gitops.yaml:9: environments.prod.storage.accountUrl: this value looks like a SAS token") for p in found)
    assert any(p.startswith("vision-gitops.yaml:10: environments.prod.stateDir: this value looks like a connection string") for p in found)


def test_cross_field_rules(repo: Path) -> None:
    text = """\
    environments:
      a:
        endpoint: http://vision.example.com
        auth: {kind: none}
        storage: {kind: local, container: x}
      b:
        endpoint: embedded
        auth: {kind: key}
        stackOutputs: infra/outputs/dev.json
      c:
        endpoint: https://eastus.api.cognitive.microsoft.com
        auth: {kind: entra, keyEnv: VISION_KEY}
        emulatorSpeed: 10
      Bad_Name:
        endpoint: embedded
    """
    write(repo, "vision-gitops.yaml", text)
    found = config_problems(repo / "vision-gitops.yaml")
    expected_starts = [
        "vision-gitops.yaml:14: environments.Bad_Name: environment names use lowercase letters",
        "vision-gitops.yaml:2: environments.a: add 'storage:'"[:0] + "vision-gitops.yaml:3: environments.a.endpoint: the endpoint must be https://",
        "vision-gitops.yaml:4: environments.a.auth.kind: a real endpoint needs credentials",
        "vision-gitops.yaml:5: environments.a.storage.container: 'container' does not apply to storage kind local",
        "vision-gitops.yaml:5: environments.a.storage.kind: the real service cannot read a local folder",
        "vision-gitops.yaml:8: environments.b.auth.kind: the embedded emulator needs no credentials",
        "vision-gitops.yaml:9: environments.b.stackOutputs: an embedded environment takes nothing from stack outputs",
        "vision-gitops.yaml:11: environments.c.endpoint: Microsoft Entra ID needs the resource's custom-subdomain endpoint",
        "vision-gitops.yaml:12: environments.c.auth.keyEnv: keyEnv goes with kind key only",
        "vision-gitops.yaml:13: environments.c.emulatorSpeed: emulatorSpeed is only for 'endpoint: embedded'",
    ]
    for start in expected_starts:
        assert any(p.startswith(start) for p in found), (start, found)


def test_loopback_emulator_may_use_local_storage(repo: Path) -> None:
    write(
        repo,
        "vision-gitops.yaml",
        "environments:\n  test:\n    endpoint: http://127.0.0.1:8123/\n    auth: {kind: key, keyEnv: VISION_KEY}\n"
        "    storage: {kind: local, path: .blobs}\n",
    )
    c = load_config(repo / "vision-gitops.yaml", environment="test", env={})
    assert (c.endpoint, c.is_embedded, c.storage.path) == ("http://127.0.0.1:8123", False, repo.resolve() / ".blobs")


def test_remote_environment_needs_auth_and_storage(repo: Path) -> None:
    write(repo, "vision-gitops.yaml", "environments:\n  x:\n    endpoint: https://x.cognitiveservices.azure.com\n")
    found = config_problems(repo / "vision-gitops.yaml")
    assert found == [
        "vision-gitops.yaml:2: environments.x: add 'auth: {kind: entra}' (Microsoft Entra ID) or 'auth: {kind: key, keyEnv: VISION_KEY}'",
        "vision-gitops.yaml:2: environments.x: add 'storage:' (where apply uploads label files), e.g. {kind: azure, "
        "accountUrl: https://<account>.blob.core.windows.net, container: datasets}, or 'stackOutputs: <file>'",
    ]


def test_missing_stack_outputs_file(repo: Path) -> None:
    (repo / "infra/outputs/dev.json").unlink()
    assert one(repo / "vision-gitops.yaml", environment="dev") == (
        "vision-gitops.yaml:4: environments.dev.stackOutputs: stack outputs file infra/outputs/dev.json not found; "
        "with the environment's stack selected, run `pulumi -C infra stack output --json > infra/outputs/dev.json`"
    )
    # other environments do not read it
    assert load_config(repo / "vision-gitops.yaml", environment="prod", env={}).name == "prod"


def test_bad_stack_outputs_file(repo: Path) -> None:
    broken = dict(OUTPUTS)
    del broken["blobEndpoint"]
    broken["extraThing"] = "x"
    write(repo, "infra/outputs/dev.json", json.dumps(broken, indent=2))
    found = config_problems(repo / "vision-gitops.yaml", environment="dev")
    assert found[0].startswith("infra/outputs/dev.json:1: blobEndpoint: the stack does not export 'blobEndpoint'")
    assert found[1].startswith("infra/outputs/dev.json:12: extraThing: unexpected key 'extraThing'")
    write(repo, "infra/outputs/dev.json", "{\n  \"visionEndpoint\": \n}")
    assert one(repo / "vision-gitops.yaml", environment="dev").startswith("infra/outputs/dev.json:3: not valid JSON")


def test_stack_output_keys_match_the_infra_contract() -> None:
    from infra.outputs import OUTPUT_KEYS, StackOutputs

    assert tuple(OUTPUT_KEYS) == STACK_OUTPUT_KEYS
    # what the Pulumi program renders is what load_config reads
    assert StackOutputs.from_json_dict(OUTPUTS).to_json_dict() == OUTPUTS


def test_yaml_errors_in_config(repo: Path) -> None:
    write(repo, "vision-gitops.yaml", "defaultEnvironment: local\ndefaultEnvironment: dev\n")
    assert one(repo / "vision-gitops.yaml") == "vision-gitops.yaml:2: defaultEnvironment: duplicate key (first at line 1); keep only one"
    write(repo, "vision-gitops.yaml", "environments:\n  local: [\n")
    assert one(repo / "vision-gitops.yaml").startswith("vision-gitops.yaml:3: YAML syntax error:")
    write(repo, "vision-gitops.yaml", "- a\n")
    assert one(repo / "vision-gitops.yaml").startswith("vision-gitops.yaml:1: a config document must be a mapping")


def test_empty_config_is_the_embedded_default(repo: Path) -> None:
    write(repo, "vision-gitops.yaml", "specs: [specs, more-specs]\n")
    c = load_config(repo / "vision-gitops.yaml", env={})
    assert c.is_embedded and c.specs == [repo.resolve() / "specs", repo.resolve() / "more-specs"]


def test_repository_config_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    c = load_config(root / "vision-gitops.yaml", env={})
    assert c.name == "local" and c.is_embedded
    assert c.emulator_state_dir == root / ".vision-gitops/emulator"
    assert c.storage.path == root / ".vision-gitops/blobs"


def test_config_module_stays_light() -> None:
    """Importing the specs package must not pull in azure, httpx or numpy (CLI start-up)."""
    import subprocess
    import sys

    code = (
        "import sys, reconcile.specs.config, reconcile.specs.loader, reconcile.specs.schema, reconcile.specs.fingerprint;"
        "bad=[m for m in ('numpy','httpx','azure','azure.identity') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
