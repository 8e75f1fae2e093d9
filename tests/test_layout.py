"""Non-runtime code stays out of the runtime paths: no module the portal runs imports the
synthetic renderer, the recognizer's training or the demo data.

Every module of the four apps is parsed (not imported) and its imports, at any depth,
relative ones resolved, and ``import_module("...")`` calls with a literal name, are
checked. The non-runtime packages themselves may import anything; a management command
that only exists to start one of them may import that one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("alpr_portal", "tenants", "captures", "audit")
NON_RUNTIME = ("captures.synthetic", "captures.reading.training", "alpr_portal.demo")
# A command runs only when someone types it; each of these starts one non-runtime tool.
ENTRY_POINTS = {
    "captures.management.commands.simulate_cameras": "captures.synthetic",
    "captures.management.commands.train_plate_reader": "captures.reading.training",
    "alpr_portal.management.commands.seed_demo": "alpr_portal.demo",
    "alpr_portal.management.commands.demo_basemap": "alpr_portal.demo",
}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports or may import by name:
    ``from a import b`` counts as both ``a`` and ``a.b``, since ``b`` may be a module."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def runtime_modules() -> list[tuple[str, Path, bool]]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module, is_package = _module_name(path)
            if not any(_within(module, package) for package in NON_RUNTIME):
                found.append((module, path, is_package))
    return found


def test_the_import_check_sees_relative_lazy_and_by_name_imports():
    source = (
        "from ..synthetic import plates\n"
        "def later():\n"
        "    from .training.train import train\n"
        "    importlib.import_module('alpr_portal.demo')\n"
    )
    names = imported_names(source, "captures.reading.pipeline")
    assert {
        "captures.synthetic.plates",
        "captures.reading.training.train",
        "alpr_portal.demo",
    } <= names
    # In a package's __init__, one dot is the package itself.
    names = imported_names("from . import training\n", "captures.reading", is_package=True)
    assert "captures.reading.training" in names
    assert "captures.training" not in names


def test_the_walk_covers_the_apps_but_not_the_non_runtime_packages():
    modules = {module for module, _path, _pkg in runtime_modules()}
    assert {"captures.ingest.services", "captures.reading.pipeline", "audit.services"} <= modules
    assert "tenants.people.services" in modules
    assert "alpr_portal.settings" in modules
    assert not any(_within(m, p) for m in modules for p in NON_RUNTIME)
    for package in NON_RUNTIME:  # they exist, so the check is not vacuous
        assert (ROOT / package.replace(".", "/") / "__init__.py").is_file(), package


@pytest.mark.parametrize(
    ("module", "path", "is_package"),
    [pytest.param(*found, id=found[0]) for found in runtime_modules()],
)
def test_runtime_module_does_not_import_non_runtime_code(module, path, is_package):
    names = imported_names(path.read_text(), module, is_package=is_package)
    allowed = ENTRY_POINTS.get(module)
    offending = sorted(
        name
        for name in names
        if any(_within(name, package) and package != allowed for package in NON_RUNTIME)
    )
    assert not offending, (
        f"{module} imports {', '.join(offending)}: synthetic data, training and demo code "
        "stay out of the modules the portal runs."
    )


def test_runtime_apps_carry_no_demo_modules():
    demo_modules = [
        module
        for module, path, _pkg in runtime_modules()
        if "demo" in path.stem and module not in ENTRY_POINTS
    ]
    assert demo_modules == [], "demo data lives in alpr_portal/demo/"


# --- Access-log entries are written by services --------------------------------------------

# Pages, forms and admin classes hand the work to a service, which writes the access-log entry
# in the transaction of what it records.


def _is_page_module(module: str) -> bool:
    name = module.rpartition(".")[2]
    return name.endswith(("views", "forms", "admin", "admin_site", "urls")) or (
        ".templatetags." in module
    )


def log_writes(source: str) -> list[str]:
    """Where ``source`` calls ``record_event`` (or imports it), as ``line N`` strings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "record_event":
                found.append(f"line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and any(
            alias.name == "record_event" for alias in node.names
        ):
            found.append(f"line {node.lineno} (import)")
    return found


def test_the_log_write_check_sees_calls_and_imports():
    source = (
        "from audit.services import record_event\n"
        "def view(request):\n"
        "    services.record_event(action='x')\n"
    )
    assert log_writes(source) == ["line 1 (import)", "line 3"]
    assert _is_page_module("captures.viewing.views")
    assert _is_page_module("tenants.admin")
    assert _is_page_module("captures.templatetags.capture_tags")
    assert not _is_page_module("captures.viewing.services")


@pytest.mark.parametrize(
    ("module", "path"),
    [
        pytest.param(module, path, id=module)
        for module, path, _pkg in runtime_modules()
        if _is_page_module(module)
    ],
)
def test_pages_forms_and_admin_leave_log_writes_to_services(module, path):
    assert log_writes(path.read_text()) == [], (
        f"{module} writes the access log itself: call a service that does the thing and "
        "records it in the same transaction (services.py of its folder)."
    )


# --- One way to create a user --------------------------------------------------------------

USER_SERVICE = "tenants.people.services"
_CREATING_METHODS = {"create_user", "create_superuser"}
_MODEL_NAMES = {"User", "user_model"}


def user_creations(source: str) -> list[int]:
    """Lines of ``source`` that make a user row without the people service: the manager's
    ``create_user``, a ``get_or_create``/``create`` by username, or building ``User(...)``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = getattr(func, "attr", getattr(func, "id", None))
        by_username = any(keyword.arg == "username" for keyword in node.keywords)
        built = name in _MODEL_NAMES or (
            isinstance(func, ast.Call) and getattr(func.func, "id", None) == "get_user_model"
        )
        if (
            name in _CREATING_METHODS
            or (name in ("get_or_create", "create") and by_username)
            or (built and by_username)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_user_creation_check_sees_each_way_round_the_service():
    source = (
        "User.objects.create_user(username='a', password='b')\n"
        "get_user_model().objects.get_or_create(username='a')\n"
        "user_model(username='a').save()\n"
        "get_user_model()(username='a')\n"
        "get_user_model().objects.filter(username='a').exists()\n"
    )
    assert user_creations(source) == [1, 2, 3, 4]


def test_users_are_created_only_by_the_people_service():
    """The admin, the create_user command, agency creation and the demo all call
    ``user_create``: its checks (username, password, roles, training) and its access-log
    entry cannot be skipped by a second way of making users."""
    offending = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module, _ = _module_name(path)
            if module == USER_SERVICE or "migrations" in path.parts:
                continue
            offending += [f"{module}:{line}" for line in user_creations(path.read_text())]
    assert offending == [], f"create users with {USER_SERVICE}.user_create: {offending}"


# --- The test suite's own layout ---------------------------------------------------------

TESTS = ROOT / "tests"


def conftest_imports(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """The conftest modules ``source`` imports: fixtures reach tests through pytest, and
    plain helpers live in tests/factories.py or tests/support.py."""
    names = imported_names(source, module, is_package=is_package)
    return sorted(name for name in names if name.rpartition(".")[2] == "conftest")


def test_the_conftest_check_sees_absolute_relative_and_plain_imports():
    source = (
        "from tests.captures.conftest import image_bytes\n"
        "from .conftest import draw_plate\n"
        "import tests.search.conftest\n"
        "from tests import conftest\n"
        "from tests.factories import make_user\n"
    )
    assert conftest_imports(source, "tests.captures.reading.test_reader") == [
        "tests.captures.conftest",
        "tests.captures.reading.conftest",
        "tests.conftest",
        "tests.search.conftest",
    ]


def test_no_test_module_imports_a_conftest():
    offending = {}
    for path in sorted(TESTS.rglob("*.py")):
        module, is_package = _module_name(path)
        found = conftest_imports(path.read_text(), module, is_package=is_package)
        if found:
            offending[module] = found
    assert offending == {}, (
        "conftest files hold fixtures, which pytest hands to tests; move plain helpers to "
        f"tests/factories.py (builders) or tests/support.py (the rest): {offending}"
    )


def test_every_test_folder_is_a_package():
    """Two test files may share a name in different folders (reading/ and search/ both have
    test_patterns.py) only if each folder is a package."""
    missing = sorted(
        str(folder.relative_to(ROOT))
        for folder in [TESTS, *(p for p in TESTS.rglob("*") if p.is_dir())]
        if any(folder.glob("*.py")) and not (folder / "__init__.py").is_file()
    )
    assert missing == []
