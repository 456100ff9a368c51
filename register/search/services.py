"""Searching the register: the one function the page, the benchmark and the tests call."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from markupsafe import Markup, escape
from whoosh import highlight, sorting
from whoosh import query as q

from register.mentors import vocabulary as vocab
from register.search import index
from register.search import query as text_query

PAGE_SIZE = 20
EXTRACT_CHARACTERS = 240

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
        return cls(
            text=" ".join(args.get("q", "").split())[:text_query.MAX_LENGTH],
            filters=filters,
            accepting=accepting,
            in_training=args.get("in_training") == "1",
            sort=sort if sort in SORTS else "relevance",
            page=page,
        )

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

    @property
    def active_filters(self) -> int:
        return sum(len(v) for v in self.filters.values()) + self.in_training


@dataclass
class Hit:
    id: int
    name: str
    headline: str
    expertise: list[str]
    extract: Markup
    status: str
    knowing: list[str]
    kind: str


@dataclass
class FacetValue:
    code: str
    label: str
    count: int
    selected: bool


@dataclass
class Results:
    params: SearchParams
    hits: list[Hit]
    total: int
    facets: dict[str, list[FacetValue]]
    accepting_count: int = 0
    in_training_count: int = 0
    suggestion: str | None = None
    matched_any: bool = False  # no mentor matched every word; these match some

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))


def _filter(params: SearchParams, *, without: str | None = None) -> q.Query | None:
    clauses = []
    for group, codes in params.filters.items():
        if group == without or not codes:
            continue
        fieldname = GROUPS[group][0]
        clauses.append(q.Or([q.Term(fieldname, code) for code in codes]))
    if params.accepting and without != "accepting":
        clauses.append(q.Term("accepting", "yes"))
    if params.in_training and without != "in_training":
        clauses.append(q.Term("in_training", "yes"))
    if not clauses:
        return None
    return q.And(clauses) if len(clauses) > 1 else clauses[0]


def _facet(fieldname: str) -> sorting.FieldFacet:
    return sorting.FieldFacet(fieldname, allow_overlap=True, maptype=sorting.Count)


_FORMATTER = highlight.HtmlFormatter(tagname="mark", between=" … ")
_FRAGMENTER = highlight.ContextFragmenter(maxchars=EXTRACT_CHARACTERS, surround=60)


def _extract(hit) -> Markup:
    # Whoosh escapes the text around the marks itself (HtmlFormatter.htmlescape).
    marked = hit.highlights("bio", top=2) if hit.results.has_matched_terms() else ""
    if marked:
        return Markup(marked)  # noqa: S704  (Whoosh escaped the text; only <mark> is ours)
    bio = hit.get("bio", "")
    if len(bio) > EXTRACT_CHARACTERS:
        bio = bio[:EXTRACT_CHARACTERS].rsplit(" ", 1)[0] + " …"
    return escape(bio)


def search(params: SearchParams) -> Results:
    """Run a search: a page of ranked hits, facet counts, and help when nothing matches."""
    try:
        searcher = index.searcher()
    except index.IndexUnavailable:
        from register.search.sync import rebuild

        rebuild()  # a missing or damaged index is rebuilt, never shown as an error
        searcher = index.searcher()
    built, _ = text_query.build(params.text)
    matched_any = False
    results = _run(searcher, params, built)
    several_words = len(text_query.split(params.text)) > 1
    if results.total == 0 and built is not None and several_words:
        loose, _ = text_query.build(params.text, match_all=False)
        loose_results = _run(searcher, params, loose)
        if loose_results.total:
            results, built, matched_any = loose_results, loose, True
    total = results.total
    facets = _facets(searcher, params, built, results)
    results.results.formatter = _FORMATTER
    results.results.fragmenter = _FRAGMENTER
    hits = [
        Hit(id=int(hit["id"]), name=hit["name"], headline=hit.get("headline", ""),
            expertise=[t for t in hit.get("expertise", "").split(" ; ") if t],
            extract=_extract(hit), status=hit.get("status", "open"),
            knowing=hit.get("knowing", "").split(), kind=hit.get("kind", ""))
        for hit in results
    ]
    accepting_count = _count(searcher, built, _filter(params, without="accepting"),
                             q.Term("accepting", "yes"))
    in_training_count = _count(searcher, built, _filter(params, without="in_training"),
                               q.Term("in_training", "yes"))
    suggestion = None
    if params.text and (total == 0 or matched_any):
        suggestion = _suggest(searcher, params.text)
    return Results(params=params, hits=hits, total=total, facets=facets, matched_any=matched_any,
                   accepting_count=accepting_count, in_training_count=in_training_count,
                   suggestion=suggestion)


def _run(searcher, params: SearchParams, built):
    sortedby = "published" if params.sort == "newest" or built is None else None
    return searcher.search_page(
        built or q.Every(),
        params.page,
        pagelen=PAGE_SIZE,
        filter=_filter(params),
        sortedby=sortedby,
        reverse=sortedby is not None,
        terms=built is not None,
        groupedby={group: _facet(fieldname) for group, (fieldname, _) in GROUPS.items()},
    )


def _facets(searcher, params, built, page) -> dict[str, list[FacetValue]]:
    facets = {}
    for group, (fieldname, choices) in GROUPS.items():
        if params.filters.get(group):
            # Counts for a group the mentee has narrowed come from the search without
            # that group's own filter, so the other values still show what they would add.
            counts = searcher.search(
                built or q.Every(), limit=1, filter=_filter(params, without=group),
                groupedby={group: _facet(fieldname)},
            ).groups(group)
        else:
            counts = page.results.groups(group)
        selected = set(params.filters.get(group, ()))
        facets[group] = [FacetValue(c.code, c.label, counts.get(c.code, 0), c.code in selected)
                         for c in choices]
    return facets


def _count(searcher, built, filter_query, extra) -> int:
    combined = q.And([filter_query, extra]) if filter_query is not None else extra
    return len(searcher.search(built or q.Every(), limit=1, filter=combined))


def _suggest(searcher, text: str) -> str | None:
    corrector = searcher.corrector("spelling")
    reader = searcher.reader()
    changed = False
    words = []
    for part in text_query.split(text):
        for word in part.words:
            known = reader.doc_frequency("spelling", word) > 0
            if not known and len(word) > 3:
                found = corrector.suggest(word, limit=1, maxdist=2)
                if found:
                    words.append(found[0])
                    changed = True
                    continue
            words.append(word)
    return " ".join(words) if changed else None
