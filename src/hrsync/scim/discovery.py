"""What the SCIM door says of itself: ServiceProviderConfig, ResourceTypes and Schemas (RFC 7643 §5–7).

The User schema lists only the attributes hrsync keeps (docs/scim.md, "Attributes"): a client or a
compliance checker that reads it knows what will come back.
"""

from __future__ import annotations

from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

MAX_RESULTS = 200  # the largest page GET /Users answers with (count above it is cut to it)


def _attr(name: str, type_: str = "string", *, description: str = "", required: bool = False,
          multi: bool = False, mutability: str = "readWrite", returned: str = "default",
          uniqueness: str = "none", case_exact: bool = False, sub: list[dict[str, Any]] | None = None,
          canonical: list[str] | None = None) -> dict[str, Any]:
    attr: dict[str, Any] = {
        "name": name, "type": type_, "multiValued": multi, "description": description or name,
        "required": required, "mutability": mutability, "returned": returned,
    }
    if type_ in ("string", "reference"):
        attr["caseExact"] = case_exact
        attr["uniqueness"] = uniqueness
    if type_ == "reference":
        attr["referenceTypes"] = ["User"]
    if sub is not None:
        attr["subAttributes"] = sub
    if canonical is not None:
        attr["canonicalValues"] = canonical
    return attr


def _meta(resource_type: str, location: str) -> dict[str, Any]:
    return {"resourceType": resource_type, "location": location}


def user_schema(base: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA], "id": USER, "name": "User", "description": "A member of the rewards programme",
        "attributes": [
            _attr("userName", required=True, uniqueness="server",
                  description="Unique per SCIM integration, compared without regard to case"),
            _attr("name", "complex", sub=[_attr("givenName"), _attr("familyName")]),
            _attr("displayName", mutability="readOnly"),
            _attr("title"),
            _attr("active", "boolean"),
            _attr("emails", "complex", multi=True, required=True,
                  description="The member's work e-mail address (required: every member has one)", sub=[
                _attr("value", required=True), _attr("type", canonical=["work"]), _attr("primary", "boolean"),
            ]),
        ],
        "meta": _meta("Schema", f"{base}/Schemas/{USER}"),
    }


def enterprise_schema(base: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA], "id": ENTERPRISE, "name": "EnterpriseUser", "description": "Enterprise User",
        "attributes": [
            _attr("employeeNumber", required=True,
                  description="The member's employee ID, unique in the programme (hrsync takes externalId "
                              "when a User has no employeeNumber)"),
            _attr("department"),
            _attr("manager", "complex", sub=[
                _attr("value", description="The manager's id or name, kept as the member's manager"),
                _attr("displayName", mutability="readOnly"),
            ]),
        ],
        "meta": _meta("Schema", f"{base}/Schemas/{ENTERPRISE}"),
    }


def schemas(base: str) -> list[dict[str, Any]]:
    return [user_schema(base), enterprise_schema(base)]


def resource_types(base: str) -> list[dict[str, Any]]:
    return [{
        "schemas": [RESOURCE_TYPE], "id": "User", "name": "User", "endpoint": "/Users",
        "description": "A member of the rewards programme", "schema": USER,
        "schemaExtensions": [{"schema": ENTERPRISE, "required": True}],
        "meta": _meta("ResourceType", f"{base}/ResourceTypes/User"),
    }]


def service_provider_config(base: str, docs_url: str) -> dict[str, Any]:
    unsupported = {"supported": False}
    return {
        "schemas": [SPC],
        "documentationUri": docs_url,
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": unsupported,
        "sort": unsupported,
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": True,
            "description": "The integration's SCIM token, sent as Authorization: Bearer <token>",
        }],
        "meta": {**_meta("ServiceProviderConfig", f"{base}/ServiceProviderConfig")},
    }
