"""The content kinds the emulator serves, and the spec operations behind each of them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ListRoute:
    """A list or search operation: `path` as in the spec; rows use the op's response schema."""

    path: str
    search: bool


@dataclass(frozen=True)
class KindInfo:
    name: str
    schema: str  # the detail endpoint's response schema
    key_prop: str  # property that identifies an object ("id", or "name" for models/connections)
    detail_path: str  # spec path of the detail operation
    lists: tuple[ListRoute, ...]
    # Properties expensive to build (nested collections); leaving them out of a `fields`
    # selection lets list pages skip building them.
    heavy: frozenset[str] = field(default_factory=frozenset)
    # Which properties `update()` edits, first one present wins.
    label_prop: str = "title"


KINDS: dict[str, KindInfo] = {
    k.name: k
    for k in (
        KindInfo(
            "dashboards",
            "Dashboard",
            "id",
            "/dashboards/{dashboard_id}",
            (ListRoute("/dashboards", False), ListRoute("/dashboards/search", True)),
            frozenset({"dashboard_elements", "dashboard_filters", "dashboard_layouts"}),
        ),
        KindInfo(
            "looks",
            "LookWithQuery",
            "id",
            "/looks/{look_id}",
            (ListRoute("/looks", False), ListRoute("/looks/search", True)),
            frozenset({"query"}),
        ),
        KindInfo(
            "lookml_models",
            "LookmlModel",
            "name",
            "/lookml_models/{lookml_model_name}",
            (ListRoute("/lookml_models", False),),
            frozenset({"explores"}),
            "label",
        ),
        KindInfo(
            "explores",
            "LookmlModelExplore",
            "id",
            "/lookml_models/{lookml_model_name}/explores/{explore_name}",
            (),
            frozenset({"fields", "joins", "sets", "aliases", "supported_measure_types"}),
            "label",
        ),
        KindInfo(
            "users",
            "User",
            "id",
            "/users/{user_id}",
            (ListRoute("/users", False), ListRoute("/users/search", True)),
            label_prop="first_name",
        ),
        KindInfo(
            "roles",
            "Role",
            "id",
            "/roles/{role_id}",
            (ListRoute("/roles", False), ListRoute("/roles/search", True)),
            label_prop="name",
        ),
        KindInfo(
            "groups",
            "Group",
            "id",
            "/groups/{group_id}",
            (ListRoute("/groups", False), ListRoute("/groups/search", True),
             ListRoute("/groups/search/with_hierarchy", True)),
            label_prop="name",
        ),
        KindInfo(
            "permission_sets",
            "PermissionSet",
            "id",
            "/permission_sets/{permission_set_id}",
            (ListRoute("/permission_sets", False), ListRoute("/permission_sets/search", True)),
            label_prop="name",
        ),
        KindInfo(
            "model_sets",
            "ModelSet",
            "id",
            "/model_sets/{model_set_id}",
            (ListRoute("/model_sets", False), ListRoute("/model_sets/search", True)),
            label_prop="name",
        ),
        KindInfo(
            "folders",
            "Folder",
            "id",
            "/folders/{folder_id}",
            (ListRoute("/folders", False), ListRoute("/folders/search", True)),
            frozenset({"dashboards", "looks"}),
            "name",
        ),
        KindInfo(
            "boards",
            "Board",
            "id",
            "/boards/{board_id}",
            (ListRoute("/boards", False), ListRoute("/boards/search", True)),
            frozenset({"board_sections"}),
        ),
        KindInfo(
            "scheduled_plans",
            "ScheduledPlan",
            "id",
            "/scheduled_plans/{scheduled_plan_id}",
            (ListRoute("/scheduled_plans", False), ListRoute("/scheduled_plans/search", True)),
            label_prop="name",
        ),
        KindInfo(
            "alerts",
            "Alert",
            "id",
            "/alerts/{alert_id}",
            (ListRoute("/alerts/search", True),),
            label_prop="custom_title",
        ),
        KindInfo(
            "user_attributes",
            "UserAttribute",
            "id",
            "/user_attributes/{user_attribute_id}",
            (ListRoute("/user_attributes", False),),
            label_prop="label",
        ),
        KindInfo(
            "connections",
            "DBConnection",
            "name",
            "/connections/{connection_name}",
            (ListRoute("/connections", False),),
            label_prop="host",
        ),
        KindInfo(
            "projects",
            "Project",
            "id",
            "/projects/{project_id}",
            (ListRoute("/projects", False),),
            label_prop="git_production_branch_name",
        ),
        KindInfo(
            "themes",
            "Theme",
            "id",
            "/themes/{theme_id}",
            (ListRoute("/themes", False), ListRoute("/themes/search", True)),
            label_prop="name",
        ),
        KindInfo(
            "color_collections",
            "ColorCollection",
            "id",
            "/color_collections/{collection_id}",
            (ListRoute("/color_collections", False),),
            label_prop="label",
        ),
    )
}

KIND_NAMES: tuple[str, ...] = tuple(KINDS)
