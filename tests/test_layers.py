"""Imports run one way (docs/ARCHITECTURE.md, "Layers").

Floors, top first: ``alpr_portal`` (wiring) > ``captures`` > ``audit`` (pages, flags,
reports, exports, checkpoints, retention of the log, tasks, admin) > ``tenants`` > the access
log's core (``audit.models``, ``audit.chain``, ``audit.services``). A module may import its
own floor and the floors below, never one above; so no app imports ``alpr_portal``.
Inside ``captures``, the folders that keep the data (ingest, storage, reading, retention,
synthetic) import none of the folders that use it (search, review, transparency, viewing), and
search and review do not import viewing. No two or more modules of the apps import each other
in a circle, counting imports inside functions. No app finds code by a dotted name
(``import_string``, ``import_module``): a settings string would hide an upward call.

The graph is grimp's (what import-linter uses): every ``import`` statement at any depth,
including those inside functions and under ``TYPE_CHECKING``. Layers are named by package, so
a new folder or module is placed without editing this file.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("alpr_portal", "captures", "audit", "tenants")

# The access log's ground floor: the tables, the chain and record_event, which every app
# (tenants included) calls directly, in the transaction of the thing it records.
LOG_CORE = ("audit.models", "audit.chain", "audit.services", "audit.apps", "audit.migrations")
FLOORS = ("audit log core", "tenants", "audit", "captures", "alpr_portal")  # bottom first

# Inside captures, by folder (the second part of the module's name), bottom first. Folders not
# listed (and modules at the top of captures: models, tasks, admin, urls) are not ranked.
CAPTURE_FOLDERS = {
    "ingest": 0,
    "storage": 0,
    "reading": 0,
    "retention": 0,
    "holds": 0,  # the purge asks which captures a hold keeps; holding a search result is search's
    "synthetic": 0,
    "search": 1,
    "review": 1,
    "transparency": 1,
    "releases": 1,  # uses search (the searches it is prepared from); transparency counts it
    "viewing": 2,
}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def floor_of(module: str) -> int | None:
    """The floor of ``module`` (an index into FLOORS), None outside the apps."""
    app = module.split(".")[0]
    if app == "audit":
        if module == "audit" or any(_within(module, core) for core in LOG_CORE):
            return FLOORS.index("audit log core")
        return FLOORS.index("audit")
    return FLOORS.index(app) if app in FLOORS else None


def capture_folder_rank(module: str) -> tuple[str, int] | None:
    parts = module.split(".")
    if parts[0] != "captures" or len(parts) < 2 or parts[1] not in CAPTURE_FOLDERS:
        return None
    return parts[1], CAPTURE_FOLDERS[parts[1]]


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    why: str

    def describe(self, graph: grimp.ImportGraph) -> str:
        lines = graph.get_import_details(importer=self.importer, imported=self.imported)
        where = ", ".join(f"line {d['line_number']}: {d['line_contents']}" for d in lines)
        return f"{self.importer} imports {self.imported} ({where or 'no line known'}): {self.why}"


def direct_imports(graph: grimp.ImportGraph) -> Iterator[tuple[str, str]]:
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            yield importer, imported


def upward_imports(graph: grimp.ImportGraph) -> list[Violation]:
    """Imports from a floor to a higher one, and from an app to alpr_portal."""
    found = []
    for importer, imported in direct_imports(graph):
        low, high = floor_of(importer), floor_of(imported)
        if low is None or high is None or high <= low:
            continue
        if imported.split(".")[0] == "alpr_portal":
            why = "no app imports alpr_portal; read settings through django.conf.settings"
        else:
            why = f"the {FLOORS[low]} floor must not use the {FLOORS[high]} floor above it"
        found.append(Violation(importer, imported, why))
    return found


def upward_capture_folder_imports(graph: grimp.ImportGraph) -> list[Violation]:
    found = []
    for importer, imported in direct_imports(graph):
        low, high = capture_folder_rank(importer), capture_folder_rank(imported)
        if low is None or high is None or high[1] <= low[1]:
            continue
        found.append(
            Violation(
                importer,
                imported,
                f"captures/{low[0]}/ must not use captures/{high[0]}/, which builds on it",
            )
        )
    return found


def import_cycles(graph: grimp.ImportGraph, modules: Iterable[str]) -> list[list[str]]:
    """One circle (a, b, ..., a) per strongly connected group of two or more of ``modules``."""
    nodes = set(modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & nodes) for m in nodes}
    return [_circle(group, edges) for group in _strong_groups(edges) if len(group) > 1]


def _strong_groups(edges: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components, without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, next_edge = work.pop()
            if next_edge == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
            if next_edge < len(edges[node]):
                work.append((node, next_edge + 1))
                target = edges[node][next_edge]
                if target not in index:
                    work.append((target, 0))
                elif target in stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                groups.append(_pop_group(stack, node))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups


def _pop_group(stack: list[str], root: str) -> set[str]:
    group = set()
    while True:
        member = stack.pop()
        group.add(member)
        if member == root:
            return group


def _circle(group: set[str], edges: dict[str, list[str]]) -> list[str]:
    """The shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in edges[node]:
                if target == start:
                    return [*paths[node], start]
                if target in group and target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no circle in {sorted(group)}")  # a strong group always has one


def dotted_name_imports(source: str) -> list[tuple[int, str]]:
    """Calls that find code by a dotted name: (line, called function)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name in ("import_string", "import_module", "__import__"):
                found.append((node.lineno, name))
    return sorted(found)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*APPS, cache_dir=None)


# --- the project -------------------------------------------------------------------------------


def test_the_graph_holds_every_app_and_sees_imports_inside_functions(graph):
    assert {"tenants.people.services", "audit.services", "audit.views", "alpr_portal.settings"} <= (
        graph.modules
    )
    # audit.tasks imports audit.flags only inside its task functions.
    assert "audit.flags" in graph.find_modules_directly_imported_by("audit.tasks")
    # The sign-in services record through the log core directly, not through a settings string.
    assert "audit.services" in graph.find_modules_directly_imported_by("tenants.people.services")


def test_no_floor_imports_a_floor_above_it(graph):
    problems = [v.describe(graph) for v in upward_imports(graph)]
    assert not problems, "Imports run one way (docs/ARCHITECTURE.md, Layers):\n" + "\n".join(
        problems
    )


def test_no_capture_folder_imports_a_folder_that_builds_on_it(graph):
    problems = [v.describe(graph) for v in upward_capture_folder_imports(graph)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("app", APPS)
def test_no_import_circles(graph, app):
    circles = [
        circle
        for circle in import_cycles(graph, graph.modules)
        if any(_within(module, app) for module in circle)
    ]
    assert not circles, "Modules that import each other (break the circle):\n" + "\n".join(
        " -> ".join(circle) for circle in circles
    )


@pytest.mark.parametrize("app", ["tenants", "audit", "captures"])
def test_no_app_finds_code_by_a_dotted_name(app):
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}()"
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, name in dotted_name_imports(path.read_text())
    ]
    assert not found, (
        "Call the module you need directly (imports run one way; a dotted name in settings hides "
        "an upward call):\n" + "\n".join(found)
    )


# --- the checks catch what they are for -------------------------------------------------------


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    built = grimp.ImportGraph()
    for importer, imported in imports:
        built.add_module(importer)
        built.add_module(imported)
        built.add_import(importer=importer, imported=imported, line_number=1, line_contents="x")
    return built


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("tenants.people.services", "audit.flags"),  # tenants under the audit pages
        ("tenants.people.services", "captures.models"),
        ("audit.services", "tenants.models"),  # the log core under tenants
        ("audit.chain", "audit.checkpoint"),  # the log core under the rest of audit
        ("audit.views", "captures.models"),
        ("captures.ingest.services", "alpr_portal.env"),
        ("tenants.keyring.core", "alpr_portal.settings"),
    ],
)
def test_an_upward_import_is_caught(importer, imported):
    (violation,) = upward_imports(_graph((importer, imported)))
    assert (violation.importer, violation.imported) == (importer, imported)
    assert ("no app imports alpr_portal" in violation.why) == imported.startswith("alpr_portal")


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("alpr_portal.demo.access_log", "captures.models"),
        ("captures.search.services", "audit.services"),
        ("audit.views", "tenants.people.access"),
        ("audit.flags", "audit.services"),
        ("tenants.people.services", "audit.services"),
        ("tenants.people.services", "audit.models"),
        ("captures.viewing.views", "captures.search.selectors"),
    ],
)
def test_a_downward_import_is_allowed(importer, imported):
    built = _graph((importer, imported))
    assert upward_imports(built) == []
    assert upward_capture_folder_imports(built) == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("captures.ingest.services", "captures.search.selectors"),
        ("captures.storage", "captures.review.services"),
        ("captures.retention.services", "captures.transparency.selectors"),
        ("captures.reading.pipeline", "captures.viewing.views"),
        ("captures.search.views", "captures.viewing.views"),  # viewing uses search, not back
        ("captures.review.services", "captures.viewing.selectors"),
    ],
)
def test_a_capture_folder_using_one_above_it_is_caught(importer, imported):
    (violation,) = upward_capture_folder_imports(_graph((importer, imported)))
    assert (violation.importer, violation.imported) == (importer, imported)


def test_circles_of_two_and_three_modules_are_caught():
    built = _graph(
        ("audit.flags", "audit.reports"),
        ("audit.reports", "audit.flags"),
        ("tenants.a", "tenants.b"),
        ("tenants.b", "tenants.c"),
        ("tenants.c", "tenants.a"),
        ("tenants.c", "tenants.d"),  # d is not part of a circle
    )
    assert sorted(import_cycles(built, built.modules)) == [
        ["audit.flags", "audit.reports", "audit.flags"],
        ["tenants.a", "tenants.b", "tenants.c", "tenants.a"],
    ]
    assert import_cycles(_graph(("tenants.a", "tenants.b")), ["tenants.a", "tenants.b"]) == []


def test_a_circle_through_an_import_inside_a_function_is_caught(tmp_path, monkeypatch):
    package = tmp_path / "layers_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "upper.py").write_text("from layers_probe import lower\n")
    (package / "lower.py").write_text("def later():\n    from layers_probe import upper\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    built = grimp.build_graph("layers_probe", cache_dir=None)
    assert import_cycles(built, built.modules) == [
        ["layers_probe.lower", "layers_probe.upper", "layers_probe.lower"]
    ]
    sys.modules.pop("layers_probe", None)


def test_finding_code_by_a_dotted_name_is_caught():
    source = (
        "from django.utils.module_loading import import_string\n"
        "def record(**kwargs):\n"
        "    import_string(settings.ALPR_EVENT_RECORDER)(**kwargs)\n"
        "    importlib.import_module('captures.services')\n"
    )
    assert dotted_name_imports(source) == [(3, "import_string"), (4, "import_module")]
