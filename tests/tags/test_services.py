"""The tag services other apps call: tags_resolve, stage_validate, tags_by_lower_name."""
import pytest
from crm.errors import ValidationFailed as ValidationError

from tags import selectors, services
from tags.models import Tag
from tests.factories import SYSTEM, UserFactory, WorkspaceFactory, actor_of

pytestmark = pytest.mark.django_db


def make_tag(workspace, tag, type="client", **kwargs):
    return Tag.objects.create(workspace=workspace, tag=tag, type=type, **kwargs)


def test_resolve_reads_existing_case_insensitively_in_one_query(django_assert_num_queries):
    workspace = WorkspaceFactory()
    vip = make_tag(workspace, "VIP")
    news = make_tag(workspace, "Newsletter", "common")
    with django_assert_num_queries(1):
        tags = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["vip", "NEWSLETTER", "Vip"])
    assert [t.id for t in tags] == [vip.id, news.id]


def test_resolve_creates_missing_as_client_in_one_insert(django_assert_num_queries):
    workspace = WorkspaceFactory()
    user = UserFactory()
    make_tag(workspace, "VIP")
    make_tag(workspace, "lead", "clientStage")  # another type: not a match
    actor = actor_of(workspace, user)
    with django_assert_num_queries(2):
        tags = services.tags_resolve(workspace=workspace, values=[" new ", "vip", "Lead", ""], actor=actor)
    assert [t.tag for t in tags] == ["new", "VIP", "Lead"]
    created = Tag.objects.get(pk=tags[0].pk)
    assert created.type == "client" and created.workspace_id == workspace.id and created.created_by_id == user.id
    assert Tag.objects.get(pk=tags[2].pk).type == "client"
    assert Tag.objects.filter(workspace=workspace).count() == 4


def test_resolve_prefers_the_first_type():
    workspace = WorkspaceFactory()
    make_tag(workspace, "x", "common")
    client = make_tag(workspace, "X", "client")
    assert services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["x"]) == [client]


def test_resolve_other_workspace_tags_are_not_used():
    workspace, other = WorkspaceFactory(), WorkspaceFactory()
    foreign = make_tag(other, "VIP")
    [tag] = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["VIP"])
    assert tag.pk != foreign.pk and tag.workspace_id == workspace.id


def test_resolve_for_messages():
    workspace = WorkspaceFactory()
    make_tag(workspace, "urgent", "client")
    [tag] = services.tags_resolve(
        workspace=workspace, actor=SYSTEM, values=["Urgent"], types=("message", "common"), create_type="message"
    )
    assert tag.type == "message"


def test_resolve_rejects_too_long_and_non_strings():
    workspace = WorkspaceFactory()
    with pytest.raises(ValidationError) as exc:
        services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["x" * 101])
    assert exc.value.field == "tags"
    with pytest.raises(ValidationError):
        services.tags_resolve(workspace=workspace, actor=SYSTEM, values=[12])
    assert not Tag.objects.filter(workspace=workspace).exists()


def test_resolve_rereads_a_tag_inserted_concurrently():
    """Simulates the race: the tag appears between our read and our insert."""
    workspace = WorkspaceFactory()
    original = services._insert_missing

    def insert_after_rival(**kwargs):
        rival = make_tag(workspace, "Race", "client")
        insert_after_rival.rival = rival
        return original(**kwargs)

    services._insert_missing = insert_after_rival
    try:
        [tag] = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["race"])
    finally:
        services._insert_missing = original
    assert tag.pk == insert_after_rival.rival.pk
    assert Tag.objects.filter(workspace=workspace, tag__iexact="race").count() == 1


def test_stage_validate():
    workspace, other = WorkspaceFactory(), WorkspaceFactory()
    stage = make_tag(workspace, "Won", "clientStage")
    client_tag = make_tag(workspace, "Won", "client")
    foreign = make_tag(other, "Won", "clientStage")
    assert services.stage_validate(workspace=workspace, stage_id=stage.id) == stage
    assert services.stage_validate(workspace=workspace, stage_id=str(stage.id)) == stage
    for bad in (client_tag.id, foreign.id, 999999, 2**70, 0, -1, "abc", None):
        with pytest.raises(ValidationError) as exc:
            services.stage_validate(workspace=workspace, stage_id=bad)
        assert exc.value.field == "stage_id"


def test_tags_by_lower_name(django_assert_num_queries):
    workspace = WorkspaceFactory()
    client = make_tag(workspace, "VIP", "client")
    make_tag(workspace, "vip", "common")
    common = make_tag(workspace, "Partner", "common")
    make_tag(workspace, "Won", "clientStage")
    with django_assert_num_queries(1):
        found = selectors.tags_by_lower_name(workspace=workspace, types=("client", "common"))
    assert found == {"vip": client, "partner": common}


def test_resolve_many_values_in_batches(monkeypatch, django_assert_num_queries):
    workspace = WorkspaceFactory()
    monkeypatch.setattr(services, "BATCH", 40)
    values = [f"t{i}" for i in range(100)]
    with django_assert_num_queries(3 + 3):  # 3 reads, then 3 inserts, of at most 40 values
        tags = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=values)
    assert [t.tag for t in tags] == values and len({t.pk for t in tags}) == 100
    assert Tag.objects.filter(workspace=workspace).count() == 100


def test_resolve_matches_like_the_unique_index_does():
    """PostgreSQL's lower() (the unique index's) and Python's differ for a
    final sigma: matching must follow the database, or a value would miss
    its tag, collide on insert and never resolve."""
    workspace = WorkspaceFactory()
    existing = make_tag(workspace, "ΣΑΣ")
    [tag] = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["σασ"])
    assert tag.pk == existing.pk
    tags = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["ΣΑΣ", "Σας"])
    assert tags[0].pk == existing.pk and tags[1].tag == "Σας"
    assert Tag.objects.filter(workspace=workspace).count() == 2


def test_resolved_tags_are_loaded_rows(django_assert_num_queries):
    workspace = WorkspaceFactory()
    [new] = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["fresh"])
    assert new.workspace == workspace and not new._state.adding
    new.description = "changed"
    new.save(update_fields=["description"])
    assert Tag.objects.get(pk=new.pk).description == "changed"


def test_resolve_rejects_nul():
    workspace = WorkspaceFactory()
    with pytest.raises(ValidationError):
        services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["a\x00b"])
