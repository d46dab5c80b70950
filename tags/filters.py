import django_filters

from .models import Tag


class TagFilter(django_filters.FilterSet):
    tag = django_filters.CharFilter(lookup_expr="icontains", help_text="Case-insensitive part of the tag value.")
    type = django_filters.MultipleChoiceFilter(
        choices=Tag.Type.choices, help_text="Tag type; repeat the parameter for several."
    )

    class Meta:
        model = Tag
        fields = ["tag", "type"]
