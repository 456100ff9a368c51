"""Searching the register: the one function the page, the benchmark and the tests call."""

from __future__ import annotations

import math
import threading
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from flask import current_app
from markupsafe import Markup

from register.mentors import vocabulary as vocab
from register.search import extracts, fallback, index, masks, pages, scoring, spelling
from register.search import query as text_query

PAGE_SIZE = 20
EXTRACT_CHARACTERS = extracts.CHARACTERS

# Filters that take several values (any of them may match) and how they are labelled.
GROUPS = {
    "knowing": ("knowing", vocab.KNOWING),
    "context": ("contexts", vocab.CONTEXTS),
    "format": ("formats", vocab.FORMATS),
    "kind": ("kind", tuple(c for c in vocab.KINDS if c.code != "both")),
    "sector": ("sector", vocab.SECTORS),
}
SORTS = ("relevance", "newest")


@dataclass(frozen=True)
class SearchParams:
    """A search as the URL describes it; unknown values are dropped, never an error."""

    text: str = ""
    filters: dict = field(default_factory=dict)  # group name -> tuple of codes
    accepting: bool = True
    in_training: bool = False
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def from_args(cls, args) -> SearchParams:
        filters = {}
        for group, (_, choices) in GROUPS.items():
            allowed = vocab.codes(choices)
            chosen = [code for code in allowed if code in set(args.getlist(group))]
            if chosen:
                filters[group] = tuple(chosen)
        # The "taking requests now" box is on unless the form says otherwise: the
        # form sends a hidden 0 before the box's 1, so "0" alone means unticked.
        accepting_values = args.getlist("accepting")
        accepting = not accepting_values or "1" in accepting_values
        sort = args.get("sort", "relevance")
        try:
            page = max(1, min(int(args.get("page", 1)), 500))
        except ValueError:
            page = 1
        text = " ".join(args.get("q", "").split())[:text_query.MAX_LENGTH]
        return cls(
            text=text if text_query.meaningful(text) else "",
            filters=filters,
            accepting=accepting,
            in_training=args.get("in_training") == "1",
            sort=sort if sort in SORTS else "relevance",
            page=page,
        )

    def cache_key(self) -> tuple:
        """The search as a hashable value: the same for the same search however it was typed."""
        return (tuple(text_query.split(self.text)),
                tuple(sorted((g, tuple(sorted(c))) for g, c in self.filters.items() if c)),
                self.accepting, self.in_training, self.sort, self.page)

    def to_args(self, **changes) -> dict:
        """Query-string arguments for this search, with `changes` applied (for links)."""
        params = replace(self, **changes) if changes else self
        args: dict = {}
        if params.text:
            args["q"] = params.text
        for group, codes in params.filters.items():
            if codes:
                args[group] = list(codes)
        args["accepting"] = "1" if params.accepting else "0"
        if params.in_training:
            args["in_training"] = "1"
        if params.sort != "relevance":
            args["sort"] = params.sort
        if params.page != 1:
            args["page"] = params.page
        return args

    def toggled(self, group: str, code: str) -> dict:
        """Arguments with one filter value switched on or off, back on page one."""
        codes = list(self.filters.get(group, ()))
        codes.remove(code) if code in codes else codes.append(code)
        filters = {**self.filters, group: tuple(codes)}
        return self.to_args(filters=filters, page=1)


@dataclass(frozen=True)
class Details:
    """What a result shows of a mentor beyond the index's text (documents.py, "shown")."""

    location: str
    sector: str
    formats: list[str]
    kind: str
    in_training: bool


@dataclass
class Hit:
    id: int
    name: str
    headline: str
    expertise: list[str]
    extract: Markup
    status: str
    knowing: list[str]
    # None from an index built before it kept them (the page asks the database); the
    # default also reads pages another process pickled before there were any.
    details: Details | None = None


@dataclass
class FacetValue:
    code: str
    label: str
    count: int | None  # None: not counted (the index is being repaired)
    selected: bool


@dataclass
class Results:
    params: SearchParams
    hits: list[Hit]
    total: int
    facets: dict[str, list[FacetValue]]
    accepting_count: int | None = 0
    in_training_count: int | None = 0
    suggestion: str | None = None
    matched_any: bool = False  # no mentor matched every word; these match some
    # The index is being repaired: a plain listing from the database, without counts.
    degraded: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))


def _filter_mask(masks, params: SearchParams, *, without: str | None = None) -> int:
    mask = masks.live
    for group, codes in params.filters.items():
        if group != without and codes:
            mask &= masks.any_of(GROUPS[group][0], codes)
    if params.accepting and without != "accepting":
        mask &= masks.value("accepting", "yes")
    if params.in_training and without != "in_training":
        mask &= masks.value("in_training", "yes")
    return mask


# Pages of results this process has answered lately, keyed by what the searcher reads and
# the normalised search. Active search repeats itself (each word is sent again as people
# type on, and back and forward repeat whole searches); any change to the index moves
# the searcher to a new stamp, so a stale page is never served. Results are not changed
# after they are made, so threads can share them. Behind this, pages.py shares the pages
# between the processes serving this host.
CACHE_SIZE = 512
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def search(params: SearchParams) -> Results:
    """Run a search: a page of ranked hits, facet counts, and help when nothing matches.

    Only ever reads. If this host's index is missing or damaged, the answer is a
    plain listing from the database (Results.degraded) until the worker or
    `search sync` has rebuilt it.
    """
    try:
        searcher = index.searcher()
        key = (index.stamp(searcher), params.cache_key())
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None:
                _cache.move_to_end(key)
                return cached
        results = pages.load(*key)
        if results is None:
            results = _ranked(searcher, params)
            pages.save(*key, results)
        with _cache_lock:
            _cache[key] = results
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        return results
    except index.IndexUnavailable as error:
        current_app.logger.warning("Search answered from the database: %s", str(error))
    except Exception as error:
        # A segment damaged under an open searcher (cut short, deleted): let this
        # thread open the index afresh next time, and answer from the database now.
        # The log gets the traceback as text: a record holding the exception would
        # keep the files Whoosh left open alive.
        index.forget_searchers()
        current_app.logger.error("Search answered from the database: the index failed\n%s",
                                 "".join(traceback.format_exception(error)))
    return _degraded(params)


def forget_pages() -> None:
    """Drop every answered page, this process's and the shared ones."""
    with _cache_lock:
        _cache.clear()
    pages.forget()


def warm() -> bool:
    """Do a search's one-off reading now: open this thread's searcher, build its filter
    bitsets, read the text fields' lengths and the directories of the segments'
    postings files. A web worker calls it before its first
    request (deploy/gunicorn.conf.py), so no person waits for it. False if the index
    cannot be read (the first search then answers from the database, as ever)."""
    try:
        searcher = index.searcher()
        masks.for_searcher(searcher)
        masks.segment_files(searcher)
        scoring.warm(searcher, text_query.FIELDS)
    except index.IndexUnavailable:
        return False
    return True


def _degraded(params: SearchParams) -> Results:
    documents, total = fallback.listing(params, PAGE_SIZE)
    hits = [_hit(doc, extracts.extract(doc.get("bio", ""))) for doc in documents]
    facets = {group: [FacetValue(c.code, c.label, None, c.code in params.filters.get(group, ()))
                      for c in choices]
              for group, (_, choices) in GROUPS.items()}
    return Results(params=params, hits=hits, total=total, facets=facets, accepting_count=None,
                   in_training_count=None, degraded=True)


def _lookups(searcher):
    """The index-aware helpers text_query.build takes: known terms, spellings, completions."""
    path = index.live_path()

    def known(term: str) -> bool:
        return any(masks.doc_frequency(searcher, f, term) for f in text_query.FIELDS)

    def similar(word: str, indexed: bool) -> list[str]:
        return spelling.near(path, word, indexed=indexed) if path else []

    def complete(prefix: str) -> list[str]:
        return spelling.completions(path, prefix) if path else []

    return {"known": known, "similar": similar, "complete": complete}


def whoosh_part(searcher, params: SearchParams):
    """A page's ranking as keyword arguments of Whoosh's searcher.search(): the query,
    the documents it may return and the order; None when nothing is typed. The search
    ranks with scoring.top instead; the benchmark runs both on the same work."""
    found = masks.for_searcher(searcher)
    built = text_query.build(params.text, **_lookups(searcher))
    if built.query is None:
        return None
    selected = _matching(searcher, found, built.query) & _filter_mask(found, params)
    newest = params.sort == "newest"
    return {"q": built.query, "limit": params.page * PAGE_SIZE,
            "filter": masks.to_bitset(selected, found.size),
            "sortedby": "published" if newest else None, "reverse": newest}


def _ranked(searcher, params: SearchParams) -> Results:
    found = masks.for_searcher(searcher)
    lookups = _lookups(searcher)
    built = text_query.build(params.text, **lookups)
    query = built.query
    text_mask = _matching(searcher, found, query)
    wanted = _filter_mask(found, params)
    matched_any = False
    if not text_mask & wanted and query is not None and len(text_query.split(params.text)) > 1:
        loose = text_query.build(params.text, match_all=False, **lookups)
        loose_mask = _matching(searcher, found, loose.query)
        if loose_mask & wanted:
            built, query, text_mask, matched_any = loose, loose.query, loose_mask, True
    selected = text_mask & wanted
    total = selected.bit_count()
    hits = _page(searcher, found, query, selected, params)
    facets = {}
    for group, (fieldname, choices) in GROUPS.items():
        # A group the mentee has narrowed is counted without its own filter, so
        # its other values still show how many they would add.
        base = text_mask & (_filter_mask(found, params, without=group)
                            if params.filters.get(group) else wanted)
        chosen = set(params.filters.get(group, ()))
        facets[group] = [
            FacetValue(c.code, c.label, (base & found.value(fieldname, c.code)).bit_count(),
                       c.code in chosen)
            for c in choices
        ]
    accepting_count = (text_mask & _filter_mask(found, params, without="accepting")
                       & found.value("accepting", "yes")).bit_count()
    in_training_count = (text_mask & _filter_mask(found, params, without="in_training")
                         & found.value("in_training", "yes")).bit_count()
    suggestion = None
    if params.text and (total == 0 or matched_any or built.corrected):
        # Corrected words already count in the results; the link searches for exactly them.
        suggestion = _suggest(params.text, built.corrected)
    return Results(params=params, hits=hits, total=total, facets=facets, matched_any=matched_any,
                   accepting_count=accepting_count, in_training_count=in_training_count,
                   suggestion=suggestion)


def _matching(searcher, found, built) -> int:
    if built is None:
        return found.live
    return masks.matching(searcher, found, built)


def _page(searcher, found, built, selected: int, params: SearchParams) -> list[Hit]:
    start = (params.page - 1) * PAGE_SIZE
    if not selected or start >= selected.bit_count():
        return []
    if built is None or params.sort == "newest":
        # The newest mentors first, straight from the precomputed order.
        newest = found.newest
        docnums = newest[masks.as_bools(selected, found.size)[newest]][
            start:start + PAGE_SIZE].tolist()
    else:
        ranked = scoring.top(searcher, built, selected, found.size, start + PAGE_SIZE)
        docnums = [docnum for docnum, _ in ranked[start:]]
    terms, prefixes = extracts.terms_of(built)
    return [_hit(fields, extracts.extract(fields.get("bio", ""), terms, prefixes))
            for d in docnums for fields in (searcher.stored_fields(d),)]


def _hit(fields: dict, extract: Markup) -> Hit:
    shown = fields.get("shown")
    return Hit(id=int(fields["id"]), name=fields["name"], headline=fields.get("headline", ""),
               expertise=[t for t in fields.get("expertise", "").split(" ; ") if t],
               extract=extract, status=fields.get("status", "open"),
               knowing=fields.get("knowing", "").split(),
               details=Details(**shown) if isinstance(shown, dict) else None)


def _suggest(text: str, corrected: dict[str, list[str]]) -> str | None:
    """The text with each misspelt word replaced by the nearest known one, if any changed."""
    path = index.live_path()
    if path is None:
        return None
    changed = False
    words = []
    for part in text_query.split(text):
        for word in part.words:
            better = (corrected.get(word) or [None])[0] or spelling.correct(path, word)
            words.append(better or word)
            changed = changed or better is not None
    return " ".join(words) if changed else None
