"""The UI as a user drives it: `dagster dev` against the emulator, the Materialize button's
GraphQL calls, then headless Chromium on the asset graph and an asset's page.

The launch replays what dagster-ui 1.13.27 (the bundle inside dagster-webserver) does when a
user selects two partitioned assets, clicks "Materialize selected…", picks one partition in the
"Launch runs to materialize" dialog and clicks "Launch 1 run":

1. `LaunchAssetLoaderQuery` loads the asset nodes; the job is the first job every selected asset
   is in (`getCommonJob`), here `__ASSET_JOB`, the hidden asset job;
2. for a hidden job the UI asks whether a required resource needs config
   (`LaunchAssetLoaderResourceQuery`); none does, so the partitions dialog opens, no launchpad;
3. one partition chosen is a single run, not a backfill: `ConfigPartitionForAssetJobQuery` gives
   that partition's run config and tags (`dagster/partition`);
4. `LaunchPipelineExecution` with `executionParamsForAssetJob(...)`: the assets, their checks in
   that job, the partition's tags plus `dagster/from_ui=true`.

Screenshots go to docs/ (the README shows them) with LOOKER_ASSETS_UPDATE_SCREENSHOTS=1.
Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import psutil
import pytest

from looker_assets import content_types
from looker_assets.checks import check_names
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets_tests.conftest import PARTITION, REPO

DAGSTER = Path(sys.executable).parent / "dagster"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
LOCATION = "looker_assets"
REPOSITORY = "__repository__"  # the repository name of a Definitions object
TYPES = ("users", "groups")
KEYS = [{"path": ["looker", name]} for name in TYPES]
ALL_TYPES = tuple(sorted(ct.name for ct in content_types.CONTENT_TYPES))
# The checks of each type launched here (groups also check their references).
CHECKS = {name: set(check_names(content_types.get(name))) for name in TYPES}
# The README's screenshots are refreshed only on request (they change with every run's times);
# otherwise they go to a temporary folder, still taken and checked.
SHOTS = (REPO / "docs" if os.environ.get("LOOKER_ASSETS_UPDATE_SCREENSHOTS") == "1"
         else Path(os.environ.get("TMPDIR", "/tmp")) / "looker_assets_ui")
SHOT_GRAPH = SHOTS / "ui-asset-graph.png"
SHOT_USERS = SHOTS / "ui-asset-users.png"

# -- the UI's GraphQL documents (ui-core/src/assets/LaunchAssetExecutionButton.tsx,
#    launchpad/ConfigFetch.tsx, runs/RunUtils.tsx), trimmed to the fields the logic reads -------

LAUNCH_ASSET_LOADER_QUERY = """
query LaunchAssetLoaderQuery($assetKeys: [AssetKeyInput!]!) {
  assetNodes(assetKeys: $assetKeys) {
    id opNames jobNames hasMaterializePermission isObservable isExecutable isMaterializable
    partitionDefinition { description type name }
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks { name canExecuteIndividually jobNames } } }
    dependencyKeys { path }
    repository { id name location { id name } }
    requiredResources { resourceKey }
    configField { isRequired }
  }
  assetNodeAdditionalRequiredKeys(assetKeys: $assetKeys) { path }
  assetNodeDefinitionCollisions(assetKeys: $assetKeys) { assetKey { path } }
}"""

LAUNCH_ASSET_LOADER_RESOURCE_QUERY = """
query LaunchAssetLoaderResourceQuery($pipelineName: String!, $repositoryLocationName: String!,
                                     $repositoryName: String!) {
  resourcesOrError(pipelineSelector: {pipelineName: $pipelineName,
      repositoryName: $repositoryName, repositoryLocationName: $repositoryLocationName}) {
    __typename
    ... on PythonError { message }
    ... on ResourceConnection { resources { name configField { isRequired } } }
  }
}"""

CONFIG_PARTITION_FOR_ASSET_JOB_QUERY = """
query ConfigPartitionForAssetJobQuery($repositoryName: String!, $repositoryLocationName: String!,
    $jobName: String!, $partitionName: String!, $assetKeys: [AssetKeyInput!]!) {
  pipelineOrError(params: {pipelineName: $jobName, repositoryName: $repositoryName,
                           repositoryLocationName: $repositoryLocationName}) {
    __typename
    ... on Pipeline {
      id
      partition(partitionName: $partitionName, selectedAssetKeys: $assetKeys) {
        name
        runConfigOrError { __typename ... on PartitionRunConfig { yaml }
                           ... on PythonError { message } }
        tagsOrError { __typename ... on PartitionTags { results { key value } }
                      ... on PythonError { message } }
      }
    }
  }
}"""

LAUNCH_PIPELINE_EXECUTION_MUTATION = """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { id pipelineName } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
  }
}"""

RUN_QUERY = """
query($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status jobName tags { key value } assetSelection { path }
                 assetCheckSelection { name assetKey { path } } }
  }
}"""

ASSET_QUERY = """
query($key: AssetKeyInput!, $partitions: [String!]) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetMaterializations(partitions: $partitions, limit: 1) {
        runId partition
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
      assetChecksOrError { ... on AssetChecks { checks {
        name executionForLatestMaterialization { status runId evaluation { success } }
      } } }
    }
  }
}"""


@dataclass
class DagsterDev:
    url: str
    emulator: LookerEmulator
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with _LOCAL.open(request, timeout=30) as response:
            payload = json.load(response)
        assert "errors" not in payload, f"GraphQL errors: {payload['errors']}"
        return payload["data"]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@dataclass
class LaunchedRun:
    run_id: str
    job_name: str
    execution_params: dict[str, Any]
    status: str
    seconds: float


# No proxy, whatever the environment says: every request here goes to 127.0.0.1.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset_signals() -> None:
    # A parent that ignores SIGINT (a background job of a non-interactive shell) would make
    # `dagster dev` ignore SIGINT and SIGTERM alike: it maps SIGTERM to its SIGINT handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait_until(what: str, probe: Any, timeout: float, interval: float = 0.5,
                log: Path | None = None) -> Any:
    """Call probe() until it returns something truthy: bounded in time and in attempts."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    tail = log.read_text(errors="replace")[-4000:] if log else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to `dagster dev` (it shuts its webserver, daemon and code server down), then make
    sure every process it started is gone; only those, by pid."""
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    _, alive = psutil.wait_procs(family, timeout=15)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=10)


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    emulator = LookerEmulator(scale=300, seed=11, faults=Faults())
    emulator.start(host="127.0.0.1", port=0)
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOOKERSDK_", "LOOKER_ASSETS_", "DAGSTER_"))}
    env.update({
        **emulator.looker_env(),
        "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO),
        "LOOKER_ASSETS_DB": str(tmp / "ui.sqlite"),
        "LOOKER_ASSETS_SCHEDULE_ENABLED": "false",  # the daily schedule stays off
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    log = tmp / "dagster-dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_reset_signals,
        )
    dev = DagsterDev(url=f"http://127.0.0.1:{port}", emulator=emulator, log=log)
    try:
        def server_info() -> dict[str, Any] | None:
            assert proc.poll() is None, f"dagster dev exited early:\n{dev.log_tail()}"
            try:
                with _LOCAL.open(f"{dev.url}/server_info", timeout=5) as response:
                    return json.load(response)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return None

        info = _wait_until("/server_info", server_info, timeout=60, log=log)
        assert info["dagster_version"] == dg.__version__, info

        def location_loaded() -> bool:
            entries = dev.graphql(
                "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
            )["workspaceOrError"]["locationEntries"]
            entry = next((e for e in entries if e["name"] == LOCATION), None)
            if entry is None or entry["loadStatus"] != "LOADED":
                return False
            assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
            return True

        _wait_until(f"code location {LOCATION} LOADED", location_loaded, timeout=60, log=log)
        yield dev
    finally:
        _stop(proc)
        emulator.stop()


def _common_job(assets: list[dict[str, Any]], preferred: str | None = None) -> str | None:
    """getCommonJob() of LaunchAssetExecutionButton.tsx."""
    in_common = [j for j in assets[0]["jobNames"] if all(j in a["jobNames"] for a in assets)]
    return next((j for j in in_common if j == preferred), in_common[0] if in_common else None)


@pytest.fixture(scope="module")
def launched(dagster_dev: DagsterDev) -> LaunchedRun:
    """Materialize users + groups for one partition, the way the Materialize button does."""
    started = time.monotonic()
    loaded = dagster_dev.graphql(LAUNCH_ASSET_LOADER_QUERY, {"assetKeys": KEYS})
    assert loaded["assetNodeDefinitionCollisions"] == []
    assert loaded["assetNodeAdditionalRequiredKeys"] == []
    assets = loaded["assetNodes"]
    assert sorted(a["assetKey"]["path"][-1] for a in assets) == sorted(TYPES)
    assert all(a["isExecutable"] and not a["isObservable"] and a["hasMaterializePermission"]
               for a in assets)
    repo = assets[0]["repository"]
    assert (repo["name"], repo["location"]["name"]) == (REPOSITORY, LOCATION)
    # One partitions definition for both: the UI opens its partitions dialog (not an error).
    assert len({json.dumps(a["partitionDefinition"], sort_keys=True) for a in assets}) == 1
    assert assets[0]["partitionDefinition"]["type"] == "TIME_WINDOW"

    job = _common_job(assets)
    assert job == "__ASSET_JOB", [a["jobNames"] for a in assets]
    # A hidden asset job: the UI opens the launchpad instead if a resource needs config.
    assert all(not a["configField"] or not a["configField"]["isRequired"] for a in assets)
    resources = dagster_dev.graphql(LAUNCH_ASSET_LOADER_RESOURCE_QUERY, {
        "pipelineName": job, "repositoryName": REPOSITORY, "repositoryLocationName": LOCATION,
    })["resourcesOrError"]
    assert resources["__typename"] == "ResourceConnection", resources
    required = {r["resourceKey"] for a in assets for r in a["requiredResources"]}
    assert required and not any(r["configField"]["isRequired"] for r in resources["resources"]
                                if r["name"] in required)

    # The dialog with one partition selected launches one run ("Launch 1 run").
    pipeline = dagster_dev.graphql(CONFIG_PARTITION_FOR_ASSET_JOB_QUERY, {
        "repositoryName": REPOSITORY, "repositoryLocationName": LOCATION, "jobName": job,
        "partitionName": PARTITION, "assetKeys": KEYS,
    })["pipelineOrError"]
    assert pipeline["__typename"] == "Pipeline", pipeline
    partition = pipeline["partition"]
    assert partition["runConfigOrError"]["__typename"] == "PartitionRunConfig", partition
    assert partition["tagsOrError"]["__typename"] == "PartitionTags", partition
    tags = [{"key": t["key"], "value": t["value"]} for t in partition["tagsOrError"]["results"]]
    assert {"key": "dagster/partition", "value": PARTITION} in tags
    # executionParamsForAssetJob() + paramsWithUIExecutionTags() of useLaunchWithTelemetry.
    check_selection = [{"name": c["name"], "assetKey": {"path": a["assetKey"]["path"]}}
                       for a in assets for c in a["assetChecksOrError"]["checks"]
                       if job in c["jobNames"]]
    execution_params = {
        "mode": "default",
        "executionMetadata": {"tags": [*tags, {"key": "dagster/from_ui", "value": "true"}]},
        "runConfigData": partition["runConfigOrError"]["yaml"],
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "pipelineName": job,
            "assetSelection": [{"path": a["assetKey"]["path"]} for a in assets],
            "assetCheckSelection": check_selection,
        },
    }
    result = dagster_dev.graphql(LAUNCH_PIPELINE_EXECUTION_MUTATION,
                                 {"executionParams": execution_params})
    launch = result["launchPipelineExecution"]
    assert launch["__typename"] == "LaunchRunSuccess", launch
    run_id = launch["run"]["id"]

    def finished() -> str | None:
        status = dagster_dev.graphql(RUN_QUERY, {"runId": run_id})["runOrError"]["status"]
        return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

    status = _wait_until(f"run {run_id} to finish", finished, timeout=120, log=dagster_dev.log)
    return LaunchedRun(run_id=run_id, job_name=job, execution_params=execution_params,
                       status=status, seconds=time.monotonic() - started)


def test_materialize_button_launch_succeeds_with_metadata_and_checks(
        dagster_dev: DagsterDev, launched: LaunchedRun) -> None:
    assert launched.status == "SUCCESS", dagster_dev.log_tail()
    run = dagster_dev.graphql(RUN_QUERY, {"runId": launched.run_id})["runOrError"]
    assert run["jobName"] == "__ASSET_JOB"
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/partition"] == PARTITION
    assert tags["dagster/from_ui"] == "true"
    assert sorted(k["path"][-1] for k in run["assetSelection"]) == sorted(TYPES)
    assert sorted((c["assetKey"]["path"][-1], c["name"]) for c in run["assetCheckSelection"]) \
        == sorted((t, name) for t in TYPES for name in CHECKS[t])

    for name in TYPES:
        node = dagster_dev.graphql(ASSET_QUERY, {"key": {"path": ["looker", name]},
                                                 "partitions": [PARTITION]})["assetNodeOrError"]
        [materialization] = node["assetMaterializations"]
        assert materialization["runId"] == launched.run_id
        assert materialization["partition"] == PARTITION
        metadata = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"]}
        expected = len(dagster_dev.emulator.objects(name))
        assert expected > 0
        assert metadata["objects"] == expected, (name, metadata)
        assert metadata["listed"] == expected, (name, metadata)
        checks = {c["name"]: c["executionForLatestMaterialization"]
                  for c in node["assetChecksOrError"]["checks"]}
        assert set(checks) == CHECKS[name], (name, checks)
        for check_name, execution in checks.items():
            assert execution is not None, (name, check_name)
            assert execution["runId"] == launched.run_id, (name, check_name, execution)
            assert execution["status"] == "SUCCEEDED", (name, check_name, execution)
            assert execution["evaluation"]["success"] is True, (name, check_name, execution)


def test_browser_shows_asset_graph_and_asset_page(dagster_dev: DagsterDev,
                                                  launched: LaunchedRun) -> None:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: bash scripts/test.sh installs it"
    from playwright.sync_api import sync_playwright

    assert launched.status == "SUCCESS", dagster_dev.log_tail()
    users = len(dagster_dev.emulator.objects("users"))
    outside: list[str] = []

    def local_only(route: Any) -> None:
        url = route.request.url
        if url.startswith((dagster_dev.url, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    SHOT_GRAPH.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(30_000)
            context.route("**/*", local_only)
            page = context.new_page()

            # The global asset graph lists every looker asset in its sidebar.
            page.goto(f"{dagster_dev.url}/asset-groups")
            page.get_by_text("Latest event").first.wait_for()
            sidebar = page.inner_text("body")
            missing = [name for name in ALL_TYPES if name not in sidebar.split()]
            assert not missing, (missing, sidebar[:3000])

            # The graph of the two materialized assets, as the asset-selection filter shows it.
            selection = 'key:"looker/users" or key:"looker/groups"'
            page.goto(f"{dagster_dev.url}/asset-groups~{urllib.parse.quote(selection, safe='')}/")
            passed = [f"{len(CHECKS[t])} / {len(CHECKS[t])} Passed" for t in TYPES]
            for label in passed:  # both nodes, their checks passed
                page.get_by_text(label).first.wait_for()
            page.get_by_text(" ago").nth(1).wait_for()  # both nodes, a latest event
            text = page.inner_text("body")
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            for name in TYPES:
                assert name in lines, (name, text[:3000])
            assert text.count("Latest event") == 2, text[:3000]
            assert sum(text.count(label) for label in set(passed)) == 2, text[:3000]
            page.wait_for_timeout(500)  # let the viewport's zoom animation settle
            page.screenshot(path=str(SHOT_GRAPH))

            # The users asset's page: latest materialization, its partition and metadata.
            page.goto(f"{dagster_dev.url}/assets/looker/users")
            page.get_by_text("Latest materialization").first.wait_for()
            page.get_by_text(PARTITION).first.wait_for()
            page.get_by_text("objects", exact=True).first.wait_for()
            page.get_by_text("Latest check results").first.wait_for()
            text = page.inner_text("body")
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            assert "users" in lines and "looker" in lines, text[:3000]
            objects_at = lines.index("objects")
            assert str(users) in lines[objects_at:objects_at + 4], lines[objects_at:objects_at + 4]
            assert "Users (all_users rows carry the detail schema)." in text
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOT_USERS))
        finally:
            browser.close()
    assert not outside, f"the UI asked for addresses off 127.0.0.1: {outside}"
    for shot in (SHOT_GRAPH, SHOT_USERS):
        assert shot.stat().st_size > 20_000, shot
