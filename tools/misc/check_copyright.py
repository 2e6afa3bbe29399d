# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's copyright check, the ``check-copyright`` hook of open-mmlab's
``pre-commit-hooks``.

mmpose runs it on ``mmpose tests demo tools``: every Python file under the
given folders starts with :data:`HEADER`, after a ``#!`` line if it has one.
Files that lack it get it added, and the check fails, as the fixers of
pre-commit do::

    python tools/misc/check_copyright.py custom_modules tests tools
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

HEADER = '# Copyright (c) OpenMMLab. All rights reserved.'


def add_header(path: Path) -> bool:
    """Add :data:`HEADER` to ``path`` if it lacks it; whether it did."""
    text = path.read_text(encoding='utf-8')
    lines = text.splitlines(keepends=True)
    first = 1 if lines and lines[0].startswith('#!') else 0
    if len(lines) > first and lines[first].rstrip('\n') == HEADER:
        return False
    lines.insert(first, HEADER + '\n')
    path.write_text(''.join(lines), encoding='utf-8')
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'folders', nargs='+', help='folders whose Python files are checked')
    parser.add_argument(
        '--exclude',
        nargs='*',
        default=[],
        help='folders under them to leave out')
    args = parser.parse_args(argv)
    excluded = [Path(e).resolve() for e in args.exclude]
    fixed: List[Path] = []
    for folder in args.folders:
        for path in sorted(Path(folder).rglob('*.py')):
            resolved = path.resolve()
            if any(e == resolved or e in resolved.parents for e in excluded):
                continue
            if add_header(path):
                fixed.append(path)
    for path in fixed:
        print(f'{path}: copyright header added')
    return 1 if fixed else 0


if __name__ == '__main__':
    sys.exit(main())
