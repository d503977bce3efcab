"""Datasets: create-only PUT, PATCH with eTags, DELETE, list paging, lenient JSON, limits."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.emulator import api, raw

URI = "https://example.blob.core.windows.net/c/train.json"
BODY = {"annotationKind": "imageClassification", "annotationFileUris": [URI]}


def test_register_returns_201_with_read_only_fields(emulator):
    with api(emulator) as c:
        r = c.put("/datasets/ds-1", json=BODY)
    assert r.status_code == 201
    body = r.json()
    assert body["name"] == "ds-1"
    assert body["annotationKind"] == "imageClassification"
    assert body["annotationFileUris"] == [URI]
    assert body["createdDateTime"] == body["updatedDateTime"] == "2023-07-01T00:00:00.000Z"
    assert body["eTag"].isalpha() and body["eTag"].islower()
    assert "authentication" not in body and "customProperties" not in body


def test_put_on_existing_name_is_409_whatever_the_body(emulator):
    with api(emulator) as c:
        assert c.put("/datasets/ds", json=BODY).status_code == 201
        same = c.put("/datasets/ds", json=BODY)
        garbage = c.put("/datasets/ds", content=b"not json at all")
    for r in (same, garbage):
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "DatasetAlreadyExists"
        assert r.headers["x-ms-error-code"] == "DatasetAlreadyExists"


def test_lenient_json_single_quotes_trailing_commas_pascal_case_and_patch_media_type(emulator):
    text = "{'AnnotationKind': 'ImageObjectDetection', 'ANNOTATIONFILEURIS': ['%s',], 'CustomProperties': {'Team': 'a',},}" % URI
    with api(emulator) as c:
        r = c.put("/datasets/lenient", content=text, headers={"content-type": "application/json-patch+json"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["annotationKind"] == "imageObjectDetection"
    assert body["annotationFileUris"] == [URI]
    assert body["customProperties"] == {"Team": "a"}  # user keys keep their spelling


def test_get_list_and_404(emulator):
    with api(emulator) as c:
        c.put("/datasets/a", json=BODY)
        assert c.get("/datasets/a").json()["name"] == "a"
        missing = c.get("/datasets/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "DatasetNotFound"


def test_list_paging_with_next_link(emulator):
    with api(emulator) as c:
        for i in range(25):
            assert c.put(f"/datasets/d{i:02d}", json=BODY).status_code == 201
        first = c.get("/datasets").json()
        assert [d["name"] for d in first["value"]] == [f"d{i:02d}" for i in range(10)]
        names = [d["name"] for d in first["value"]]
        link = first["nextLink"]
        assert link.startswith(emulator.endpoint + "/computervision/datasets?")
        assert "api-version=2023-04-01-preview" in link and "skip=10" in link
        while link:
            # Followed verbatim (a client with preset params would replace its query string).
            page = raw("GET", link, headers={"Ocp-Apim-Subscription-Key": emulator.key}).json()
            names += [d["name"] for d in page["value"]]
            link = page.get("nextLink")
        assert names == [f"d{i:02d}" for i in range(25)]
        big = c.get("/datasets", params={"top": 30, "skip": 20}).json()
        assert len(big["value"]) == 5 and "nextLink" not in big


@pytest.mark.parametrize("params", [{"top": 31}, {"top": 0}, {"skip": -1}, {"top": "x"}])
def test_list_paging_limits(emulator, params):
    with api(emulator) as c:
        r = c.get("/datasets", params=params)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "InvalidRequest"


def test_patch_changes_etag_and_updated_time_every_time(emulator):
    with api(emulator) as c:
        created = c.put("/datasets/p", json=BODY).json()
        emulator.clock.advance(5)
        first = c.patch("/datasets/p", json={"customProperties": {"k": "v"}}).json()
        second = c.patch("/datasets/p", json={"customProperties": {"k": "v"}}).json()
    assert len({created["eTag"], first["eTag"], second["eTag"]}) == 3
    assert first["updatedDateTime"] == "2023-07-01T00:00:05.000Z"
    assert first["createdDateTime"] == created["createdDateTime"]
    # PATCH merges: fields not sent are kept.
    assert second["annotationFileUris"] == [URI] and second["customProperties"] == {"k": "v"}


@pytest.mark.parametrize("quote", ["{}", '"{}"', 'W/"{}"'])
def test_patch_if_match_accepts_quoted_and_unquoted(emulator, quote):
    with api(emulator) as c:
        etag = c.put("/datasets/q", json=BODY).json()["eTag"]
        r = c.patch("/datasets/q", json=BODY, headers={"If-Match": quote.format(etag)})
    assert r.status_code == 200


def test_patch_if_match_star_and_mismatch(emulator):
    with api(emulator) as c:
        etag = c.put("/datasets/q", json=BODY).json()["eTag"]
        assert c.patch("/datasets/q", json=BODY, headers={"If-Match": "*"}).status_code == 200
        stale = c.patch("/datasets/q", json=BODY, headers={"If-Match": etag})
        stale_delete = c.delete("/datasets/q", headers={"If-Match": f'"{etag}"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"
    assert stale_delete.status_code == 412


def test_patch_replaces_uri_list_and_refuses_kind_change(emulator):
    with api(emulator) as c:
        c.put("/datasets/k", json=BODY)
        r = c.patch("/datasets/k", json={"annotationKind": "imageClassification", "annotationFileUris": [URI, URI + "2"]})
        assert r.json()["annotationFileUris"] == [URI, URI + "2"]
        kind = c.patch("/datasets/k", json={"annotationKind": "imageObjectDetection"})
        missing = c.patch("/datasets/none", json=BODY)
        cleared = c.patch("/datasets/k", json={"annotationFileUris": []})
    assert kind.status_code == 400 and kind.json()["error"]["innererror"]["code"] == "AnnotationKindImmutable"
    assert missing.status_code == 404
    assert cleared.status_code == 400 and cleared.json()["error"]["code"] == "DatasetInvalidAnnotationUri"


def test_delete_then_404_and_name_is_free_again(emulator):
    with api(emulator) as c:
        etag = c.put("/datasets/d", json=BODY).json()["eTag"]
        r = c.delete("/datasets/d", headers={"If-Match": etag})
        assert r.status_code == 204 and r.content == b""
        assert c.get("/datasets/d").status_code == 404
        assert c.delete("/datasets/d").status_code == 404
        assert c.put("/datasets/d", json=BODY).status_code == 201


@pytest.mark.parametrize(
    "name", ["-leading-dash", "has space", "a" * 256, "ünïcode", "semi;colon"]
)
def test_name_rules(emulator, name):
    with api(emulator) as c:
        r = c.put(f"/datasets/{name}", json=BODY)
    assert r.status_code == 400
    assert r.json()["error"]["innererror"]["code"] == "InvalidName"


def test_name_max_length_is_accepted(emulator):
    with api(emulator) as c:
        assert c.put("/datasets/" + "a" * 255, json=BODY).status_code == 201


@pytest.mark.parametrize(
    ("body", "code", "inner"),
    [
        ({"annotationFileUris": [URI]}, "InvalidRequest", "MissingAnnotationKind"),
        ({"annotationKind": "video", "annotationFileUris": [URI]}, "InvalidRequest", "InvalidAnnotationKind"),
        ({"annotationKind": "imageClassification", "annotationFileUris": [URI] * 11}, "InvalidRequest",
         "TooManyAnnotationFiles"),
        ({"annotationKind": "imageClassification", "annotationFileUris": ["relative/path.json"]},
         "DatasetInvalidAnnotationUri", None),
        ({"annotationKind": "imageClassification", "annotationFileUris": ["ftp://x/y.json"]},
         "DatasetInvalidAnnotationUri", None),
        ({"annotationKind": "imageClassification"}, "DatasetInvalidAnnotationUri", None),
        ({**BODY, "customProperties": {f"k{i}": "v" for i in range(11)}}, "InvalidRequest", "TooManyCustomProperties"),
        ({**BODY, "customProperties": {"k": 1}}, "InvalidRequest", "InvalidBody"),
        ({**BODY, "authentication": {"kind": "magic"}}, "InvalidRequest", "InvalidAuthenticationKind"),
        ({**BODY, "authentication": {"kind": "sas"}}, "InvalidRequest", "MissingSasToken"),
        ({**BODY, "authentication": {"kind": "sas", "sasToken": "https://a/b?sv=1"}}, "InvalidRequest",
         "InvalidSasToken"),
        ({**BODY, "annotationData": {"categories": [{"id": 1, "name": "a"}]}}, "InvalidRequest",
         "UnsupportedProperty"),
        ([1, 2], "InvalidRequest", "InvalidBody"),
    ],
)
def test_register_validation_errors(emulator, body, code, inner):
    with api(emulator) as c:
        r = c.put("/datasets/v", json=body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == code and r.headers["x-ms-error-code"] == code
    if inner:
        assert err["innererror"]["code"] == inner


def test_ten_uris_and_ten_properties_are_accepted(emulator):
    body = {**BODY, "annotationFileUris": [f"{URI}{i}" for i in range(10)],
            "customProperties": {f"k{i}": "v" for i in range(10)}}
    with api(emulator) as c:
        assert c.put("/datasets/ten", json=body).status_code == 201


def test_sas_token_is_accepted_but_never_echoed(emulator):
    body = {**BODY, "authentication": {"kind": "sas", "sasToken": "?sv=2022-11-02&sig=SECRETSIG"}}
    with api(emulator) as c:
        created = c.put("/datasets/sas", json=body)
        got = c.get("/datasets/sas")
    assert created.status_code == 201
    for r in (created, got):
        assert "SECRETSIG" not in r.text
        assert r.json()["authentication"] == {"kind": "sas"}


def test_malformed_json_is_400(emulator):
    with api(emulator) as c:
        r = c.put("/datasets/bad", content=b"{'annotationKind': ")
        empty = c.put("/datasets/bad", content=b"")
    assert r.status_code == 400 and r.json()["error"]["innererror"]["code"] == "InvalidJson"
    assert empty.status_code == 400


def test_inline_annotation_data_only_in_07_01(emulator):
    data = {"categories": [{"id": 1, "name": "a"}], "images": [{"id": 1, "width": 64, "height": 64, "file_name": "x.png"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1}]}
    body = {"annotationKind": "imageClassification", "annotationData": data}
    with api(emulator, "2023-07-01-preview") as c7, api(emulator, "2023-04-01-preview") as c4:
        r = c7.put("/datasets/inline", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["annotationData"] == data
        assert "annotationData" not in c4.get("/datasets/inline").json()
        bad = c7.put("/datasets/inline2", json={"annotationKind": "imageClassification", "annotationData": {"categories": []}})
    assert bad.status_code == 400


INLINE = {"categories": [{"id": 1, "name": "a"}], "images": [{"id": 1, "width": 64, "height": 64, "file_name": "x.png"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 0.5, 0.5]}]}


@pytest.mark.parametrize(("key", "index", "change", "says"), [
    ("categories", 0, {"name": ""}, "'name' must be 1..255 characters long"),
    ("categories", 0, {"id": 0}, "'id' must be 1..100"),
    ("categories", 0, {"id": True}, "'id' must be an integer"),
    ("images", 0, {"file_name": None}, "'file_name' must be a string"),
    ("images", 0, {"width": 0.5}, "'width' must be 1..16000"),
    ("annotations", 0, {"bbox": [0, 0, 1]}, "'bbox' must be four numbers"),
    ("annotations", 0, {"image_id": 1001}, "'image_id' must be 1..1000"),
])
def test_inline_annotation_data_items_follow_the_swagger(emulator, key, index, change, says):
    """An item the swagger's schema refuses is a 400, never stored and echoed back."""
    data = {k: [dict(item) for item in v] for k, v in INLINE.items()}
    data[key][index].update(change)
    with api(emulator, "2023-07-01-preview") as c:
        r = c.put("/datasets/inline", json={"annotationKind": "imageClassification", "annotationData": data})
        gone = c.get("/datasets/inline")
    assert r.status_code == 400 and r.json()["error"]["innererror"]["code"] == "InvalidAnnotationData"
    assert says in r.json()["error"]["message"] and f"annotationData.{key}[{index}]" in r.json()["error"]["message"]
    assert gone.status_code == 404


def test_names_are_case_sensitive(emulator):
    with api(emulator) as c:
        assert c.put("/datasets/Photos", json=BODY).status_code == 201
        assert c.put("/datasets/photos", json=BODY).status_code == 201
        assert c.get("/datasets/PHOTOS").status_code == 404


def test_read_only_fields_in_a_put_body_are_ignored_and_no_etag_header(emulator):
    body = {**BODY, "name": "other", "eTag": "mine", "createdDateTime": "2000-01-01T00:00:00.000Z"}
    with api(emulator) as c:
        r = c.put("/datasets/ro", json=body)
    assert r.status_code == 201
    got = r.json()
    assert got["name"] == "ro" and got["eTag"] != "mine" and got["createdDateTime"].startswith("2023-07-01")
    assert "etag" not in r.headers  # the eTag travels in the body only
