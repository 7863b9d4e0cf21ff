"""The restore registry: per content type, how Looker lets it be written.

Data, not branches: an entry names the write endpoints, the spec schema whose writable fields
are compared and sent, the references to map through the id map, the natural key that finds an
object again, the trash field, and its step in the dependency order of
../shared/notes/looker-restore.md §2 (parents before what points at them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Listing:
    """Where every live object under one parent is listed in one request: a folder's looks,
    its dashboards, its subfolders. The spec gives the rows the schema of a read by id; a row
    that lacks what the comparison needs (`whole`, or any compared key) is read by id after
    all. What a restore or a migration reads this way instead of one object at a time."""

    parent: str  # the field holding the parent's id (folder_id, parent_id)
    path: str  # with {} for the parent's id
    params: tuple[tuple[str, str], ...] = ()
    paged: bool = False  # limit/offset pages; else the spec promises one answer holds all
    # Keys a row must carry, not null, to stand for a read by id: a real server that leaves
    # a dashboard's tiles out of its folder listing makes its objects read one by one.
    whole: tuple[str, ...] = ()
    # The backed-up parent's field saying how many objects it holds (a list or a count): a
    # folder of 5,000 looks is not listed for the 2 a restore needs.
    held: str = ""


@dataclass(frozen=True)
class Kind:
    name: str  # the content type's name in content_types.py
    schema: str  # spec schema whose writable properties a restore compares and sends
    path: str | None  # collection path: POST creates, f"{path}/{key}" updates
    level: int  # dependency order; lower levels are written first
    # (field, content type): the field holds an id (or a list of ids) of that type, mapped
    # through the id map when the object it names was re-created.
    refs: tuple[tuple[str, str], ...] = ()
    # Fields that identify a live object (post-filtered for exact equality), and where to
    # search for them: how a create that may have landed is found before it is sent again.
    natural: tuple[str, ...] = ()
    search: str | None = None
    # The natural key is unique in Looker and is the object's identity (names of groups,
    # roles, sets...): a gone object whose name is live again is that live object.
    adopt: bool = False
    trash: str | None = None  # "deleted" (a boolean) or "deleted_at" (boards)
    key_field: str = "id"  # the path key ("name" for connections and models)
    update_method: str = "PATCH"
    omit: frozenset[str] = frozenset()  # writable fields handled elsewhere or never sent
    # (field, value) that marks a built-in object: never written (Looker answers 405).
    builtin: tuple[str, object] | None = None
    never: str | None = None  # why the type is never written
    handler: str = "plain"  # which Handler in handlers.py does the writing
    description: str = ""
    listing: Listing | None = None


_CONTENT_OMIT = frozenset({"folder", "model", "deleted", "can"})

KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("user_attributes", "UserAttribute", "/user_attributes", 1, natural=("name",),
         adopt=True, builtin=("is_system", True), handler="user_attribute"),
    Kind("connections", "DBConnection", "/connections", 2, key_field="name", natural=("name",),
         adopt=True, omit=frozenset({"password", "certificate", "file_type", "dialect"}),
         handler="connection"),
    Kind("projects", "Project", None, 3,
         never="LookML projects live in git: restore them by deploying the repository"),
    Kind("lookml_models", "LookmlModel", "/lookml_models", 4, key_field="name",
         natural=("name",), adopt=True),
    Kind("explores", "LookmlModelExplore", None, 4,
         never="explores are defined in LookML (git), not through the API"),
    Kind("permission_sets", "PermissionSet", "/permission_sets", 5, natural=("name",),
         adopt=True, search="/permission_sets/search", builtin=("built_in", True)),
    Kind("model_sets", "ModelSet", "/model_sets", 5, natural=("name",), adopt=True,
         search="/model_sets/search", builtin=("built_in", True)),
    Kind("roles", "Role", "/roles", 6, natural=("name",), adopt=True, search="/roles/search",
         refs=(("permission_set_id", "permission_sets"), ("model_set_id", "model_sets")),
         omit=frozenset({"permission_set", "model_set"}), builtin=("name", "Admin"),
         handler="role"),
    Kind("groups", "Group", "/groups", 7, natural=("name",), adopt=True,
         search="/groups/search", handler="group"),
    # home_folder_id is mapped by the user handler: a personal folder is the re-created
    # user's new one, and a folder made later in the run (level 11) cannot be pointed at yet.
    Kind("users", "User", "/users", 8, natural=("email",), adopt=True, search="/users/search",
         omit=frozenset({"credentials_email", "ui_state", "models_dir_validated"}),
         handler="user"),
    Kind("role_users", "User", None, 9, handler="role_users"),
    Kind("user_attribute_group_values", "UserAttributeGroupValue", None, 9,
         handler="group_values"),
    Kind("color_collections", "ColorCollection", "/color_collections", 10, natural=("label",),
         adopt=True),
    Kind("themes", "Theme", "/themes", 10, natural=("name", "begin_at")),
    Kind("folders", "Folder", "/folders", 11, natural=("name", "parent_id"),
         search="/folders/search", refs=(("parent_id", "folders"),), handler="folder",
         listing=Listing("parent_id", "/folders/search", (("parent_id", "{}"), ("sorts", "id")),
                         paged=True, whole=("name",), held="child_count")),
    # After boards (16), whose access it is too; entries after inherits (Looker refuses
    # entries on content that inherits).
    Kind("content_metadata", "ContentMeta", None, 17, handler="content_metadata"),
    Kind("content_access", "ContentMetaGroupUser", None, 18, handler="content_access"),
    Kind("looks", "LookWithQuery", "/looks", 14, natural=("title", "folder_id"),
         search="/looks/search", trash="deleted",
         refs=(("folder_id", "folders"), ("user_id", "users")),
         omit=_CONTENT_OMIT | {"query", "query_id"}, handler="look",
         # folder_looks: "all looks in a folder ..., excluding looks in the trash" (spec).
         listing=Listing("folder_id", "/folders/{}/looks", whole=("query",), held="looks")),
    Kind("dashboards", "Dashboard", "/dashboards", 15, natural=("title", "folder_id"),
         search="/dashboards/search", trash="deleted",
         refs=(("folder_id", "folders"), ("user_id", "users")),
         omit=_CONTENT_OMIT | {"slug"}, handler="dashboard",
         listing=Listing("folder_id", "/folders/{}/dashboards", held="dashboards",
                         whole=("dashboard_elements", "dashboard_filters", "dashboard_layouts"))),
    Kind("alerts", "Alert", "/alerts", 16, update_method="PUT",
         refs=(("dashboard_element_id", "dashboard_elements"), ("owner_id", "users"),
               ("investigative_content_id", "dashboards")),
         natural=("dashboard_element_id", "field", "cron", "owner_id"), handler="alert"),
    Kind("boards", "Board", "/boards", 16, natural=("title",), search="/boards/search",
         trash="deleted_at", refs=(("user_id", "users"),),
         omit=frozenset({"section_order", "deleted_at"}), handler="board"),
    Kind("scheduled_plans", "WriteScheduledPlan", "/scheduled_plans", 17,
         refs=(("user_id", "users"), ("look_id", "looks"), ("dashboard_id", "dashboards"),
               ("tab_ids", "dashboard_layouts")),
         natural=("name", "user_id"), handler="plan"),
)}

# Children a restore writes inside their parent: their ids are mapped too (alerts point at
# elements, plans at tabs), under these names in the id map.
CHILD_TYPES = ("dashboard_elements", "dashboard_filters", "dashboard_layouts",
               "board_sections", "board_items", "queries", "merge_queries")


def get(name: str) -> Kind | None:
    return KINDS.get(name)


@dataclass
class Choice:
    """Operator choices that change what a restore writes."""

    enable_plans: bool = False  # scheduled plans are created disabled unless this is set
    # connection name -> environment variable holding its password
    connection_secrets: dict[str, str] = field(default_factory=dict)
