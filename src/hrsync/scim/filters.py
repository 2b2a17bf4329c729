"""``GET /Users?filter=`` (RFC 7644 §3.4.2.2), as the clients use it: ``eq`` joined by ``and`` (and
``or``) on ``userName``, ``externalId``, ``id``, ``emails[type eq "work"].value`` (or ``emails.value``)
and the enterprise ``employeeNumber``.

The expression is parsed by ``scim2-models``' filter grammar (docs/decisions/0033-scim-door.md); this
module turns its tree into a :class:`Criteria` tree the service answers from indexed columns. Anything
else is a 400 ``invalidFilter`` naming what is not supported.
"""

from __future__ import annotations

from dataclasses import dataclass

from scim2_models.exceptions import InvalidFilterException
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    ScimFilter,
    ValuePath,
)

from hrsync.scim.discovery import ENTERPRISE, USER
from hrsync.scim.errors import ScimError

MAX_FILTER_LENGTH = 1000

#: What a filter may compare, as the service names it.
USER_NAME, EXTERNAL_ID, EMAIL, EMPLOYEE_ID, ID = "user_name", "external_id", "email", "employee_id", "id"


@dataclass(frozen=True)
class Equals:
    field: str  # one of the names above
    value: str


@dataclass(frozen=True)
class Criteria:
    op: str  # "and" | "or"
    terms: tuple[Equals | Criteria, ...]


def _invalid(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def _field(uri: str | None, attr: str, sub: str | None) -> str:
    uri_l, name = (uri or "").lower(), attr.lower()
    if uri_l == ENTERPRISE.lower() and name == "employeenumber" and sub is None:
        return EMPLOYEE_ID
    if uri_l in ("", USER.lower()):
        if sub is None and name in ("username", "externalid", "id"):
            return {"username": USER_NAME, "externalid": EXTERNAL_ID, "id": ID}[name]
        if name == "emails" and (sub or "value").lower() == "value":
            return EMAIL
        if sub is None and name == "employeenumber":  # written without its URN, as some clients do
            return EMPLOYEE_ID
    what = f"{uri + ':' if uri else ''}{attr}{'.' + sub if sub else ''}"
    raise _invalid(f"Filtering on {what!r} is not supported: use userName, externalId, "
                   "emails[type eq \"work\"].value or employeeNumber.")


def _equals(node: Comparison) -> Equals:
    if node.op != CompareOperator.eq:
        raise _invalid(f"Only 'eq' is supported, not {node.op.value!r}.")
    if not isinstance(node.value, (str, int)) or isinstance(node.value, bool):
        raise _invalid("Compare with a string.")
    return Equals(_field(node.attr_path.uri, node.attr_path.attr, node.attr_path.sub_attr), str(node.value))


def _email_selection(node: ValuePath) -> Equals:
    """``emails[type eq "work" and value eq "x"]`` or ``emails[value eq "x"]``."""
    if node.attr_path.attr.lower() != "emails" or node.sub_attr is not None:
        raise _invalid(f"Filtering on {node.attr_path.attr!r} values is not supported.")
    terms = node.val_filter.terms if isinstance(node.val_filter, LogicalExpr) else (node.val_filter,)
    if isinstance(node.val_filter, LogicalExpr) and node.val_filter.op != LogicalOperator.and_:
        raise _invalid("An e-mail selection joins its terms with 'and'.")
    value = None
    for term in terms:
        if not isinstance(term, Comparison) or term.op != CompareOperator.eq:
            raise _invalid("An e-mail selection compares with 'eq'.")
        name = term.attr_path.attr.lower()
        if name == "type" and str(term.value).lower() == "work":
            continue
        if name == "value" and isinstance(term.value, str):
            value = term.value
            continue
        raise _invalid("Only the work e-mail address can be filtered on (type eq \"work\").")
    if value is None:
        raise _invalid("An e-mail filter needs the address: emails[type eq \"work\"].value eq \"…\".")
    return Equals(EMAIL, value)


def _convert(node: FilterNode) -> Equals | Criteria:
    if isinstance(node, Comparison):
        return _equals(node)
    if isinstance(node, ValuePath):
        return _email_selection(node)
    if isinstance(node, LogicalExpr):
        return Criteria(node.op.value, tuple(_convert(term) for term in node.terms))
    raise _invalid("Only 'eq' comparisons joined by 'and' or 'or' are supported.")


def parse_filter(expression: str | None) -> Equals | Criteria | None:
    """The filter as criteria, ``None`` for no filter; raises 400 ``invalidFilter``."""
    if expression is None or not expression.strip():
        return None
    if len(expression) > MAX_FILTER_LENGTH:
        raise _invalid(f"A filter has at most {MAX_FILTER_LENGTH} characters.")
    try:
        tree = ScimFilter(expression).ast
    except (InvalidFilterException, ValueError) as exc:
        raise _invalid(f"The filter cannot be read: {exc}.") from None
    return _convert(tree)
