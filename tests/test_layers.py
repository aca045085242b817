"""The house in floors: every import of the project's own modules, those inside functions included, read from the
source; none inside a function, no cycle, and nothing below the lesson (common.py) imports it or what stands on it."""
import ast
import shutil
from pathlib import Path

from conftest import ROOT

# What common.py stands on. Everything else in tools/ stands on common (or on these alone).
BELOW = {"tools", "tools.places", "tools.files", "tools.data", "tools.config", "tools.records", "tools.runs",
         "tools.drawing", "tools.board", "tools.words"}


def modules(root: Path) -> dict[str, Path]:
    """The project's modules by dotted name: common and everything under tools/."""
    found = {"common": root / "common.py"}
    for path in sorted((root / "tools").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(project module imported, line, whether inside a function) for each import in `path`'s source."""
    tree = ast.parse(path.read_text(), str(path))
    inner = {id(node) for function in ast.walk(tree) if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
             for node in ast.walk(function) if node is not function}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from tools import records` imports tools.records; `from tools.files import X` imports tools.files
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        out += [(name, node.lineno, id(node) in inner) for name in names if name in known]
    return out


def problems(root: Path) -> list[str]:
    """Every function-level import of a project module, every cycle, every import from below the lesson upwards."""
    found = modules(root)
    graph, said = {}, []
    for name, path in found.items():
        graph[name] = set()
        for imported, line, inside in imports(path, set(found)):
            if imported == name:
                continue
            graph[name].add(imported)
            if inside:
                said.append(f"{path.relative_to(root)}:{line}: imports {imported} inside a function")
            if name in BELOW and imported not in BELOW:
                said.append(f"{path.relative_to(root)}:{line}: below common, imports {imported}, which is not")
    state = {}

    def visit(name, trail):
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                said.append("cycle: " + " -> ".join(trail[trail.index(nxt):] + [name, nxt]) if nxt in trail
                            else f"cycle: {name} -> {nxt}")
            elif nxt not in state:
                visit(nxt, trail + [name])
        state[name] = "done"
    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return said


def test_the_project_has_floors_and_no_hidden_cycle():
    assert problems(ROOT) == []


def test_a_planted_cycle_and_a_planted_inner_import_are_found(tmp_path):
    shutil.copy(ROOT / "common.py", tmp_path / "common.py")
    shutil.copytree(ROOT / "tools", tmp_path / "tools", ignore=shutil.ignore_patterns("searches", "calibration"))
    files = tmp_path / "tools" / "files.py"
    files.write_text("from tools import report\n" + files.read_text())
    data = tmp_path / "tools" / "data.py"
    data.write_text(data.read_text() + "\n\ndef planted():\n    import common\n    return common\n")
    said = problems(tmp_path)
    assert any(line.startswith("cycle:") and "tools.report" in line and "tools.files" in line for line in said), said
    assert "tools/files.py:1: below common, imports tools.report, which is not" in said
    assert any(line.startswith("tools/data.py:") and line.endswith("imports common inside a function")
               for line in said), said


def test_tools_index_names_every_module():
    import tools
    listed = {line.split()[0] for line in tools.__doc__.splitlines() if line.startswith("    ")}
    present = {path.stem for path in (ROOT / "tools").glob("*.py") if path.stem != "__init__"}
    present |= {path.name for path in (ROOT / "tools").iterdir() if (path / "__init__.py").is_file()}
    assert present == listed
