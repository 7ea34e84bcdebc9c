"""The FastAPI application over one open Index: read endpoints always, writes when allowed, the page at ``/``.

Reads run in worker threads, concurrently (the Index's read-write lock lets searches share it), each within
the time budget. Writes take the server's one writer lock (and the index's cross-process writer lock),
apply the change and save it before answering: a reader sees the index before or after, never half.
Every ``refresh_every`` seconds (2) the server moves on to what other processes saved (Index.refresh).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Header, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from semsearch.cli.options import dated, where_json
from semsearch.cli.render import hit_dict, story_dict
from semsearch.defaults import (
    DEFAULT_FACET,
    DEFAULT_MODE,
    DEFAULT_SORT,
    FACET_TOP,
    VERSION,
    Feedback,
    Group,
    Mode,
    Sort,
)
from semsearch.errors import InputError, SemsearchError
from semsearch.records import Document
from semsearch.serve import errors
from semsearch.serve.body_limit import BodyLimit
from semsearch.serve.errors import ApiError
from semsearch.serve.limits import DEFAULT_PAGE, MAX_CONTEXT, MAX_K, MAX_PAGE, MAX_QUERY_CHARS
from semsearch.serve.schemas import (
    AddRequest,
    BatchRequest,
    SearchOptions,
    SearchRequest,
    SyncRequest,
    UpdateRequest,
)
from semsearch.serve.security import TOKEN_VARIABLE, token_matches
from semsearch.serve.settings import ServerSettings

if TYPE_CHECKING:
    from semsearch.index import Index
    from semsearch.storage.locations import Location

STATIC = Path(__file__).parent / "static"  # the search page, shipped in the package
SPAN_NAMES = ("since", "until")  # the API's names for the day span (errors name them)
READ_ONLY = "this server is read-only; start it with --allow-writes"
T = TypeVar("T")
log = logging.getLogger("semsearch.serve")


@dataclass
class Served:
    """The open index (None while it cannot be opened) and what the server holds beside it.

    ``location``: where to open it from while it is None; ``problem``: why it could not be opened.
    """

    opened: Index | None
    settings: ServerSettings
    location: Location | None = None
    problem: str = ""
    runtime: dict[str, Any] = field(default_factory=dict)  # threads, device: as Index.load takes them
    writing: threading.Lock = field(default_factory=threading.Lock)

    @property
    def index(self) -> Index:
        """The open index, or ApiError 503 saying why there is none yet."""
        if self.opened is None:
            raise ApiError(
                503,
                f"the index at {self.location} cannot be opened now ({self.problem}); "
                f"the server tries again every {self.settings.refresh_every:g} s",
            )
        return self.opened

    async def read(self, work: Callable[[Index], T]) -> T:
        """Run ``work(index)`` in a worker thread within the time budget (TimeoutError, answered 503, past it)."""
        index = self.index
        with anyio.fail_after(self.settings.time_budget):
            return await anyio.to_thread.run_sync(functools.partial(work, index), abandon_on_cancel=True)

    async def write(self, change: Callable[[Index], Any]) -> dict[str, Any]:
        """Apply ``change`` alone and save it before answering; its ChangeReport as JSON."""
        return await anyio.to_thread.run_sync(functools.partial(self._write, change))

    def _write(self, change: Callable[[Index], Any]) -> dict[str, Any]:
        with self.writing, self._locked(self.index):
            self.index.refresh()  # another process's saved change first: saving would lose it otherwise
            report = change(self.index)
            if report.changed:
                self.index.save()
        data: dict[str, Any] = report.to_dict()
        return data

    def refresh(self) -> None:
        """Move on to what other processes saved (Index.refresh), unless a write here is under way."""
        if not self.writing.acquire(blocking=False):  # a write refreshes first anyway
            return
        try:
            if self.opened is None:
                self._open()
            elif self.opened.refresh():
                log.info(
                    "moved on to generation %s of %s", self.index.manifest.generation, self.index.location
                )
        except SemsearchError as exc:  # the index is being replaced or damaged: reads say so meanwhile
            self.problem = errors.one_line(str(exc))
            log.warning("could not open or refresh %s: %s", self.location, self.problem)
        finally:
            self.writing.release()

    def _open(self) -> None:
        from semsearch.index import Index

        if self.location is None:
            return
        index = Index.load(self.location, **self.runtime)
        _ = index.encoder  # the model before the first query
        self.opened = index
        log.warning("opened %s: %s chunks", self.location, len(index))

    async def refreshing(self) -> None:
        """Refresh every ``settings.refresh_every`` seconds, for as long as the server runs."""
        while True:
            await anyio.sleep(self.settings.refresh_every)
            await anyio.to_thread.run_sync(self.refresh)

    @contextmanager
    def _locked(self, index: Index) -> Iterator[None]:
        from semsearch.storage.locations import writer_lock

        where = index.location
        if where is None:  # an index in memory (tests): no other process can write it
            yield
            return
        with writer_lock(where):
            yield


def create_app(
    index: Index | None,
    settings: ServerSettings | None = None,
    *,
    static: Path = STATIC,
    location: Location | None = None,
    problem: str = "",
    runtime: dict[str, Any] | None = None,
) -> FastAPI:
    """The application serving ``index`` as ``settings`` say (default: read-only, no CORS).

    ``index`` None: the index at ``location`` could not be opened (``problem`` says why); requests are
    answered 503 until a refresh opens it (with ``runtime``: threads, device). ``static``: the folder of the page served at ``/`` and
    ``/static/`` (default: the one in the package).
    """
    settings = settings or ServerSettings()
    served = Served(
        index, settings, location if index is None else index.location, problem, dict(runtime or {})
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            if settings.refresh_every > 0:
                tasks.start_soon(served.refreshing)
            yield
            tasks.cancel_scope.cancel()

    app = FastAPI(
        lifespan=lifespan,
        title="semsearch",
        version=VERSION,
        description="Semantic search over Chinese news: the JSON API of `semsearch serve`. Errors are "
        '`{"error": "<one line>"}`; writes need `--allow-writes` and `Authorization: Bearer $SEMSEARCH_API_TOKEN`.',
    )
    app.state.time_budget = settings.time_budget
    errors.install(app)
    app.include_router(read_routes(served))
    app.include_router(write_routes(served))
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")

        @app.get("/", include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(static / "index.html")

        app.mount("/", StaticFiles(directory=static), name="page")  # app.js, app.css beside the page too
    return app


def _filter(where: dict[str, Any] | None, since: str | None, until: str | None) -> dict[str, Any] | None:
    """``where`` and the day span, ANDed, as the command folds them."""
    return dated([where] if where else [], since, until, SPAN_NAMES)


def _where_param(text: str | None) -> dict[str, Any] | None:
    return where_json(text, "where") if text else None


def _search(index: Index, queries: list[str], options: SearchOptions) -> list[list[dict[str, Any]]]:
    """Search ``queries`` alike; each result as ``semsearch query --json`` prints it (with its context).

    A story changed or removed by a write between the search and its context is searched again, once
    (the write is whole by then): a search never fails because a writer was quicker.
    """
    try:
        return _search_once(index, queries, options)
    except InputError:
        if options.context == 0:
            raise
    return _search_once(index, queries, options)


def _search_once(index: Index, queries: list[str], options: SearchOptions) -> list[list[dict[str, Any]]]:
    results = index.search_batch(
        queries,
        k=options.k,
        mode=options.mode,
        where=_filter(options.where, options.since, options.until),
        group=options.group,
        sort=options.sort,
        recency=options.recency,
        max_per_doc=options.max_per_doc,
        min_score=options.min_score,
        feedback=options.feedback,
    )
    as_dict: Callable[[Index, Any, int], dict[str, Any]] = hit_dict if options.group is None else story_dict
    return [[as_dict(index, r, options.context) for r in found] for found in results]


def read_routes(served: Served) -> APIRouter:
    """The endpoints anyone who reaches the server may call."""
    router = APIRouter(prefix="/api")

    @router.get("/health")
    async def health() -> dict[str, Any]:
        """Whether the server answers, and how big its index is now."""

        def look(index: Index) -> dict[str, Any]:
            counts = index.manifest.counts
            return {
                "status": "ok",
                "chunks": len(index),
                "documents": counts.documents,
                "generation": index.manifest.generation,
            }

        return await served.read(look)

    @router.get("/info")
    async def info() -> dict[str, Any]:
        """The index's manifest, location and size (``semsearch info --json``)."""
        return await served.read(lambda index: index.info())

    async def one_search(request: SearchRequest) -> dict[str, Any]:
        started = time.perf_counter()
        results = await served.read(lambda index: _search(index, [request.query], request))
        took = round((time.perf_counter() - started) * 1000, 2)
        return {"query": request.query, "group": request.group, "results": results[0], "took_ms": took}

    @router.post("/search")
    async def search(request: SearchRequest) -> dict[str, Any]:
        """The best passages (or stories, ``group: "document"``) for a query; options as Index.search."""
        return await one_search(request)

    @router.get("/search")
    async def search_get(
        q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="the query")],
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        mode: Mode = DEFAULT_MODE,
        group: Group | None = None,
        sort: Sort = DEFAULT_SORT,
        since: str | None = None,
        until: str | None = None,
        where: Annotated[str | None, Query(description="a filter as JSON")] = None,
        recency: str | None = None,
        context: Annotated[int, Query(ge=0, le=MAX_CONTEXT)] = 0,
        max_per_doc: Annotated[int | None, Query(ge=1)] = None,
        min_score: float | None = None,
        feedback: Feedback | None = None,
    ) -> dict[str, Any]:
        """``POST /api/search`` for curl and links: the query as ``q``, ``where`` as JSON text."""
        request = SearchRequest(
            query=q,
            k=k,
            mode=mode,
            group=group,
            sort=sort,
            since=since,
            until=until,
            where=_where_param(where),
            recency=recency,
            context=context,
            max_per_doc=max_per_doc,
            min_score=min_score,
            feedback=feedback,
        )
        return await one_search(request)

    @router.post("/search/batch")
    async def search_batch(request: BatchRequest) -> dict[str, Any]:
        """Many queries searched alike (embedded together): one result list per query, in order."""
        request.check_lengths()
        return {"results": await served.read(lambda index: _search(index, request.queries, request))}

    @router.get("/facets")
    async def facets(
        query: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS)] = None,
        by: str = DEFAULT_FACET,
        mode: Mode = DEFAULT_MODE,
        top: Annotated[int, Query(ge=1, le=10 * FACET_TOP)] = FACET_TOP,
        since: str | None = None,
        until: str | None = None,
        where: str | None = None,
        min_score: float | None = None,
    ) -> dict[str, Any]:
        """Stories per month (``by``: date:day, date:year, a metadata key), of a query's top stories or all."""
        condition = _filter(_where_param(where), since, until)
        found = await served.read(
            lambda index: index.facets(
                query or None, by=by, where=condition, mode=mode, top=top, min_score=min_score
            )
        )
        data: dict[str, Any] = found.to_dict()
        return data

    @router.get("/documents")
    async def documents(
        where: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """The stories (or those ``where`` lets through), a page at a time: id, title, date, source, chunks."""
        condition = _filter(_where_param(where), since, until)
        rows = await served.read(lambda index: index.documents(where=condition))
        return {"total": len(rows), "documents": rows[offset : offset + limit]}

    @router.get("/documents/{doc_id:path}/similar")
    async def similar(
        doc_id: str, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10, mode: Mode = DEFAULT_MODE
    ) -> dict[str, Any]:
        """The stories most like this one ("more like this"; 404 if unknown)."""
        return {
            "results": await served.read(
                lambda index: [story_dict(index, s, 0) for s in index.similar(doc_id, k, mode=mode)]
            )
        }

    @router.get("/documents/{doc_id:path}/context")
    async def context(
        doc_id: str,
        start: Annotated[int, Query(ge=0)],
        end: Annotated[int, Query(ge=0)],
        before: Annotated[int, Query(ge=0, le=MAX_CONTEXT)] = 1,
        after: Annotated[int, Query(ge=0, le=MAX_CONTEXT)] = 1,
    ) -> dict[str, Any]:
        """The paragraphs around a hit's span (``start``/``end`` as in the hit) of the story."""
        found = await served.read(lambda index: index.around(doc_id, start, end, before, after))
        return {"context": [p.to_dict() for p in found]}

    # Ids may hold "/" (files in folders are named by their relative path): ``:path`` takes the rest of
    # the address, so the routes ending in /similar and /context are declared before this one.
    @router.get("/documents/{doc_id:path}")
    async def document(doc_id: str) -> dict[str, Any]:
        """One story: title, raw and cleaned text, metadata (404 if unknown)."""
        return await served.read(lambda index: index.document(doc_id))

    return router


def write_routes(served: Served) -> APIRouter:
    """The endpoints that change the index: only with --allow-writes, and only with the token."""

    def writer(authorization: Annotated[str | None, Header()] = None) -> None:
        if not served.settings.allow_writes:
            raise ApiError(403, READ_ONLY)
        if not token_matches(authorization, served.settings.token):
            raise ApiError(
                401,
                f"writes need 'Authorization: Bearer TOKEN' with the server's ${TOKEN_VARIABLE}",
                {"WWW-Authenticate": "Bearer"},
            )

    router = APIRouter(prefix="/api", dependencies=[Depends(writer)])

    @router.post("/documents")
    async def add(request: AddRequest) -> dict[str, Any]:
        """Add stories (one whose id is indexed is replaced when its text changed); saved before the answer."""
        docs = [
            Document(doc_id=d.doc_id, text=d.text, title=d.title or "", metadata=d.metadata or {})
            for d in request.documents
        ]
        return await served.write(lambda index: index.add(docs))

    @router.put("/documents/{doc_id:path}")
    async def update(doc_id: str, request: UpdateRequest) -> dict[str, Any]:
        """Replace a story by its new version (404 if unknown); saved before the answer."""
        doc = Document(
            doc_id=doc_id, text=request.text, title=request.title or "", metadata=request.metadata or {}
        )
        return await served.write(lambda index: index.update([doc]))

    @router.delete("/documents/{doc_id:path}")
    async def remove(doc_id: str) -> dict[str, Any]:
        """Remove a story (404 if unknown); saved before the answer."""
        return await served.write(lambda index: index.remove([doc_id]))

    @router.post("/sync")
    async def sync(request: SyncRequest) -> dict[str, Any]:
        """Make the index hold what these files and folders on the server hold now; saved before the answer."""
        return await served.write(lambda index: index.sync(request.sources, settle=request.settle))

    return router
