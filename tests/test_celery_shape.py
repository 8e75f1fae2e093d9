"""One shape for background work: tasks only in tasks.py, found by autodiscovery, one beat
schedule naming tasks that exist, the schema carried by tenant-schemas-celery alone, and one
plate reader per process.

The modules are parsed, not imported (like tests/test_layout.py); what a worker registers is
asked of a fresh process, so tasks imported by other tests cannot hide a missing one.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

from tests.test_layout import ROOT, runtime_modules

TASK_DECORATORS = {"shared_task", "task"}


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def _task_functions(source: str) -> list[str]:
    return [
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(_decorator_name(d) in TASK_DECORATORS for d in node.decorator_list)
    ]


def test_the_task_finder_sees_both_decorator_forms():
    source = "@shared_task\ndef a(): ...\n@app.task(bind=True)\ndef b(self): ...\ndef c(): ...\n"
    assert _task_functions(source) == ["a", "b"]


def test_tasks_are_defined_only_in_tasks_modules():
    misplaced = {
        module: names
        for module, path, _pkg in runtime_modules()
        if path.name != "tasks.py" and (names := _task_functions(path.read_text()))
    }
    assert misplaced == {}, "Celery tasks belong in the app's tasks.py"


def test_the_schema_travels_only_through_tenant_schemas_celery():
    header = re.compile(r"""["']_schema_name["']""")
    hand_set = [
        module for module, path, _pkg in runtime_modules() if header.search(path.read_text())
    ]
    assert hand_set == [], "send inside schema_context; never set the _schema_name header"


def _keeps_a_reader(source: str) -> bool:
    """Builds a PlateReader, or keeps a process-wide reader of its own (``global _reader``)."""
    tree = ast.parse(source)
    return "PlateReader(" in source or any(
        isinstance(node, ast.Global) and any("reader" in name for name in node.names)
        for node in ast.walk(tree)
    )


def test_the_reader_check_sees_a_second_singleton():
    assert _keeps_a_reader("_reader = None\ndef reader():\n    global _reader\n")
    assert not _keeps_a_reader("from captures.reading import get_reader\nget_reader()\n")


def test_one_module_keeps_the_plate_reader():
    keepers = [
        module
        for module, path, _pkg in runtime_modules()
        if module != "captures.reading" and _keeps_a_reader(path.read_text())
    ]
    assert keepers == [], "ask captures.reading.get_reader() for the process's one reader"


@pytest.fixture(scope="module")
def worker_tasks() -> set[str]:
    """The task names a worker process registers on start (autodiscovery of tasks.py)."""
    code = (
        "import django, json; django.setup()\n"
        "from alpr_portal.celery import app\n"
        "app.loader.import_default_modules()\n"
        "print(json.dumps(sorted(app.tasks)))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alpr_portal.settings_test"}
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_every_beat_entry_names_a_task_the_worker_has(worker_tasks):
    assert not hasattr(settings, "CELERY_IMPORTS"), "tasks are found by autodiscovery"
    missing = {
        key: entry["task"]
        for key, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if entry["task"] not in worker_tasks
    }
    assert missing == {}
    assert {"captures.read_capture", "captures.purge.purge_agency"} <= worker_tasks
