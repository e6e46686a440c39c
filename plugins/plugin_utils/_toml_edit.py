# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Editing a TOML file the way a person would, over tomlkit: the layer both runtime modules share.

Controller side only (needs tomlkit). Pure: text in, text out. What depends on
tomlkit's internals (its item types, trivia, tables without a header, the
blank lines it adds) is here, so a tomlkit upgrade touches this file and no
runtime's rules:

* `TomlFile`: one parsed file, its name for errors, navigation that names the
  key where a wrong type sits, and `finished_text`, the check that an edited
  text changed only what the module owns and reads back as written.
* `Marks`: the trailing comments that say what a module added or set in a file
  it does not own whole (``# set by <module> (<name>), was: <original>``), so
  that ``state=absent`` gives back the original bytes.
* `RuntimeConfigError` and the checks every runtime makes the same way
  (options, a byte order mark or NUL byte in a file).
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from typing import Any

try:
    import tomlkit
    from tomlkit.container import OutOfOrderTableProxy
    from tomlkit.exceptions import ParseError, TOMLKitError
    from tomlkit.items import AoT, InlineTable, Item, Null, String, StringType, Table, Whitespace
except ImportError as exc:  # the action plugin reports it with the fix
    TOMLKIT_IMPORT_ERROR: ImportError | None = exc
else:
    TOMLKIT_IMPORT_ERROR = None

#: A runtime handler's name: the handler of a Kubernetes RuntimeClass.
RUNTIME_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
BOM = "\ufeff"


class RuntimeConfigError(Exception):
    """A configuration the module must not edit: names the file, the key and the fix."""

    def __init__(self, file: str, key: str | None, problem: str, fix: str):
        self.file = file
        self.key = key
        self.problem = problem
        self.fix = fix
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}. {fix}")


# --------------------------------------------------------------------------- options


def check_state(state: str, error: type = RuntimeConfigError) -> None:
    if state not in ("present", "absent"):
        raise error("(options)", "state", f"is {state!r}", "use present or absent")


def check_runtime_name(name: str, error: type = RuntimeConfigError) -> None:
    if not RUNTIME_NAME_RE.match(name or ""):
        raise error(
            "(options)",
            "runtime_name",
            f"is {name!r}",
            "use letters, digits, '.', '_' or '-' (it is the RuntimeClass handler name)",
        )


def check_absolute(
    option: str, value: str | None, fix: str = "give an absolute path", error: type = RuntimeConfigError
) -> None:
    if not posixpath.isabs(value or ""):
        raise error("(options)", option, f"is {value!r}", fix)


# --------------------------------------------------------------------------- reading


def check_text(text: str | None, name: str, runtime: str, error: type = RuntimeConfigError) -> None:
    """Refuse, with the real reason, what tomlkit would report as a misleading syntax error ("Empty key")."""
    if not text:
        return
    if text.startswith(BOM):
        raise error(
            name,
            None,
            "starts with a UTF-8 byte order mark (BOM), which TOML does not allow and this module cannot keep "
            "(containerd 1.6 and 1.7 skip it, other readers refuse it)",
            f"save the file without it, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' {name}",
        )
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise error(
            name,
            None,
            f"contains a NUL byte (line {line}); a TOML file is text, and {runtime} would not read it as intended",
            f"remove the NUL bytes (tr -d '\\000'), or restore {name} from a backup",
        )


def parse_plain(text: str | None, name: str, runtime: str, error: type = RuntimeConfigError) -> dict:
    """The file's data as plain Python values; an error naming the file when it is not TOML."""
    check_text(text, name, runtime, error)
    try:
        return tomlkit.parse(text or "").unwrap()
    except TOMLKitError as exc:
        raise error(name, None, f"is not valid TOML ({exc})", f"fix the syntax ({runtime} refuses it too)") from exc


# --------------------------------------------------------------------------- tomlkit items


def dotted(path) -> str:
    """TOML spelling of a key path: plugins."io.containerd.grpc.v1.cri".containerd."""
    parts = []
    for part in path:
        parts.append(part if re.match(r"^[A-Za-z0-9_-]+$", part) else json.dumps(part))
    return ".".join(parts)


def type_name(value: Any) -> str:
    if isinstance(value, (Table, InlineTable, OutOfOrderTableProxy, dict)):
        return "table"
    if isinstance(value, (AoT,)):
        return "array of tables"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def is_table(value: Any) -> bool:
    return isinstance(value, (Table, InlineTable, OutOfOrderTableProxy))


def raw(table: Any, key: str) -> Any:
    """The item under `key` as tomlkit keeps it (table[key] gives booleans as plain bool)."""
    container = table if isinstance(table, tomlkit.TOMLDocument) else getattr(table, "value", None)
    if container is not None and hasattr(container, "item"):
        return container.item(key)
    return table[key]


def plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def string_like(existing: Any, value: str) -> Item:
    """A TOML string for `value` in the quoting style of `existing` (or the file's usual style)."""
    literal = isinstance(existing, String) and existing.type == StringType.SLL
    if literal and "'" not in value and "\n" not in value:
        return tomlkit.string(value, literal=True)
    return tomlkit.string(value)


def uses_literal_strings(doc: Any) -> bool:
    """containerd 2.x writes 'single-quoted' strings; new strings follow the file's habit."""
    text = doc.as_string()
    return text.count("= '") > text.count('= "')


class TomlFile:
    """One parsed TOML file and its name (for errors).

    `runtime`: who reads the file, for the messages ("containerd expects a table here");
    `error`: the runtime's RuntimeConfigError subclass.
    """

    def __init__(self, text: str | None, name: str, runtime: str = "the runtime", error: type | None = None):
        self.name = name
        self.runtime = runtime
        self.error = error or RuntimeConfigError
        check_text(text, name, runtime, self.error)
        self.existed = text is not None
        self.original = text
        try:
            self.doc = tomlkit.parse(text or "")
        except ParseError as exc:
            raise self.error(
                name, None, f"is not valid TOML ({exc})", f"fix the syntax ({runtime} would refuse it too)"
            ) from exc
        except TOMLKitError as exc:  # pragma: no cover - other tomlkit refusals
            raise self.error(name, None, f"is not valid TOML ({exc})", "fix the syntax") from exc
        self.literal = uses_literal_strings(self.doc)
        self.created: list = []
        self.stable = self.doc.as_string() == (text or "")
        # The data as read, before any edit: what the ownership check compares with (no second parse).
        self.plain = self.doc.unwrap()

    @property
    def empty(self) -> bool:
        return len(self.doc) == 0

    def text(self) -> str:
        return self.doc.as_string()

    def string(self, value: str, existing: Any = None) -> Item:
        if existing is None and self.literal and "'" not in value:
            return tomlkit.string(value, literal=True)
        return string_like(existing, value)

    # -- navigation ---------------------------------------------------------
    def lookup(self, path) -> Any:
        node: Any = self.doc
        for i, part in enumerate(path):
            if not is_table(node) and node is not self.doc:
                raise self.not_a_table(path[:i], node)
            if part not in node:
                return None
            node = node[part]
        return node

    def table(self, path, create: bool = False) -> Any:
        """The table at `path`; created (as implicit parents) when `create`; None when absent."""
        node: Any = self.doc
        for i, part in enumerate(path):
            child = node.get(part) if part in node else None
            if child is None:
                if not create:
                    return None
                if isinstance(node, InlineTable):
                    raise self.inline_table(path[:i])
                child = tomlkit.table(is_super_table=True)
                node[part] = child
                child = node[part]
                self.created.append(child)
            elif not is_table(child):
                raise self.not_a_table(path[: i + 1], child)
            node = child
        return node

    def inline_table(self, path) -> RuntimeConfigError:
        """A table to add inside an inline table: tomlkit cannot, and rewriting the user's line is not ours to do."""
        return self.error(
            self.name,
            dotted(path),
            f"is an inline table ({{ ... }} on one line), which {self.runtime} reads, but a table cannot be added "
            "inside it without rewriting that whole line",
            f"write it as a [{dotted(path)}] table with one key per line (the same settings), and run again",
        )

    def not_a_table(self, path, value) -> RuntimeConfigError:
        return self.error(
            self.name,
            dotted(path),
            f"is a {type_name(plain(value))}, but {self.runtime} expects a table here",
            f"write it as a table ([{dotted(path)}]) or remove it",
        )

    def expect(self, path, value, kind: type, kind_name: str) -> None:
        if not isinstance(plain(value), kind) or (kind is int and isinstance(plain(value), bool)):
            raise self.error(
                self.name,
                dotted(path),
                f"is a {type_name(plain(value))}, but {self.runtime} expects a {kind_name}",
                f"set it to a {kind_name} or remove it",
            )

    def settle_new_tables(self) -> None:
        """Tables the module adds carry their blank line at their end, never in front.

        Read back, a blank line in front of a table belongs to whatever precedes it, so
        removing the table later would leave it behind; a blank line at its end goes with it.
        """
        for table in self.created:
            table.trivia.indent = table.trivia.indent.lstrip("\n")
        for table in self.created:
            last = last_table(table)
            items = [v for dummy, v in body(last) if not isinstance(v, Null)]
            if items and not isinstance(items[-1], Whitespace):
                last.add(tomlkit.nl())

    def prune(self, path, force: bool = False) -> None:
        """Remove the implicit parent tables along `path` that are now empty (they were created for a child).

        `force`: also empty tables with a [header] (in the module's own drop-in).
        """
        for depth in range(len(path), 0, -1):
            parent = self.lookup(path[: depth - 1]) if depth > 1 else self.doc
            if parent is None or path[depth - 1] not in parent:
                continue
            node = parent[path[depth - 1]]
            if isinstance(node, Table) and len(node) == 0 and (force or node.is_super_table()):
                delete_table(parent, path[depth - 1])
            else:
                break


class Marks:
    """The trailing comments that say what `mark` (a module's name) added or set in a file it does not own.

    ``# added by <mark> (<name>)`` (optionally ``with its [table] line``), or
    ``# set by <mark> (<name>), was: "<the original value and comment>"``.
    """

    def __init__(self, mark: str):
        self.mark = mark
        self.pattern = re.compile(
            r"^#\s*(?P<kind>added|set) by "
            + re.escape(mark)
            + r"(?: \((?P<name>[^)]*)\))?(?P<header> with its \[table\] line)?(?:, was: (?P<was>.*))?\s*$"
        )

    def put(self, item: Item, kind: str, name: str | None, was: str | None = None, header: bool = False) -> None:
        text = f"{kind} by {self.mark}"
        if name:
            text += f" ({name})"
        if header:
            text += " with its [table] line"
        if was is not None:
            text += f", was: {json.dumps(was)}"
        item.comment(text)

    def read(self, item: Any) -> dict | None:
        trivia = getattr(item, "trivia", None)
        if trivia is None or not trivia.comment:
            return None
        match = self.pattern.match(trivia.comment)
        if not match:
            return None
        found = match.groupdict()
        if found["was"] is not None:
            try:
                found["was"] = json.loads(found["was"])
            except ValueError:
                return None
        return found

    @staticmethod
    def remove(item: Item, marker: dict) -> None:
        """Drop the marker, giving back the comment the line had before (if it was a `set`)."""
        original = parse_value_text(marker["was"]) if marker.get("was") is not None else None
        item.trivia.comment = original.trivia.comment if original is not None else ""
        item.trivia.comment_ws = original.trivia.comment_ws if original is not None and original.trivia.comment else ""


def value_text(item: Item) -> str:
    """The value as written, with its comment: what a `was:` marker keeps."""
    trivia = item.trivia
    return item.as_string() + (trivia.comment_ws + trivia.comment if trivia.comment else "")


def parse_value_text(text: str) -> Item:
    return raw(tomlkit.parse("k = " + text), "k")


def put(table: Any, key: str, item: Item) -> None:
    """table[key] = item, keeping item's own comment (tomlkit would keep the old one when item has none)."""
    comment_ws, comment = item.trivia.comment_ws, item.trivia.comment
    table[key] = item
    kept = raw(table, key)
    kept.trivia.comment_ws = comment_ws if comment else ""
    kept.trivia.comment = comment


def add_key(container: Any, key: str, item: Item) -> None:
    """container[key] = item for a new key, without tomlkit's cosmetic blank line before the next table.

    tomlkit puts a newline into the indent of the table that follows a new key; removing
    the key later would leave it behind, so the blank line is not added at all.
    """
    body = container.body if isinstance(container, tomlkit.TOMLDocument) else getattr(container, "value", None)
    body = getattr(body, "body", body)
    tables = [v for dummy, v in (body or []) if isinstance(v, Table)]
    indents = [t.trivia.indent for t in tables]
    # The new line is indented like the table's last key, as containerd's own files are.
    keys = [v for k, v in (body or []) if k is not None and not isinstance(v, (Table, AoT, OutOfOrderTableProxy))]
    indent = keys[-1].trivia.indent.rpartition("\n")[2] if keys else ""
    container[key] = item
    for table, table_indent in zip(tables, indents):
        table.trivia.indent = table_indent
    if indent.strip(" \t") == "":
        raw(container, key).trivia.indent = indent


def body(container: Any) -> list:
    if isinstance(container, tomlkit.TOMLDocument):
        return container.body
    inner = getattr(container, "value", None)
    return getattr(inner, "body", [])


def delete_table(container: Any, key: str) -> None:
    """del container[key] for a table the module added (see TomlFile.settle_new_tables for its blank lines)."""
    del container[key]


def last_table(table: Table) -> Table:
    """The table whose lines come last in `table`'s text."""
    while True:
        items = [v for dummy, v in body(table) if not isinstance(v, (Null, Whitespace))]
        if items and isinstance(items[-1], Table):
            table = items[-1]
        else:
            return table


# --------------------------------------------------------------------------- the result


def without(data: Any, paths) -> Any:
    """`data` (plain) without the key paths the module owns, and without parents emptied by that."""
    data = copy.deepcopy(data)
    for path in paths:
        chain = [data]
        for part in path[:-1]:
            node = chain[-1].get(part) if isinstance(chain[-1], dict) else None
            if not isinstance(node, dict):
                break
            chain.append(node)
        else:
            if isinstance(chain[-1], dict) and path[-1] in chain[-1]:
                del chain[-1][path[-1]]
                for depth in range(len(chain) - 1, 0, -1):
                    if chain[depth]:
                        break
                    del chain[depth - 1][path[depth - 1]]
    return data


def finished_text(file: TomlFile, owned) -> str:
    """The edited file's text, checked: only owned keys changed, and it reads back as written.

    The output is parsed once, for both checks. A file left exactly as it was read
    needs neither: the parse of the input already showed that it reads back as written.
    Guards against formatting-library surprises: a layout where editing one key
    would touch others is refused, and so is one that does not settle.
    """
    text = file.text()
    if file.existed and file.stable and text == file.original:
        return text
    try:
        after = tomlkit.parse(text)
    except TOMLKitError as exc:  # pragma: no cover - a tomlkit bug
        raise file.error(
            file.name, None, f"the edited text would not be valid TOML ({exc})", "please report this with the file"
        ) from exc
    if without(file.plain, owned) != without(after.unwrap(), owned):
        raise file.error(
            file.name,
            None,
            "editing it would change keys this module does not own (an unusual layout: dotted keys or split tables?)",
            "write the CRI plugin's tables as [table] headers, or pass drop_in to leave it untouched",
        )
    return settled(text, after, file.name, file.error)


def settled(text: str, doc: Any, name: str, error: type | None = None) -> str:
    """The text as tomlkit will read it back (`doc`: the text parsed), so that the next run sees no change.

    Some layouts (indented table headers under implicit parent tables) are not written
    back unchanged by tomlkit; rendering them until they settle keeps the module
    idempotent, and a layout that never settles is refused rather than written.
    """
    for dummy in range(3):
        again = doc.as_string()
        if again == text:
            return text
        text = again
        doc = tomlkit.parse(text)
    raise (error or RuntimeConfigError)(
        name,
        None,
        "its layout (indented [table] headers whose parent tables have no header) cannot be edited stably "
        "by the TOML library: each run would shift the indentation again",
        "remove the indentation before those [table] headers, or add the parent tables' headers",
    )
