"""Launch links into the student distribution: `python -m pragmatic.launch [PAGE ...] [--hub URL]`.

Prints one nbgitpuller link per notebook page and homework notebook (all of them by default; a
page is named as in _toc.yml, e.g. labs/01-t-interval, a homework as
homework/<assignment>/<assignment>.ipynb). Following a link logs the student in to the hub,
pulls the student distribution into their home folder (merging with their own changes) and
opens the notebook in JupyterLab. The hub, the repository and the branch are the student
edition's, from editions.yml; `--hub` and `--repo` name others (to try a local hub on a local
copy of the distribution, for example).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlencode

from .cli import OneLineParser
from .edition import launch_targets, notebook_pages


def launch_link(hub_url: str, repository: str, branch: str, path: str) -> str:
    """The nbgitpuller link that opens `path` of the repository on the hub in JupyterLab.

    The same link sphinx-book-theme puts behind a page's JupyterHub button.
    """
    name = repository.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urlencode(dict(repo=repository, urlpath=f"lab/tree/{name}/{path}", branch=branch),
                      safe="/")
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def homework_notebooks(source: Path) -> list[str]:
    """Where each homework's student notebook sits in the distribution (make student)."""
    return [f"homework/{master.stem}/{master.stem}.ipynb"
            for master in sorted((source / "homework").glob("*.ipynb"))]


def main(argv=None) -> int:
    parser = OneLineParser(prog="python -m pragmatic.launch", description=__doc__)
    parser.add_argument("pages", nargs="*", help="pages (default: every notebook page)")
    parser.add_argument("--hub", help="the hub's address (default: editions.yml's)")
    parser.add_argument("--repo", help="the distribution's git address, e.g. "
                        "file:///path/to/_build/student-dist (default: editions.yml's)")
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="the book's folder, with editions.yml (default: .)")
    args = parser.parse_args(argv)
    try:
        targets = launch_targets(args.source)
    except ValueError as err:
        parser.error(str(err))
    pages, homework = notebook_pages(args.source), homework_notebooks(args.source)
    for page in args.pages:
        if page not in pages and page not in homework:
            parser.error(f"unknown page {page!r}; one of {', '.join(pages + homework)}")
    if args.hub is not None and not args.hub.startswith(("http://", "https://")):
        parser.error(f"--hub {args.hub!r} is not an http(s) address")
    if args.repo is not None and not args.repo.startswith(("http://", "https://", "file://")):
        parser.error(f"--repo {args.repo!r} is not an http(s) or file:// address")
    hub, repository = args.hub or targets["jupyterhub_url"], args.repo or targets["repository"]
    for page in args.pages or pages + homework:
        path = page if page.endswith(".ipynb") else f"{page}.ipynb"
        print(launch_link(hub, repository, targets["branch"], path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
