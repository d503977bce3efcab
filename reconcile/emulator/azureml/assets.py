"""Workspace, datastores, data and model assets (REFERENCE §3.1–3.3, §3.5)."""

from __future__ import annotations

from typing import Any

from reconcile.emulator.azureml.arm import PROVIDER, not_found, system_data, user_error
from reconcile.emulator.azureml.base import (
    DATA, DATA_VERSION, MODEL, MODEL_VERSION, Call, check_name, props_of, Reply, ServiceBase, str_dict,
)
from reconcile.emulator.azureml.datastore import DEFAULT_DATASTORE
from reconcile.emulator.azureml.records import Resource


class AssetOperations(ServiceBase):
    # --- workspace and datastores -------------------------------------------------------

    def workspace(self, call: Call) -> Reply:
        rg_id = f"/subscriptions/{self.ws.subscription}/resourceGroups/{self.ws.resource_group}/providers"
        host = call.base.split("://", 1)[-1]
        props = {
            "workspaceId": self.ws.workspace_id,
            "friendlyName": self.ws.name,
            "description": "Emulated Azure Machine Learning workspace (vision-gitops)",
            "storageAccount": f"{rg_id}/Microsoft.Storage/storageAccounts/emulatedstorage",
            "keyVault": f"{rg_id}/Microsoft.KeyVault/vaults/emulatedvault",
            "applicationInsights": f"{rg_id}/Microsoft.insights/components/emulatedinsights",
            "containerRegistry": f"{rg_id}/Microsoft.ContainerRegistry/registries/emulatedregistry",
            "discoveryUrl": f"{call.base}/discovery",
            "mlFlowTrackingUri": f"azureml://{host}/mlflow/v1.0{self.ws.scope}",
            "provisioningState": "Succeeded",
            "v1LegacyMode": False,
            "publicNetworkAccess": "Enabled",
            "hbiWorkspace": False,
        }
        return Reply(200, {
            "id": self.ws.scope, "name": self.ws.name, "type": f"{PROVIDER}/workspaces", "location": self.ws.region,
            "tags": {}, "kind": "Default", "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {"type": "SystemAssigned", "principalId": "0d9f8a70-0000-4000-8000-00000000a001",
                         "tenantId": "72f988bf-0000-4000-8000-000000000000"},
            "systemData": system_data(0.0, 0.0), "properties": props,
        })

    def discovery(self, base: str) -> dict[str, str]:
        keys = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling",
                "modelmanagement", "pipelines", "studio")
        return {k: base for k in keys}

    def _datastore(self) -> dict[str, Any]:
        cfg = self.blobs.config
        return {
            "id": self.arm_id("datastores", DEFAULT_DATASTORE), "name": DEFAULT_DATASTORE,
            "type": f"{PROVIDER}/workspaces/datastores", "systemData": system_data(0.0, 0.0),
            "properties": {
                "datastoreType": "AzureBlob", "accountName": cfg.account if cfg else "devstoreaccount1",
                "containerName": cfg.container if cfg else "azureml-blobstore", "endpoint": "core.windows.net",
                "protocol": "https", "isDefault": True,
                "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey"}},
                "serviceDataAccessAuthIdentity": "None", "description": "The workspace's default blob store",
                "tags": {}, "properties": {},
            },
        }

    def list_datastores(self, call: Call) -> Reply:
        items = [self._datastore()]
        if call.query.get("isDefault", "").lower() == "false":
            items = []
        names = call.query.get("names")
        if names:
            items = [d for d in items if d["name"] in names.split(",")]
        return self._page(call, items)

    def get_datastore(self, call: Call, name: str) -> Reply:
        if name != DEFAULT_DATASTORE:
            raise not_found("Datastore", name)
        return Reply(200, self._datastore())

    def datastore_secrets(self, call: Call, name: str) -> Reply:
        if name != DEFAULT_DATASTORE:
            raise not_found("Datastore", name)
        if self.blobs.config is None:
            raise user_error("The emulator has no blob storage configured, so the datastore has no key.")
        return Reply(200, {"secretsType": "AccountKey", "key": self.blobs.config.key})

    # --- data and model assets ---------------------------------------------------------

    def _container_body(self, kind: str, r: Resource) -> dict[str, Any]:
        versions = self.store.all(kind + "_version", r.name)
        numeric = [int(v.name) for v in versions if v.name.isdigit()]
        props = dict(r.body.get("properties") or {})
        props.setdefault("isArchived", False)
        props.setdefault("tags", {})
        props.setdefault("properties", {})
        if versions:
            props["latestVersion"] = versions[-1].name
        props["nextVersion"] = str(max(numeric, default=0) + 1)
        arm = "data" if kind == DATA else "models"
        return self._envelope(r, arm, self.arm_id(arm, r.name), props)

    def get_container(self, call: Call, kind: str, name: str) -> Reply:
        r = self.store.get(kind, name)
        if r is None:
            raise not_found("Data asset" if kind == DATA else "Model", name)
        return Reply(200, self._container_body(kind, r))

    def list_containers(self, call: Call, kind: str) -> Reply:
        items = [self._container_body(kind, r) for r in self.store.all(kind)
                 if self._view(call, bool((r.body.get("properties") or {}).get("isArchived")))]
        return self._page(call, items)

    def put_container(self, call: Call, kind: str, name: str, body: Any) -> Reply:
        check_name(name, "Data asset" if kind == DATA else "Model")
        props = props_of(body, "a container")
        if kind == DATA and props.get("dataType") not in ("mltable", "uri_file", "uri_folder"):
            raise user_error("properties.dataType is required: mltable, uri_file or uri_folder.")
        keep = {k: props[k] for k in ("description", "tags", "properties", "isArchived", "dataType") if k in props}
        now = self.now()
        with self.store.lock:
            old = self.store.get(kind, name)
            if old is None:
                self.store.insert(Resource(kind, "", name, now, now, {"properties": keep}))
                status = 201
            else:
                if kind == DATA and keep.get("dataType", old.body["properties"].get("dataType")) != \
                        old.body["properties"].get("dataType"):
                    raise user_error("dataType of an existing data asset cannot be changed.")
                merged = {**old.body["properties"], **keep}
                self.store.update(Resource(kind, "", name, old.created, now, {"properties": merged}))
                status = 200
            return Reply(status, self._container_body(kind, self.store.get(kind, name)))

    def _version_body(self, kind: str, r: Resource) -> dict[str, Any]:
        props = dict(r.body["properties"])
        for key, default in (("tags", {}), ("properties", {}), ("isArchived", False), ("isAnonymous", False)):
            props.setdefault(key, default)
        if kind == MODEL_VERSION:
            props.setdefault("flavors", {})
            if props.get("modelType") == "mlflow_model" and not props["flavors"]:
                props["flavors"] = {"python_function": {"data": {"loader_module": "mlflow.pyfunc.model"}}}
        arm = "data" if kind == DATA_VERSION else "models"
        return self._envelope(r, "data/versions" if arm == "data" else "models/versions",
                              self.arm_id(arm, r.scope, "versions", r.name), props)

    def put_version(self, call: Call, kind: str, name: str, version: str, body: Any) -> Reply:
        is_data = kind == DATA_VERSION
        check_name(name, "Data asset" if is_data else "Model")
        props = props_of(body, "a data version" if is_data else "a model version")
        uri_key = "dataUri" if is_data else "modelUri"
        if is_data:
            if props.get("dataType") not in ("mltable", "uri_file", "uri_folder"):
                raise user_error("properties.dataType is required: mltable, uri_file or uri_folder.")
            if not isinstance(props.get("dataUri"), str) or not props["dataUri"]:
                raise user_error("properties.dataUri is required: the folder that holds the MLTable file.")
        elif props.get("modelUri") is not None and not isinstance(props["modelUri"], str):
            raise user_error("properties.modelUri must be a string.")
        str_dict(props.get("tags"), "properties.tags")
        str_dict(props.get("properties"), "properties.properties")
        container_kind = DATA if is_data else MODEL
        now = self.now()
        with self.store.lock:
            old = self.store.get(kind, version, name)
            if old is None:
                if self.store.get(container_kind, name) is None:
                    cprops: dict[str, Any] = {"isArchived": False}
                    if is_data:
                        cprops["dataType"] = props["dataType"]
                    self.store.insert(Resource(container_kind, "", name, now, now, {"properties": cprops}))
                self.store.insert(Resource(kind, name, version, now, now, {"properties": props}))
                return Reply(201, self._version_body(kind, self.store.get(kind, version, name)))
            before = old.body["properties"]
            if props.get(uri_key) != before.get(uri_key) and props.get(uri_key) is not None:
                raise user_error("Asset paths cannot be updated.")
            create_only = ("dataType",) if is_data else ("modelType", "jobName", "flavors")
            for key in create_only:
                if key in props and props[key] != before.get(key) and not (key == "flavors" and not props[key]):
                    raise user_error(f"properties.{key} of an existing version cannot be changed "
                                     f"(versions are immutable; register a new version).")
            merged = dict(before)
            for key in ("description", "tags", "isArchived", "stage"):
                if key in props:
                    merged[key] = props[key]
            added = str_dict(props.get("properties"), "properties.properties")
            merged["properties"] = {**added, **(before.get("properties") or {})}
            self.store.update(Resource(kind, name, version, old.created, now, {"properties": merged}))
            return Reply(200, self._version_body(kind, self.store.get(kind, version, name)))

    def get_version(self, call: Call, kind: str, name: str, version: str) -> Reply:
        r = self.store.get(kind, version, name)
        if r is None:
            raise not_found("Data asset version" if kind == DATA_VERSION else "Model version", f"{name}:{version}")
        return Reply(200, self._version_body(kind, r))

    def list_versions(self, call: Call, kind: str, name: str) -> Reply:
        rows = [r for r in self.store.all(kind, name)
                if self._view(call, bool(r.body["properties"].get("isArchived")))]
        order = (call.query.get("$orderBy") or "").lower().replace(" ", "")
        if order == "createdtimedesc":
            rows.reverse()
        tags = call.query.get("$tags") or call.query.get("tags")
        if tags:
            for cond in tags.split(","):
                k, _, v = cond.partition("=")
                rows = [r for r in rows if k in (r.body["properties"].get("tags") or {})
                        and (not v or r.body["properties"]["tags"][k] == v)]
        if call.query.get("version"):
            rows = [r for r in rows if r.name == call.query["version"]]
        return self._page(call, [self._version_body(kind, r) for r in rows])

    def delete_asset(self, call: Call, kind: str, name: str, version: str | None) -> Reply:
        if kind in (DATA, DATA_VERSION) and self.settings.refuse_data_delete:
            raise user_error("Deleting a data asset is not supported; archive it instead (isArchived: true).")
        with self.store.lock:
            if version is None:
                if not self.store.delete(kind, name):
                    return Reply(204)
                for v in self.store.all(kind + "_version", name):
                    self.store.delete(kind + "_version", v.name, name)
                return Reply(200)
            return Reply(200 if self.store.delete(kind, version, name) else 204)

