"""Deterministic content records for a given (scale, seed, instance).

`instance` 0 (the default) is the emulator's one instance. Instance k > 0 is another Looker
of the same company, for cross-instance (migration) tests: the same deployed LookML as
instance 0 of the same seed at `base_scale` (projects, connections, models, explores and
LookML dashboards copied record for record), and everything else its own, from an RNG stream
of its own: dashboard 1 exists in both but is another dashboard, every other user shares an
email (and name, and personal folder name) with an instance-0 user at another id (id + k) while
the rest exist only there, two in three top-level Shared folders and every other group take
instance-0 names. Scale 0 is a bare instance: roots, four users with their personal folders,
groups, roles, user attributes and the LookML, and no dashboards, looks, boards, schedules or
alerts (a fresh migration target).

A record holds what differs between objects of a kind (titles, owners, folders, timestamps,
relations); render.py turns it into the full spec object. Records are small so that start-up
and memory stay modest at scale 100000; the bulky parts (dashboard tiles, explore fields, ...)
are rebuilt from a per-object RNG when first requested.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import values as V

API_USER_ID = "1"
ADMIN_ROLE_ID = "1"
SHARED_ROOT = "1"
USERS_ROOT = "2"
LOOKML_FOLDER = "lookml"
# What another instance of the same company shares with instance 0: its deployed LookML.
LOOKML_KINDS = ("projects", "connections", "lookml_models", "explores")
ALWAYS_TRASHED = ("8", "21")

PROJECT_NAMES = (
    "thelook", "ecommerce", "finance", "marketing", "product_analytics", "support_desk",
    "people_ops", "logistics", "web_events", "salesforce", "billing", "growth",
)  # fmt: skip
EXPLORE_NAMES = (
    "order_items", "users", "events", "inventory_items", "products", "orders", "sessions",
    "accounts", "opportunities", "tickets", "invoices", "shipments", "campaigns", "employees",
)  # fmt: skip
LOOKML_DASHBOARD_NAMES = (
    "business_pulse", "brand_lookup", "customer_lookup", "web_analytics", "shipping_logistics",
    "sales_overview", "operations", "executive_summary",
)  # fmt: skip
DIALECTS = (
    ("bigquery_standard_sql", "Google BigQuery Standard SQL", "bq.googleapis.com", None),
    ("snowflake", "Snowflake", "acme.snowflakecomputing.com", "443"),
    ("postgres", "PostgreSQL 9.5+", "pg.internal.acme.test", "5432"),
    ("redshift", "Amazon Redshift", "rs.acme.test", "5439"),
    ("mysql_8", "MySQL 8", "mysql.acme.test", "3306"),
)
PERMISSIONS = (
    "access_data", "see_lookml_dashboards", "see_looks", "see_user_dashboards", "explore",
    "create_table_calculations", "save_content", "create_public_looks", "download_with_limit",
    "download_without_limit", "schedule_look_emails", "schedule_external_look_emails",
    "create_alerts", "follow_alerts", "send_to_s3", "send_to_sftp", "send_outgoing_webhook",
    "send_to_integration", "see_sql", "see_lookml", "develop", "deploy", "support_access_toggle",
    "use_sql_runner", "clear_cache_refresh", "see_drill_overlay", "manage_spaces",
    "manage_homepage", "manage_models", "create_prefetches", "login_special_email",
    "embed_browse_spaces", "embed_save_shared_space", "see_alerts", "see_queries", "see_logs",
    "see_users", "sudo", "see_schedules", "see_pdts", "see_datagroups", "update_datagroups",
    "see_system_activity", "mobile_app_access", "administer",
)  # fmt: skip
SYSTEM_USER_ATTRIBUTES = (
    ("email", "Email", "string"), ("first_name", "First Name", "string"),
    ("last_name", "Last Name", "string"), ("name", "Name", "string"),
    ("locale", "Locale", "string"), ("landing_page", "Landing Page", "relative_url"),
    ("number_format", "Number Format", "string"), ("id", "ID", "number"),
)  # fmt: skip
CUSTOM_USER_ATTRIBUTES = (
    ("region", "Region", "string"), ("department", "Department", "string"),
    ("cost_center", "Cost Center", "number"), ("can_see_pii", "Can see PII", "yesno"),
    ("hire_date", "Hire Date", "datetime"), ("warehouse_role", "Warehouse role", "string"),
    ("max_rows", "Max rows", "number"), ("office_zip", "Office ZIP", "zipcode"),
    ("brand", "Brand", "string"), ("tenant_id", "Tenant ID", "advanced_filter_string"),
)  # fmt: skip
THEME_NAMES = ("Looker", "Dark mode 🌙", "Corporate Blue", "Kiosk", "Größer", "Marketing Pink")
COLLECTION_LABELS = ("Google", "Looker Classic", "Tokyo Sunset", "Boardwalk", "Vivid",
                     "Ünterschiedlich 🎨")
SWATCH = ("#1A73E8", "#12B5CB", "#E52592", "#E8710A", "#F9AB00", "#7CB342", "#9334E6",
          "#689F38", "#3A4245", "#FF8168")


@dataclass(slots=True)
class Record:
    """One object: `fields` are top-level property values (spec order comes from the template,
    keys unknown to the spec are appended), `meta` holds relations used to build the rest."""

    key: str
    fields: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Counts:
    dashboards: int
    lookml_dashboards: int
    looks: int
    users: int
    folders: int
    scheduled_plans: int
    alerts: int
    boards: int
    groups: int
    explores: int
    lookml_models: int
    roles: int
    permission_sets: int
    model_sets: int
    user_attributes: int
    connections: int
    projects: int
    themes: int
    color_collections: int

    @classmethod
    def for_scale(cls, scale: int) -> Counts:
        s = max(1, int(scale))

        def share(frac: float, lo: int) -> int:
            return max(lo, round(s * frac))

        def small(div: int, lo: int, hi: int) -> int:
            return max(lo, min(hi, s // div))

        dashboards = share(0.30, 4)
        return cls(
            dashboards=dashboards,
            lookml_dashboards=min(len(LOOKML_DASHBOARD_NAMES) * 3, max(3, s // 1000)),
            looks=share(0.30, 4),
            users=share(0.10, 4),
            folders=share(0.08, 6),
            scheduled_plans=share(0.05, 3),
            alerts=share(0.03, 3),
            boards=share(0.02, 2),
            groups=share(0.02, 3),
            explores=share(0.03, 4),
            lookml_models=small(1000, 3, 30),
            roles=small(2000, 4, 25),
            permission_sets=small(4000, 4, 12),
            model_sets=small(4000, 3, 12),
            user_attributes=small(2000, 10, 40),
            connections=small(5000, 2, 10),
            projects=small(3000, 2, 20),
            themes=small(5000, 3, 10),
            color_collections=small(5000, 3, 12),
        )

    @classmethod
    def bare(cls) -> Counts:
        """Scale 0: what a new instance has before anyone builds content in it."""
        c = cls.for_scale(1)
        c.dashboards = c.lookml_dashboards  # LookML dashboards only
        c.folders = 2 + c.users  # the roots and one personal folder per user
        c.looks = c.scheduled_plans = c.alerts = c.boards = 0
        return c


def _numbered(names: Iterable[str], n: int) -> list[str]:
    base = list(names)
    out = []
    for i in range(n):
        name = base[i % len(base)]
        out.append(name if i < len(base) else f"{name}_{i // len(base) + 1}")
    return out


def _extra_top(rng: random.Random) -> dict[str, Any]:
    """Keys a newer Looker release might add: clients must keep them, not choke on them."""
    choice = rng.randrange(3)
    if choice == 0:
        return {"zz_future_flag": True}
    if choice == 1:
        return {"experimental_settings": {"mode": "beta", "levels": [1, 2, 3], "note": None}}
    return {"x_release_notes": "added in 26.14", "x_rank": rng.randint(1, 99)}


class Generator:
    """Builds every record; also builds single new records for `create()`."""

    def __init__(self, scale: int, seed: int, client_id: str, instance: int = 0,
                 base_scale: int | None = None) -> None:
        self.bare = scale <= 0
        self.instance = instance
        # LookML (explore fields, LookML dashboard tiles) is drawn from `lookml_seed`, which is
        # the same on every instance; the rest from `seed`, which is the instance's own.
        self.lookml_seed = seed
        self.seed = instance_seed(seed, instance)
        self.client_id = client_id
        self.counts = Counts.bare() if self.bare else Counts.for_scale(scale)
        self.reference: Generator | None = None
        if instance:
            # Instance 0 at base_scale, for what this instance shares with it.
            ref = Generator(scale if base_scale is None else base_scale, seed, client_id)
            ref.generate()
            self.reference = ref
            c, rc = self.counts, ref.counts
            c.projects, c.connections = rc.projects, rc.connections
            c.lookml_models, c.explores = rc.lookml_models, rc.explores
            c.dashboards += rc.lookml_dashboards - c.lookml_dashboards
            c.lookml_dashboards = rc.lookml_dashboards
        self.rng = random.Random(self.seed)
        self.records: dict[str, dict[str, Record]] = {}
        self._top_folders = 0  # top-level Shared folders made so far (names shared with ref)

    # -- helpers --------------------------------------------------------------------------

    def ids(self, kind: str) -> list[str]:
        return list(self.records.get(kind, {}))

    def pick(self, rng: random.Random, kind: str) -> str:
        keys = self._pools[kind]
        return keys[rng.randrange(len(keys))]

    def extra(self, rng: random.Random, rate: float = 0.05) -> dict[str, Any]:
        return _extra_top(rng) if rng.random() < rate else {}

    # -- all at once ----------------------------------------------------------------------

    def generate(self) -> dict[str, dict[str, Record]]:
        c = self.counts
        steps: list[tuple[str, int, Callable[[str, random.Random, int], Record]]] = [
            ("projects", c.projects, self.project),
            ("connections", c.connections, self.connection),
            ("lookml_models", c.lookml_models, self.lookml_model),
            ("explores", c.explores, self.explore),
            ("permission_sets", c.permission_sets, self.permission_set),
            ("model_sets", c.model_sets, self.model_set),
            ("roles", c.roles, self.role),
            ("groups", c.groups, self.group),
            ("user_attributes", c.user_attributes, self.user_attribute),
            ("users", c.users, self.user),
            ("folders", c.folders, self.folder),
            ("looks", c.looks, self.look),
            ("dashboards", c.dashboards - c.lookml_dashboards, self.dashboard),
            ("boards", c.boards, self.board),
            ("scheduled_plans", c.scheduled_plans, self.scheduled_plan),
            ("alerts", c.alerts, self.alert),
            ("themes", c.themes, self.theme),
            ("color_collections", c.color_collections, self.color_collection),
        ]
        self._pools: dict[str, list[str]] = {}
        self._names = {
            "projects": _numbered(PROJECT_NAMES, c.projects),
            "lookml_models": _numbered(PROJECT_NAMES, c.lookml_models),
        }
        self._plan_folders()
        self._shared_folders: list[str] = []
        for kind, n, make in steps:
            recs: dict[str, Record] = {}
            self.records[kind] = recs
            if self.reference is not None and kind in LOOKML_KINDS:
                # Copies (models' explore lists already linked), so writes stay per instance.
                for key, r in self.reference.records[kind].items():
                    recs[key] = Record(key, dict(r.fields),
                                       {k: list(v) if isinstance(v, list) else v
                                        for k, v in r.meta.items()})
                self._pools[kind] = list(recs)
                continue
            for i in range(n):
                key = self.key_for(kind, i)
                rec = make(key, self.rng, i)
                recs[rec.key] = rec
            if kind == "explores":
                self._link_explores()
            if kind == "dashboards":
                _unique_titles(recs)
                self._add_lookml_dashboards()
            if kind == "folders":
                recs[LOOKML_FOLDER] = self.lookml_folder()
            self._pools[kind] = [k for k, r in recs.items() if not r.meta.get("lookml")]
        return self.records

    def key_for(self, kind: str, i: int) -> str:
        if kind in ("projects", "lookml_models"):
            return self._names[kind][i]
        if kind == "color_collections":
            # Looker's own collections have slug ids ("google", "looker-classic"); custom ones
            # get generated ones: ids are opaque strings either way.
            label = _numbered(COLLECTION_LABELS, i + 1)[-1]
            return "-".join(label.lower().split()[:2]).encode("ascii", "ignore").decode() \
                or f"custom-{i + 1}"
        if kind == "connections":
            dialect = DIALECTS[i % len(DIALECTS)][0].split("_")[0]
            return f"{dialect}_{['prod', 'dev', 'staging'][i // len(DIALECTS) % 3]}" + (
                f"_{i // (len(DIALECTS) * 3) + 1}" if i >= len(DIALECTS) * 3 else ""
            )
        if kind == "explores":
            models = self._names["lookml_models"]
            model = models[i % len(models)]
            name = _numbered(EXPLORE_NAMES, i // len(models) + 1)[-1]
            return f"{model}::{name}"
        return str(i + 1)

    # -- folders are planned up front: users point at their personal folders --------------

    def _plan_folders(self) -> None:
        c = self.counts
        # Roots 1 and 2, personal folders for as many users as the budget allows, the rest
        # shared sub-folders; "lookml" is the home of LookML dashboards.
        n_personal = c.users if self.bare else max(1, min(c.users, (c.folders - 3) // 2))
        self._personal_folder = {str(u + 1): str(u + 3) for u in range(n_personal)}
        self._folder_owner = {f: u for u, f in self._personal_folder.items()}
        self._n_personal = n_personal

    # -- per kind -------------------------------------------------------------------------

    def project(self, key: str, rng: random.Random, i: int) -> Record:
        return Record(
            key,
            {
                "id": key,
                "name": key,
                "uses_git": True,
                "git_remote_url": f"git@github.com:acme-analytics/{key}.git",
                "git_production_branch_name": rng.choice(("main", "master", "production")),
                "pull_request_mode": rng.choice(("off", "links", "recommended", "required")),
                "validation_required": rng.random() < 0.5,
                "git_service_name": "github",
                "is_example": False,
                "git_username": None,
                "git_password": None,
                "deploy_secret": None,
                "git_application_server_http_port": None,
                "git_application_server_http_scheme": None,
                **self.extra(rng),
            },
            # The deployed production commit: not a Project property in the spec, so it lives
            # in meta and is served by current_workspace. Its own RNG leaves the shared
            # stream (and so every other generated object) as it was.
            {"head": V.git_sha(self.seed, "head", key),
             "commit_at": V.random_epoch(V.rng_for(self.seed, "head-at", key)),
             "deploys": 0},
        )

    def connection(self, key: str, rng: random.Random, i: int) -> Record:
        dialect, label, host, port = DIALECTS[i % len(DIALECTS)]
        return Record(
            key,
            {
                "name": key,
                "host": host,
                "port": port,
                "database": f"analytics_{key.split('_')[-1]}",
                "schema": rng.choice(("public", "looker_scratch", None)),
                "username": f"looker_{key}",
                "password": None,
                "dialect_name": dialect,
                "created_at": V.ts(V.random_epoch(rng)),
                "user_id": API_USER_ID if i == 0 else None,
                "max_connections": rng.choice((None, 20, 50)),
                "db_timezone": rng.choice(V.TIMEZONES),
                "query_timezone": rng.choice(V.TIMEZONES),
                "tmp_db_name": "looker_scratch",
                "ssl": True,
                "verify_ssl": True,
                **self.extra(rng),
            },
            {"dialect": (dialect, label)},
        )

    def lookml_model(self, key: str, rng: random.Random, i: int) -> Record:
        projects = self._names["projects"]
        conns = list(self.records["connections"])
        return Record(
            key,
            {
                "allowed_db_connection_names": [conns[i % len(conns)]],
                "has_content": True,
                "label": key.replace("_", " ").title(),
                "name": key,
                "project_name": projects[i % len(projects)],
                "unlimited_db_connections": rng.random() < 0.2,
                **self.extra(rng),
            },
            {"explores": []},
        )

    def explore(self, key: str, rng: random.Random, i: int) -> Record:
        model, name = key.split("::", 1)
        mrec = self.records["lookml_models"][model]
        conn = mrec.fields["allowed_db_connection_names"][0]
        crec = self.records["connections"][conn]
        label = name.replace("_", " ").title()
        return Record(
            key,
            {
                "id": key,
                "name": name,
                "description": rng.choice((None, f"Everything about {label.lower()}", "")),
                "label": label,
                "title": label,
                "connection_name": conn,
                "dialect_name": crec.fields["dialect_name"],
                "project_name": mrec.fields["project_name"],
                "model_name": model,
                "view_name": name,
                "hidden": rng.random() < 0.1,
                "group_label": rng.choice((None, label, "Core", "🧪 Labs")),
                "source_file": f"{model}.model.lkml",
                "files": [f"{model}.model.lkml", f"views/{name}.view.lkml"],
                "sql_table_name": f"analytics.{name}",
                "lookml_link": f"/projects/{mrec.fields['project_name']}/files/{model}.model.lkml",
                **self.extra(rng),
            },
            {"n_dims": rng.randint(6, 40), "n_measures": rng.randint(2, 15)},
        )

    def _link_explores(self) -> None:
        for key in self.records["explores"]:
            model = key.split("::", 1)[0]
            self.records["lookml_models"][model].meta["explores"].append(key)

    def permission_set(self, key: str, rng: random.Random, i: int) -> Record:
        presets = (
            ("Admin", PERMISSIONS),
            ("Developer", PERMISSIONS[:-8]),
            ("User", PERMISSIONS[:14]),
            ("Viewer", PERMISSIONS[:4]),
        )
        if i < len(presets):
            name, perms = presets[i]
        else:
            name = f"Custom permissions {i + 1}"
            perms = tuple(sorted(rng.sample(PERMISSIONS, rng.randint(2, 12))))
        return Record(
            key,
            {
                "all_access": i == 0,
                "built_in": i < len(presets),
                "id": key,
                "name": name,
                "permissions": list(perms),
            },
        )

    def model_set(self, key: str, rng: random.Random, i: int) -> Record:
        models = list(self.records["lookml_models"])
        if i == 0:
            name, chosen = "All", models
        else:
            name = f"{rng.choice(V.TOPICS)} models"
            chosen = sorted(rng.sample(models, rng.randint(1, len(models))))
        return Record(
            key,
            {
                "all_access": i == 0,
                "built_in": i == 0,
                "id": key,
                "models": chosen,
                "name": name,
            },
        )

    def role(self, key: str, rng: random.Random, i: int) -> Record:
        psets = list(self.records["permission_sets"])
        msets = list(self.records["model_sets"])
        if i == 0:
            name, ps, ms = "Admin", psets[0], msets[0]
        else:
            ps = psets[i % len(psets)] if i < len(psets) else rng.choice(psets)
            ms = rng.choice(msets)
            name = ("Developer", "User", "Viewer")[i - 1] if i < 4 else f"Role {i + 1} ({ms})"
        return Record(
            key,
            {
                "id": key,
                "name": name,
                "permission_set_id": ps,
                "model_set_id": ms,
                **self.extra(rng),
            },
        )

    def group(self, key: str, rng: random.Random, i: int) -> Record:
        ext = i > 0 and rng.random() < 0.3
        # Edges from an RNG of the group's own, so the rest of the instance stays as it was:
        # parents among earlier groups (no cycles), roles among the non-admin ones.
        edges = V.rng_for(self.seed, "group-edges", key)
        earlier = list(self.records["groups"])[1:]
        roles = [r for r in self.records["roles"] if r != ADMIN_ROLE_ID]
        parents = edges.sample(earlier, min(len(earlier), edges.choice((0, 0, 1, 2))))
        role_ids = edges.sample(roles, min(len(roles), edges.choice((0, 1, 1, 2))))
        return Record(
            key,
            {
                "can_add_to_content_metadata": True,
                "external_group_id": f"okta-{rng.randint(10000, 99999)}" if ext else None,
                "externally_managed": ext,
                "id": key,
                "include_by_default": i == 0,
                "name": "All Users" if i == 0 else self._shared_name(
                    "groups", "name", i, f"{rng.choice(V.TOPICS)} team {i + 1}"),
                **self.extra(rng),
            },
            {"parent_group_ids": sorted(parents, key=int), "role_ids": sorted(role_ids, key=int)},
        )

    def user_attribute(self, key: str, rng: random.Random, i: int) -> Record:
        system = i < len(SYSTEM_USER_ATTRIBUTES)
        if system:
            name, label, typ = SYSTEM_USER_ATTRIBUTES[i]
        else:
            j = i - len(SYSTEM_USER_ATTRIBUTES)
            name, label, typ = CUSTOM_USER_ATTRIBUTES[j % len(CUSTOM_USER_ATTRIBUTES)]
            if j >= len(CUSTOM_USER_ATTRIBUTES):
                name = f"{name}_{j // len(CUSTOM_USER_ATTRIBUTES) + 1}"
        hidden = not system and rng.random() < 0.2
        return Record(
            key,
            {
                "id": key,
                "name": name,
                "label": label,
                "type": typ,
                "default_value": None if system else rng.choice((None, "", "EMEA", "0")),
                "is_system": system,
                "is_permanent": system,
                "value_is_hidden": hidden,
                "user_can_view": not hidden,
                "user_can_edit": not system and rng.random() < 0.3,
                "hidden_value_domain_whitelist": "https://*.acme.test/*" if hidden else None,
            },
        )

    def user(self, key: str, rng: random.Random, i: int) -> Record:
        groups = list(self.records["groups"])
        roles = list(self.records["roles"])
        if key == API_USER_ID:
            first, last = "Emulator", "API"
            group_ids = [groups[0]]
            role_ids = [ADMIN_ROLE_ID]
        else:
            first, last = V.person(rng)
            # A user created after every group or role was deleted still gets what exists.
            group_ids = [
                *groups[:1],
                *rng.sample(groups[1:], max(0, min(len(groups) - 1, rng.randint(0, 2)))),
            ]
            admin = rng.random() < 0.03 or len(roles) < 2
            role_ids = [ADMIN_ROLE_ID] if admin else rng.sample(roles[1:], 1)
        personal = self._personal_folder.get(key)
        email = f"{V.ascii_handle(first, i)}.{V.ascii_handle(last, i)}.{key}@example.com"
        if self.reference is not None and key != API_USER_ID:
            twin = self._twin_user(key)
            if twin is not None:
                # The same person as the other instance's user twin: same email, other id.
                first, last, email = twin["first_name"], twin["last_name"], twin["email"]
            else:
                # Someone the other instance does not know (its emails end in example.com).
                email = email.replace("@example.com", f"@i{self.instance}.example.com")
        created = V.random_epoch(rng)
        return Record(
            key,
            {
                "display_name": f"{first} {last}",
                "email": email,
                "first_name": first,
                "group_ids": group_ids,
                "home_folder_id": personal or SHARED_ROOT,
                "id": key,
                "is_disabled": key != API_USER_ID and rng.random() < 0.05,
                "last_name": last,
                "locale": rng.choice(("en", "en", "de", "ja", "fr_FR", None)),
                "personal_folder_id": personal,
                "role_ids": role_ids,
                "ui_state": rng.choice((None, {"homepageGroupIdPreference": "1"})),
                "models_dir_validated": None,
                "is_service_account": key == API_USER_ID,
                "service_account_name": "emulator-api" if key == API_USER_ID else None,
                "can_manage_api3_creds": key == API_USER_ID,
                **self.extra(rng),
            },
            {
                "created": created,
                "logged_in": V.random_epoch(rng, created),
                "nested_extra": rng.random() < 0.05,
            },
        )

    def folder(self, key: str, rng: random.Random, i: int) -> Record:
        n = int(key)
        owner = self._folder_owner.get(key)
        parent: str | None
        personal = descendant = False
        if n == 1:
            name, parent = "Shared", None
        elif n == 2:
            name, parent = "Users", None
        elif owner is not None:
            u = self.records["users"][owner].fields
            name, parent, personal = u["display_name"], USERS_ROOT, True
        else:
            earlier = self._shared_folders
            under_personal = self._n_personal and rng.random() < 0.15
            if under_personal:
                parent = str(rng.randint(3, 2 + self._n_personal))
                descendant = True
                owner = self._folder_owner[parent]
            else:
                parent = rng.choice(earlier) if earlier and rng.random() < 0.6 else SHARED_ROOT
            name = V.title(rng, "Folder")
            if parent == SHARED_ROOT and self.reference is not None:
                name = self._top_folder_name(name)
        users = list(self.records["users"])
        creator = owner if owner else (rng.choice(users) if n > 2 else None)
        rec = Record(
            key,
            {
                "name": name,
                "parent_id": parent,
                "id": key,
                "content_metadata_id": str(n * 3 + 7),
                "created_at": V.ts(V.random_epoch(rng)) if n > 2 else None,
                "creator_id": creator,
                "external_id": None,
                "is_embed": False,
                "is_embed_shared_root": False,
                "is_embed_users_root": False,
                "is_personal": personal,
                "is_personal_descendant": descendant,
                "is_shared_root": n == 1,
                "is_users_root": n == 2,
                **self.extra(rng),
            },
        )
        if not personal and n > 2 and not descendant:
            self._shared_folders.append(key)
        return rec

    # -- another instance: what it shares with instance 0 ----------------------------------

    def _twin_user(self, key: str) -> dict[str, Any] | None:
        """The instance-0 user that user `key` of this instance is (every other user, at
        id + instance), or None for a user only this instance has."""
        ref = self.reference
        if ref is None or int(key) % 2:
            return None
        twin = ref.records["users"].get(str(int(key) + self.instance))
        return None if twin is None else twin.fields

    def _shared_name(self, kind: str, prop: str, i: int, own: str) -> str:
        """Every other object of `kind` takes the name of instance 0's object at index i +
        instance (when there is one); the rest keep `own`."""
        ref = self.reference
        if ref is None or i % 2 == 0:
            return own
        recs = list(ref.records[kind].values())
        j = i + self.instance
        return recs[j].fields[prop] if j < len(recs) else own

    def _top_folder_name(self, own: str) -> str:
        """Two in three top-level Shared folders are named like one of instance 0's (holding
        other content); the third keeps its own name."""
        ref = self.reference
        j, self._top_folders = self._top_folders, self._top_folders + 1
        if ref is None or j % 3 == 2:
            return own
        tops = [r.fields["name"] for k, r in ref.records["folders"].items()
                if k.isdigit() and int(k) > 2 and r.fields.get("parent_id") == SHARED_ROOT]
        return tops[j] if j < len(tops) else own

    def _content_folder(self, rng: random.Random) -> tuple[str, str | None]:
        """A folder for a new look/dashboard and its natural owner (None: any user)."""
        if rng.random() < 0.35:
            key = str(rng.randint(3, 2 + self._n_personal))
            return key, self._folder_owner.get(key)
        shared = self._shared_folders
        # Few items sit in the Shared root itself: a huge root folder would make one
        # folder(id) response many megabytes at large scales.
        if shared and rng.random() < 0.98:
            return rng.choice(shared), None
        return SHARED_ROOT, None

    def _content_times(self, rng: random.Random) -> dict[str, Any]:
        created = V.random_epoch(rng)
        updated = V.random_epoch(rng, created) + rng.randint(0, 999) / 1000
        viewed = V.random_epoch(rng, created)
        return {
            "created_at": V.ts(created),
            "updated_at": V.ts(updated),
            "last_viewed_at": V.ts(viewed) if rng.random() < 0.8 else None,
            "last_accessed_at": V.ts(viewed) if rng.random() < 0.8 else None,
        }

    def _owner(self, rng: random.Random, natural: str | None) -> str | None:
        if rng.random() < 0.03:
            return None  # owner deleted long ago: real instances carry null owners
        return natural or self.pick(rng, "users")

    def look(self, key: str, rng: random.Random, i: int) -> Record:
        folder_id, natural = self._content_folder(rng)
        user_id = self._owner(rng, natural)
        times = self._content_times(rng)
        deleted = rng.random() < 0.03 or key in ALWAYS_TRASHED  # trash exists at any scale
        explore = self.pick(rng, "explores")
        public = rng.random() < 0.05
        return Record(
            key,
            {
                "content_metadata_id": str(100000 + int(key)),
                "id": key,
                "title": V.title(rng, "Look"),
                "user_id": user_id,
                "content_favorite_id": str(rng.randint(1, 99999)) if rng.random() < 0.1 else None,
                **times,
                "deleted": deleted,
                "deleted_at": V.ts(V.random_epoch(rng, V.EPOCH_END - 86400 * 60))
                if deleted
                else None,
                "deleter_id": self.pick(rng, "users") if deleted else None,
                "description": rng.choice(
                    (None, None, "", "Numbers for the weekly sync.\nSecond line.")
                ),
                "favorite_count": rng.randint(0, 40),
                "is_run_on_load": rng.random() < 0.3,
                "last_updater_id": user_id,
                "public": public,
                "public_slug": V.slug(rng, 32) if public else None,
                "public_url": None,
                "query_id": str(500000 + int(key)),
                "short_url": f"/x/{V.slug(rng, 22)}",
                "folder_id": folder_id,
                "view_count": rng.randint(0, 5000),
                "usage_count": rng.randint(0, 500),
                **self.extra(rng),
            },
            {"explore": explore},
        )

    def dashboard(self, key: str, rng: random.Random, i: int) -> Record:
        folder_id, natural = self._content_folder(rng)
        user_id = self._owner(rng, natural)
        times = self._content_times(rng)
        deleted = rng.random() < 0.03 or key in ALWAYS_TRASHED  # trash exists at any scale
        n = int(key)
        huge = n in (5, 17) or (n % 1000 == 500)
        n_el = rng.randint(150, 400) if huge else rng.choice((0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16))
        looks = self._pools["looks"]
        elements = tuple(
            looks[rng.randrange(len(looks))] if rng.random() < 0.2 else None for _ in range(n_el)
        )
        return Record(
            key,
            {
                "content_favorite_id": str(rng.randint(1, 99999)) if rng.random() < 0.1 else None,
                "content_metadata_id": str(200000 + n),
                "description": rng.choice((None, None, "", "KPIs for the leadership team 🎯")),
                "hidden": rng.random() < 0.02,
                "id": key,
                "model": None,
                "query_timezone": rng.choice(("", "UTC", *V.TIMEZONES)),
                "readonly": False,
                "refresh_interval": rng.choice((None, None, "1 hour", "15 minutes")),
                "title": V.title(rng, "Dashboard"),
                "user_id": user_id,
                "slug": V.slug(rng),
                "preferred_viewer": rng.choice(("dashboards-next", "dashboards-next", None)),
                **times,
                "deleted": deleted,
                "deleted_at": V.ts(V.random_epoch(rng, V.EPOCH_END - 86400 * 60))
                if deleted
                else None,
                "deleter_id": self.pick(rng, "users") if deleted else None,
                "favorite_count": rng.randint(0, 80),
                "last_updater_id": user_id,
                "lookml_link_id": None,
                "folder_id": folder_id,
                "view_count": rng.randint(0, 20000),
                "usage_count": rng.randint(0, 900),
                **self.extra(rng),
            },
            {"elements": elements, "n_filters": rng.randint(0, 4)},
        )

    def _add_lookml_dashboards(self) -> None:
        recs = self.records["dashboards"]
        models = self._names["lookml_models"]
        names = _numbered(LOOKML_DASHBOARD_NAMES, self.counts.lookml_dashboards)
        for j, name in enumerate(names):
            model = models[j % len(models)] if j else models[0]
            rng = random.Random(self.lookml_seed * 7919 + j)
            rec = self.lookml_dashboard(f"{model}::{name}", rng)
            recs[rec.key] = rec

    def lookml_dashboard(self, key: str, rng: random.Random) -> Record:
        model, name = key.split("::", 1)
        n_el = rng.randint(2, 9)
        return Record(
            key,
            {
                "content_favorite_id": None,
                "content_metadata_id": None,
                "description": None,
                "hidden": False,
                "id": key,
                "model": {"id": model, "label": model.replace("_", " ").title()},
                "query_timezone": None,
                "readonly": True,
                "refresh_interval": None,
                "title": name.replace("_", " ").title(),
                "user_id": None,
                "slug": None,
                "preferred_viewer": "dashboards-next",
                "created_at": None,
                "updated_at": None,
                "last_viewed_at": None,
                "last_accessed_at": None,
                "deleted": False,
                "deleted_at": None,
                "deleter_id": None,
                "favorite_count": None,
                "last_updater_id": None,
                "lookml_link_id": key,
                "folder_id": LOOKML_FOLDER,
                "view_count": None,
                "usage_count": None,
            },
            {"elements": (None,) * n_el, "n_filters": rng.randint(0, 3), "lookml": True},
        )

    def lookml_folder(self) -> Record:
        return Record(
            LOOKML_FOLDER,
            {
                "name": "LookML Dashboards",
                "parent_id": None,
                "id": LOOKML_FOLDER,
                "content_metadata_id": None,
                "created_at": None,
                "creator_id": None,
                "external_id": None,
                "is_embed": False,
                "is_embed_shared_root": False,
                "is_embed_users_root": False,
                "is_personal": False,
                "is_personal_descendant": False,
                "is_shared_root": False,
                "is_users_root": False,
            },
        )

    def board(self, key: str, rng: random.Random, i: int) -> Record:
        times = self._content_times(rng)
        sections = []
        for _ in range(rng.randint(1, 3)):
            items = []
            for _ in range(rng.randint(0, 6)):
                kind = "dashboards" if rng.random() < 0.6 else "looks"
                items.append((kind, self.pick(rng, kind)))
            sections.append(tuple(items))
        return Record(
            key,
            {
                "content_metadata_id": str(300000 + int(key)),
                "created_at": times["created_at"],
                "deleted_at": None,
                "description": rng.choice((None, "", "Start here 👋")),
                "id": key,
                "title": V.title(rng, "Board"),
                "updated_at": times["updated_at"],
                "user_id": self._owner(rng, None),
                "primary_homepage": i == 0,
                **self.extra(rng),
            },
            {"sections": tuple(sections)},
        )

    def scheduled_plan(self, key: str, rng: random.Random, i: int) -> Record:
        user_id = API_USER_ID if rng.random() < 0.2 else self.pick(rng, "users")
        roll = rng.random()
        dashboard_id = look_id = lookml_dashboard_id = None
        if roll < 0.45:
            dashboard_id = self.pick(rng, "dashboards")
        elif roll < 0.9:
            look_id = self.pick(rng, "looks")
        else:
            lookml = [k for k in self.records["dashboards"] if "::" in k]
            lookml_dashboard_id = rng.choice(lookml)
        times = self._content_times(rng)
        return Record(
            key,
            {
                "name": rng.choice((None, V.title(rng, "Schedule"))),
                "user_id": user_id,
                "run_as_recipient": rng.random() < 0.1,
                "enabled": rng.random() < 0.9,
                "look_id": look_id,
                "dashboard_id": dashboard_id,
                "lookml_dashboard_id": lookml_dashboard_id,
                "filters_string": rng.choice((None, "?f[users.state]=California")),
                "dashboard_filters": None if look_id else rng.choice((None, "Region=EMEA")),
                "require_results": False,
                "require_no_results": False,
                "require_change": False,
                "send_all_results": False,
                "crontab": rng.choice(("0 6 * * 1", "30 7 * * *", "0 */4 * * *", "15 9 1 * *")),
                "datagroup": None,
                "timezone": rng.choice(V.TIMEZONES),
                "run_once": False,
                "include_links": True,
                "pdf_paper_size": None,
                "pdf_landscape": False,
                "embed": False,
                "color_theme": None,
                "long_tables": False,
                "inline_table_width": None,
                "query_id": None,
                "id": key,
                "created_at": times["created_at"],
                "updated_at": times["updated_at"],
                "next_run_at": V.ts(V.EPOCH_END + rng.randint(0, 86400 * 7)),
                "last_run_at": times["last_viewed_at"],
                **self.extra(rng),
            },
            {"n_dest": rng.randint(1, 3)},
        )

    def alert(self, key: str, rng: random.Random, i: int) -> Record:
        owner = API_USER_ID if rng.random() < 0.25 else self.pick(rng, "users")
        dashboards = self.records["dashboards"]
        for _ in range(20):
            dash = self.pick(rng, "dashboards")
            if dashboards[dash].meta["elements"]:
                break
        idx = rng.randrange(max(1, len(dashboards[dash].meta["elements"])))
        explore = self.pick(rng, "explores")
        view = explore.split("::", 1)[1]
        return Record(
            key,
            {
                "applied_dashboard_filters": None,
                "comparison_type": rng.choice(
                    ("GREATER_THAN", "LESS_THAN", "EQUAL_TO", "INCREASES_BY", "CHANGES_BY")
                ),
                "cron": rng.choice(("0 5 1 * *", "*/30 * * * *", "0 9 * * 1-5")),
                "query_id": str(1000000 + element_number(dash, idx)),
                "custom_title": rng.choice((None, V.title(rng, "Alert"))),
                "dashboard_element_id": element_id(dash, idx),
                "description": rng.choice((None, "Ping #oncall", "")),
                "field": {"title": "Count", "name": f"{view}.count", "filter": []},
                "is_disabled": rng.random() < 0.1,
                "disabled_reason": None,
                "is_public": rng.random() < 0.5,
                "investigative_content_type": None,
                "investigative_content_id": None,
                "lookml_dashboard_id": None,
                "lookml_link_id": None,
                "owner_id": owner,
                "threshold": float(rng.randint(0, 10000)),
                "id": key,
                **self.extra(rng),
            },
        )

    def theme(self, key: str, rng: random.Random, i: int) -> Record:
        name = _numbered(THEME_NAMES, i + 1)[-1]
        begin = V.random_epoch(rng)
        return Record(
            key,
            {
                "begin_at": V.ts(begin) if i else None,
                "end_at": V.ts(begin + 86400 * 365) if i and rng.random() < 0.3 else None,
                "id": key,
                "name": name,
            },
            {"primary": rng.choice(("#1A73E8", "#7CB342", "#E52592", "#12B5CB"))},
        )


    def color_collection(self, key: str, rng: random.Random, i: int) -> Record:
        label = _numbered(COLLECTION_LABELS, i + 1)[-1]

        def colors(n: int) -> list[str]:
            return [rng.choice(SWATCH) for _ in range(n)]

        def continuous(kind: str, j: int) -> dict[str, Any]:
            return {"id": f"{key}-{kind}-{j}", "label": f"{label} {kind} {j}", "type": kind,
                    "stops": [{"color": c, "offset": o}
                              for c, o in zip(colors(3), (0, 50, 100), strict=True)]}

        return Record(key, {
            "id": key,
            "label": label,
            "categoricalPalettes": [
                {"id": f"{key}-categorical-{j}", "label": f"{label} {j}", "type": "Categorical",
                 "colors": colors(rng.randint(6, 10))} for j in range(rng.randint(1, 3))],
            "sequentialPalettes": [continuous("Sequential", j) for j in range(2)],
            "divergingPalettes": [continuous("Diverging", j) for j in range(rng.randint(0, 2))],
        })


def instance_seed(seed: int, instance: int) -> int:
    """The seed of instance `instance`'s own content (instance 0: `seed` itself)."""
    if not instance:
        return seed
    digest = hashlib.blake2b(f"instance:{seed}:{instance}".encode(), digest_size=6).digest()
    return int.from_bytes(digest, "big")


def element_number(dashboard_key: str, index: int) -> int:
    """Numeric id of a dashboard's index-th tile (unique across dashboards)."""
    if dashboard_key.isdigit():
        return int(dashboard_key) * 1000 + index + 1
    # LookML dashboards: a stable number from the name, well above user-defined ones
    h = 0
    for ch in dashboard_key:
        h = (h * 131 + ord(ch)) % 900_000
    return (1_000_000 + h) * 1000 + index + 1


def element_id(dashboard_key: str, index: int) -> str:
    return str(element_number(dashboard_key, index))


def _unique_titles(recs: dict[str, Record]) -> None:
    """Looker refuses two live dashboards with one title in one folder (422 already_exists):
    a generated repeat gets a number, as a person would name it, and draws nothing from the
    RNG, so every other generated value stays as it was."""
    seen: set[tuple[object, object]] = set()
    for rec in recs.values():
        if rec.fields.get("deleted"):
            continue
        folder, title = rec.fields.get("folder_id"), rec.fields.get("title")
        n = 1
        while (folder, title) in seen:
            n += 1
            title = f"{rec.fields.get('title')} ({n})"
        rec.fields["title"] = title
        seen.add((folder, title))
