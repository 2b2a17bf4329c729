from tests.scim.conftest import Scim, USER, ENTERPRISE, PATCH_OP


def test_smoke(scim: Scim) -> None:
    with scim.client() as c:
        r = c.get("/Users", params={"filter": 'userName eq "nobody@acme.test"'})
        print(r.status_code, r.headers.get("content-type"), r.text)
        r = c.post("/Users", json={"schemas": [USER, ENTERPRISE], "userName": "ann@acme.test", "externalId": "x1",
                                   "name": {"givenName": "Ann", "familyName": "Lee"},
                                   "emails": [{"value": "ann@acme.test", "type": "work", "primary": True}],
                                   ENTERPRISE: {"employeeNumber": "E1", "department": "Sales"}})
        print(r.status_code, r.headers, r.text)
        uid = r.json()["id"]
        r = c.patch(f"/Users/{uid}", json={"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
        print(r.status_code, r.text)
        r = c.get("/Users", params={"filter": 'externalId eq "x1"', "attributes": "userName"})
        print(r.status_code, r.text)
        print(scim.members())
    print(scim.served.logs()[-3000:])


def test_tester(scim: Scim) -> None:
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import check_server
    with httpx2.Client(base_url=scim.base_url, headers={"Authorization": f"Bearer {scim.token}"},
                       event_hooks={"request": [lambda r: print("REQ", r.method, r.url, r.content[:600])]}) as c:
        client = SyncSCIMClient(c)
        client.discover()
        import typing
        seen = set()
        def walk(model):
            if model in seen: return
            seen.add(model)
            for name, f in model.model_fields.items():
                if name in ("given_name", "family_name"):
                    f.examples = ["Ann", "Bob", "Chloé", "O'Neil"]
                for arg in typing.get_args(f.annotation) + (f.annotation,):
                    for a in typing.get_args(arg) + (arg,):
                        if isinstance(a, type) and hasattr(a, "model_fields"):
                            walk(a)
        for m in client.provider.models:
            print("MODEL", m, list(m.model_fields))
            walk(m)
        results = check_server(client, raise_exceptions=False)
        for r in results:
            print(r.status.name, r.title, (r.reason or "")[:400])
