"""The registry: one entry per Looker content type.

Every content type is data, not a code path. An entry says how the type is listed, which
form is stored (the detail endpoint's response, or the list row where the spec gives the list
the detail schema), and where its id, name, owner and timestamps live.

The integer codes are stored in every row of the database forever: never renumber or reuse one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ListCall:
    """One listing request (paged with limit/offset when `paged`), or, with `objects_of`,
    the objects of another content type."""

    path: str = ""
    params: dict[str, str] = field(default_factory=dict)
    paged: bool = False
    # The listing yields refs: the values that fill the detail path template. `ref` maps a
    # template variable to a key of the list row; with `expand`, each element of the row's
    # `expand` array becomes one ref, and `parent.` keys read from the row itself.
    expand: str | None = None
    ref: dict[str, str] = field(default_factory=lambda: {"id": "id"})
    # Keys the listing asks for (`fields`): enough for refs, cheap to send.
    fields: str | None = None
    # The listing row (the keys `fields` asks for) is the object's version: when it equals the
    # row seen when the stored copy was fetched, no detail request is needed. False = always
    # fetch (and compare checksums).
    versioned: bool = False
    # Rows per page when rows are known to be large (else the resource's page_size); pages
    # that still come back large shrink further on their own.
    page_size: int | None = None
    # Rows without the `ref` keys address nothing (a folder without content metadata) and are
    # passed over; else such a row is an error.
    optional_ref: bool = False
    # The listing takes an `id` filter, and its rows differ from the single-object endpoint's
    # form: an object the listing missed is re-read through it (see ContentStream.lookup).
    reread_by_id: bool = False
    # No request of its own: the rows are the objects of the content type named here, as its
    # own sync gets them (its listing; each object read from the store where that listing
    # proves the stored copy current, else fetched), for refs that only live inside other
    # objects (a merge query's source queries). `expand` and `ref` read those objects.
    objects_of: str | None = None
    # With `versioned`: a change signal (looker/signals.py) whose answer for the listing row
    # joins the version, for objects that change without their listing row changing
    # (explores, when their project deploys).
    signal: str | None = None


@dataclass(frozen=True)
class Reference:
    """A key of the stored object that holds the id of an object of another type."""

    # A key, or a dotted path through nested objects and lists
    # (`dashboard_elements.merge_result_id`); a list of ids counts each.
    field: str
    target: str

    def values(self, obj: Any) -> Iterator[Any]:
        """The ids `field` holds in `obj` (None and missing keys skipped)."""
        found = [obj]
        for key in self.field.split("."):
            found = [item.get(key) for value in found
                     for item in (value if isinstance(value, list) else [value])
                     if isinstance(item, dict)]
        for value in found:
            for one in value if isinstance(value, list) else [value]:
                if one is not None:
                    yield one


# How a content type sees change (ContentType.change); README's table lists every type's.
CHANGES: dict[str, str] = {
    "version": "a version in the listing: only objects whose listing row changed are fetched",
    "listing": "the listing embeds what changes: its rows are the objects, so its pages are "
               "the whole cost",
    "immutable": "an immutable id: each object is fetched once, never again",
    "parent": "a parent's signal: another object's listing row or a deploy says when to "
              "re-read",
    "none": "no signal: every object is re-read every sync",
}
# Cadences of the re-read of what no signal shows (ContentType.reread): a Dagster schedule
# each, re-reading every object of the types that name it.
REREAD_CADENCES: dict[str, str] = {"weekly": "every 7 days"}


@dataclass(frozen=True)
class ContentType:
    code: int
    name: str
    listing: tuple[ListCall, ...]
    # How the type sees change (a key of CHANGES) and, in words, what exactly.
    change: str = "listing"
    change_note: str = ""
    # What no signal shows is re-read on this cadence (a key of REREAD_CADENCES): a schedule
    # of its own re-reads every object of the type; nightly syncs read what the signal says.
    reread: str | None = None
    # Detail path template filled from a ref; None = the list rows are stored as they come.
    detail: str | None = None
    # Query parameters of the detail request (a sub-collection's `fields`, say), filled from
    # the ref like the path (`{id}`).
    detail_params: dict[str, str] = field(default_factory=dict)
    # The single-object endpoint (filled from the id's parts), used to confirm that an object
    # a listing lacked is really gone before it is soft-deleted. Defaults to `detail`.
    lookup: str | None = None
    # How the stored id is made from the ref (detail types) or from the row (list types).
    id_template: str = "{id}"
    name_field: str | None = "name"
    owner_field: str | None = None
    owner_email_field: str | None = None
    created_field: str | None = None
    updated_field: str | None = None
    description: str = ""
    references: tuple[Reference, ...] = ()
    # Looker permissions the API user needs to see every object of the type (checked before
    # a sync; "administer" = an admin role).
    permissions: tuple[str, ...] = ()
    # Objects never change once created and Looker never deletes them (queries, merge
    # queries): the id is the version, so a stored object is never fetched again, and one the
    # listing no longer reaches is kept, still current, without asking Looker.
    immutable: bool = False

    @property
    def lookup_path(self) -> str:
        path = self.lookup or self.detail
        assert path is not None, f"{self.name} has no single-object endpoint"
        return path


# What identifies a version of a look or dashboard in its listing: updated_at, the trash, and
# what Looker embeds from other objects at read time without touching updated_at (the owner's
# name, the folder, a tile's look), so a renamed folder or user is a new version, not a stale
# copy in the history.
LOOK_VERSION = "id,updated_at,deleted,user_name,is_owner_disabled,folder"
DASHBOARD_VERSION = (f"{LOOK_VERSION},last_updater_name,"
                     f"dashboard_elements(id,look({LOOK_VERSION}))")


def _content_metadata_listing(folder_fields: str, board_fields: str) -> tuple[ListCall, ...]:
    """Every folder and board, by the content_metadata_id that access hangs off (rows of
    LookML dashboards' folder and the like have none). The row is the version: what it shows
    (the id, and for content_metadata the name and parent it repeats) is re-read when it
    changes; what it cannot show (inherits, access entries) waits for the type's re-read."""
    return (
        ListCall("/folders/search", {"sorts": "id"}, paged=True, fields=folder_fields,
                 ref={"id": "content_metadata_id"}, optional_ref=True, versioned=True),
        ListCall("/boards/search", {"sorts": "id"}, paged=True, fields=board_fields,
                 ref={"id": "content_metadata_id"}, optional_ref=True, versioned=True),
    )


# Every merged-results tile of a user-defined dashboard, active or in the trash, by its
# merge_result_id: search rows cut down to that one key (a page of 500 dashboards is a few
# KB). Tiles of other kinds have none and address nothing.
MERGE_RESULT_LISTING = tuple(
    ListCall("/dashboards/search", {**params, "sorts": "id"}, paged=True,
             fields="dashboard_elements(merge_result_id)", expand="dashboard_elements",
             ref={"id": "merge_result_id"}, optional_ref=True)
    for params in ({}, {"deleted": "true"})
)


def _search(path: str, sorts: str = "id") -> ListCall:
    return ListCall(path, {"sorts": sorts}, paged=True)


CONTENT_TYPES: tuple[ContentType, ...] = (
    ContentType(
        code=1,
        name="dashboards",
        change="version",
        change_note="search rows: updated_at, the trash, and what a dashboard embeds from "
        "others (owner name, folder, tile looks); LookML dashboards: their project's deploys",
        permissions=("access_data", "see_user_dashboards", "see_lookml_dashboards"),
        # search_dashboards gives ids with versions (active, then trash) but omits LookML
        # dashboards; all_dashboards lists those too, versioned by their project's deploys. The
        # first listing of an id wins. All of them feed dashboard(id). A dashboard embeds the
        # looks of its elements, which change without touching the dashboard's updated_at,
        # so their updated_at is part of the version.
        listing=(
            ListCall(
                "/dashboards/search",
                {"sorts": "id"},
                paged=True,
                fields=DASHBOARD_VERSION,
                versioned=True,
            ),
            ListCall(
                "/dashboards/search",
                {"deleted": "true", "sorts": "id"},
                paged=True,
                fields=DASHBOARD_VERSION,
                versioned=True,
            ),
            ListCall("/dashboards", fields="id", versioned=True,
                     signal="lookml_dashboard_deploy"),
        ),
        detail="/dashboards/{id}",
        name_field="title",
        owner_field="user_id",
        created_field="created_at",
        updated_field="updated_at",
        description="User-defined and LookML dashboards with elements, filters and layouts "
        "(dashboard(id)), including Looker's trash.",
        references=(Reference("folder_id", "folders"),
                    Reference("dashboard_elements.merge_result_id", "merge_queries")),
    ),
    ContentType(
        code=2,
        name="looks",
        change="version",
        change_note="search rows: updated_at, the trash, owner name and folder",
        permissions=("access_data", "see_looks"),
        listing=(
            ListCall(
                "/looks/search", {"sorts": "id"}, paged=True, fields=LOOK_VERSION, versioned=True
            ),
            ListCall(
                "/looks/search",
                {"deleted": "true", "sorts": "id"},
                paged=True,
                fields=LOOK_VERSION,
                versioned=True,
            ),
            ListCall("/looks", fields="id"),
        ),
        detail="/looks/{id}",
        name_field="title",
        owner_field="user_id",
        created_field="created_at",
        updated_field="updated_at",
        description="Looks with their query (look(id)), including Looker's trash.",
        references=(Reference("folder_id", "folders"),),
    ),
    ContentType(
        code=3,
        name="lookml_models",
        lookup="/lookml_models/{name}",
        permissions=("see_lookml",),
        listing=(ListCall("/lookml_models", paged=True),),
        id_template="{name}",
        description="LookML models (all_lookml_models rows carry the detail schema).",
    ),
    ContentType(
        code=4,
        name="explores",
        change="parent",
        change_note="their project's deploys: the production commit of the model's project "
        "and of the projects it imports locally, and the connections' dialects",
        permissions=("see_lookml", "explore"),
        listing=(
            ListCall(
                "/lookml_models",
                paged=True,
                expand="explores",
                ref={"model": "parent.name", "explore": "name"},
                fields="name,project_name,explores(name)",
                versioned=True,
                signal="lookml_deploy",
            ),
        ),
        detail="/lookml_models/{model}/explores/{explore}",
        id_template="{model}::{explore}",
        description="One object per model and explore (lookml_model_explore).",
    ),
    ContentType(
        code=5,
        name="users",
        lookup="/users/{id}",
        permissions=("see_users",),
        listing=(ListCall("/users", {"sorts": "id"}, paged=True),),
        name_field="display_name",
        owner_email_field="email",
        description="Users (all_users rows carry the detail schema).",
    ),
    ContentType(
        code=6,
        name="roles",
        lookup="/roles/{id}",
        permissions=("administer",),
        listing=(_search("/roles/search"),),
        description="Roles with their permission and model sets.",
        references=(
            Reference("permission_set_id", "permission_sets"),
            Reference("model_set_id", "model_sets"),
        ),
    ),
    ContentType(
        code=7,
        name="groups",
        lookup="/groups/{id}",
        permissions=("see_users",),
        # The hierarchy search gives each group's parent groups and roles in the same paged
        # listing: what a restore needs, at no extra request.
        listing=(ListCall("/groups/search/with_hierarchy", {"sorts": "id"}, paged=True,
                          reread_by_id=True),),
        description="Groups with their parent groups and roles (search_groups_with_hierarchy "
        "rows: GroupHierarchy).",
        references=(Reference("parent_group_ids", "groups"), Reference("role_ids", "roles")),
    ),
    ContentType(
        code=8,
        name="permission_sets",
        lookup="/permission_sets/{id}",
        permissions=("administer",),
        listing=(_search("/permission_sets/search"),),
        description="Permission sets.",
    ),
    ContentType(
        code=9,
        name="model_sets",
        lookup="/model_sets/{id}",
        permissions=("administer",),
        listing=(_search("/model_sets/search"),),
        description="Model sets.",
    ),
    ContentType(
        code=10,
        name="folders",
        lookup="/folders/{id}",
        permissions=("access_data",),
        # Folder rows embed every dashboard and look of the folder: smaller pages.
        listing=(ListCall("/folders/search", {"sorts": "id"}, paged=True, page_size=100),),
        owner_field="creator_id",
        created_field="created_at",
        description="Folders, personal ones included (search_folders rows are Folder objects).",
    ),
    ContentType(
        code=11,
        name="boards",
        lookup="/boards/{id}",
        permissions=("access_data",),
        listing=(_search("/boards/search"),),
        name_field="title",
        owner_field="user_id",
        created_field="created_at",
        updated_field="updated_at",
        description="Boards with sections and items.",
    ),
    ContentType(
        code=12,
        name="scheduled_plans",
        lookup="/scheduled_plans/{id}",
        permissions=("see_schedules",),
        listing=(ListCall("/scheduled_plans", {"all_users": "true"}),),
        owner_field="user_id",
        created_field="created_at",
        updated_field="updated_at",
        description="Every user's schedules (all_scheduled_plans(all_users=true)).",
        references=(Reference("dashboard_id", "dashboards"), Reference("look_id", "looks")),
    ),
    ContentType(
        code=13,
        name="alerts",
        lookup="/alerts/{id}",
        permissions=("see_alerts", "administer"),
        listing=(ListCall("/alerts/search", {"all_owners": "true"}, paged=True),),
        name_field="custom_title",
        owner_field="owner_id",
        description="Every owner's alerts (search_alerts(all_owners=true)).",
    ),
    ContentType(
        code=14,
        name="user_attributes",
        lookup="/user_attributes/{id}",
        permissions=("administer",),
        listing=(ListCall("/user_attributes"),),
        description="User attributes.",
    ),
    ContentType(
        code=15,
        name="connections",
        lookup="/connections/{name}",
        permissions=("administer",),
        listing=(ListCall("/connections"),),
        id_template="{name}",
        created_field="created_at",
        description="Database connections, keyed by name.",
    ),
    ContentType(
        code=16,
        name="projects",
        lookup="/projects/{id}",
        permissions=("see_lookml", "develop"),
        listing=(ListCall("/projects"),),
        description="LookML projects.",
    ),
    ContentType(
        code=17,
        name="themes",
        lookup="/themes/{id}",
        permissions=("administer",),
        listing=(ListCall("/themes"),),
        description="Themes.",
    ),
    ContentType(
        code=18,
        name="color_collections",
        lookup="/color_collections/{id}",
        permissions=("administer",),
        listing=(ListCall("/color_collections"),),
        name_field="label",
        description="Colour collections: the palettes themes and visualisations name by id "
        "(all_color_collections rows carry the detail schema).",
    ),
    ContentType(
        code=19,
        name="role_users",
        change="none",
        change_note="one request per role, every sync (roles are few)",
        permissions=("administer",),
        # Per role (there are few): the users holding it directly. User.role_ids also counts
        # roles that come through groups, which a restore must not grant directly.
        listing=(ListCall("/roles/search", {"sorts": "id"}, paged=True, fields="id"),),
        detail="/roles/{id}/users",
        detail_params={"direct_association_only": "true", "fields": "id,email"},
        name_field=None,
        description="Direct role assignments: per role id, the users holding it directly "
        "(role_users(direct_association_only=true), id and email).",
    ),
    ContentType(
        code=20,
        name="user_attribute_group_values",
        change="none",
        change_note="one request per user attribute, every sync (attributes are few)",
        permissions=("administer",),
        listing=(ListCall("/user_attributes", fields="id"),),
        detail="/user_attributes/{id}/group_values",
        name_field=None,
        description="Per user attribute id, its values for groups in rank order "
        "(all_user_attribute_group_values; hidden values come back null).",
    ),
    ContentType(
        code=21,
        name="content_metadata",
        change="parent",
        change_note="folder and board rows: new, renamed or moved ones are read nightly; "
        "inherits, which no row shows, on the weekly re-read",
        reread="weekly",
        permissions=("administer",),
        listing=_content_metadata_listing("content_metadata_id,name,parent_id",
                                          "content_metadata_id,title"),
        detail="/content_metadata/{id}",
        name_field="name",
        description="Content metadata of every folder and board (content_metadata(id)): "
        "whether it inherits its parent's access; id = the content_metadata_id.",
    ),
    ContentType(
        code=22,
        name="content_access",
        change="parent",
        change_note="folder and board rows: new ones are read nightly; entries added or "
        "removed, which no row shows, on the weekly re-read",
        reread="weekly",
        permissions=("administer",),
        listing=_content_metadata_listing("content_metadata_id", "content_metadata_id"),
        detail="/content_metadata_access",
        detail_params={"content_metadata_id": "{id}"},
        lookup="/content_metadata/{id}",
        name_field=None,
        description="Folder and board access: per content_metadata_id, the entries it sets "
        "itself (all_content_metadata_accesses: group or user, view or edit).",
    ),
    ContentType(
        code=23,
        name="merge_queries",
        change="immutable",
        change_note="merge ids from the dashboards search pages",
        permissions=("access_data", "see_user_dashboards"),
        # A dashboard element carries only its merge_result_id; the definition is its own
        # object. Immutable: an incremental sync costs the listing's pages, nothing more.
        listing=MERGE_RESULT_LISTING,
        detail="/merge_queries/{id}",
        immutable=True,
        name_field=None,
        description="Merge queries behind the merged-results tiles of user-defined dashboards, "
        "trash included (merge_query(id): source queries in order, merge fields); immutable, "
        "each fetched once and kept.",
        references=(Reference("source_queries.query_id", "queries"),),
    ),
    ContentType(
        code=24,
        name="queries",
        change="immutable",
        change_note="ids read out of the stored merge queries",
        permissions=("access_data",),
        # Read out of the merge queries themselves: those already stored cost no request.
        listing=(ListCall(objects_of="merge_queries", expand="source_queries",
                          ref={"id": "query_id"}),),
        detail="/queries/{id}",
        immutable=True,
        name_field=None,
        description="Queries no stored object embeds: the source queries of merge queries "
        "(query(id)); immutable, each fetched once and kept.",
    ),
)

BY_NAME: dict[str, ContentType] = {ct.name: ct for ct in CONTENT_TYPES}
BY_CODE: dict[int, ContentType] = {ct.code: ct for ct in CONTENT_TYPES}


class UnknownContentType(ValueError):
    pass


def get(name: str) -> ContentType:
    """The registry entry for `name`; an unknown name is an error listing the valid ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        valid = ", ".join(BY_NAME)
        raise UnknownContentType(f"unknown content type {name!r}; valid names: {valid}") from None


def _check_registry() -> None:
    codes = [ct.code for ct in CONTENT_TYPES]
    names = [ct.name for ct in CONTENT_TYPES]
    assert len(set(codes)) == len(codes), "content type codes must be unique"
    assert len(set(names)) == len(names), "content type names must be unique"
    for ct in CONTENT_TYPES:
        assert ct.lookup_path
        assert ct.change in CHANGES, f"{ct.name}: change {ct.change!r} is not one of CHANGES"
        assert ct.reread is None or ct.reread in REREAD_CADENCES, f"{ct.name}: reread"
        if ct.change in ("version", "parent"):
            assert any(call.versioned for call in ct.listing), \
                f"{ct.name}: a version or parent signal needs a versioned listing"
        for call in ct.listing:
            assert (call.objects_of is None) != (not call.path), \
                f"{ct.name}: a listing has a path or reads another type's objects, not both"
            assert call.signal is None or call.versioned, f"{ct.name}: a signal joins a version"
            if call.objects_of is not None:
                assert call.objects_of in names and ct.detail is not None, \
                    f"{ct.name}: objects_of names a known type, for a type with details"
                # Its rows are objects, not listing rows: no version of its own to compare.
                assert not call.versioned and not call.paged and call.fields is None
        for ref in ct.references:
            assert ref.target in names, f"{ct.name}.{ref.field} points at unknown {ref.target}"


_check_registry()
