"""The base every contract model derives from.

Contracts are frozen, reject unknown fields and speak camelCase on the wire
(``modelName``, ``projectSlug``) while Python code uses snake_case attributes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Contract(BaseModel):
    """A frozen, strict, camelCase-on-the-wire pydantic model."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
    )

    def to_wire(self) -> dict[str, object]:
        """The JSON-ready dict with camelCase keys, as sent on the wire."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
