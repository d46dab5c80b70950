"""django-filter building blocks shared by the apps' FilterSets."""
import django_filters
from drf_spectacular.utils import extend_schema_field


class DocumentedFilter(django_filters.Filter):
    """A filter whose OpenAPI schema is `schema` (bounds, item types...) plus
    its help_text. drf-spectacular drops the help_text of a filter whose class
    carries @extend_schema_field, so the schema is set on each instance."""

    schema: dict = {"type": "string"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schema = dict(self.schema)
        if self.extra.get("help_text"):
            schema["description"] = str(self.extra["help_text"])
        extend_schema_field(schema)(self)
