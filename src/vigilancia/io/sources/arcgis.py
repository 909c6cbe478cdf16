"""ArcGIS REST layers (MapServer/FeatureServer), read page by page.

Official Peruvian layers are served this way, e.g. SERFOR's comunidades nativas
(``.../Visor/OCAPAS_MIDAGRI/MapServer/27``) or SERNANP's reserves. A server
answers at most ``maxRecordCount`` features per request (often 1000 or 2000),
so :func:`fetch_layer` pages through the layer:

1. ``GET <layer>?f=json``: metadata (``maxRecordCount``, ``objectIdField``,
   ``geometryType``, ``advancedQueryCapabilities.supportsPagination``);
2. ``GET <layer>/query?where=...&returnCountOnly=true&f=json``: how many to expect;
3. with pagination: ``GET <layer>/query`` with ``resultOffset``/``resultRecordCount``
   ordered by the object id, until ``exceededTransferLimit`` is false or a page
   comes back short;
   without it (servers older than 10.3, or when paging loses features): the
   object ids (``returnIdsOnly=true``) and then the features in batches
   (``objectIds=1,2,3``).

Every request asks for ``outSR=4326``; the answer is Esri JSON, parsed by
:func:`vigilancia.io.vectors.read_esri_json` (rings sorted by orientation,
unclosed rings closed and reported).

The HTTP client is a parameter (``fetch(url, params) -> bytes``) so tests serve
recorded answers and nothing reaches the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from vigilancia import __version__
from vigilancia.errors import InputError, UnreadableFileError, VigilanciaError
from vigilancia.i18n import _
from vigilancia.io.vectors import VectorLayer, read_esri_json
from vigilancia.progress import Progress

__all__ = ["DOWNLOAD_STAGE", "Fetch", "fetch_layer", "http_fetch", "is_arcgis_url", "layer_url"]

#: ``fetch(url, params) -> body``: one GET (or POST) returning the raw bytes of the answer.
Fetch = Callable[[str, dict[str, str]], bytes]
#: The stage of :func:`fetch_layer`'s progress: ``progress(DOWNLOAD_STAGE, features, total)``
#: after every page (total None when the server does not say).
DOWNLOAD_STAGE = "Downloading the layer"
#: One answer page: decoded JSON and the raw bytes (hashed for idempotent imports).
_Page = tuple[dict[str, Any], bytes]

USER_AGENT = f"vigilancia/{__version__} (Indigenous territorial monitoring; python-urllib)"
TIMEOUT_S = 60.0
RETRIES = 2  # extra attempts on network errors and HTTP 5xx (intermittent connections)
MAX_GET_URL = 2000  # longer requests (object id lists) are sent as POST forms
DEFAULT_MAX_RECORDS = 1000  # ArcGIS default when the layer does not say

_LAYER_RE = re.compile(r"^(https?://.+?/(?:MapServer|FeatureServer)/\d+)(?:/query)?/*$", re.I)


def is_arcgis_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL of an ArcGIS MapServer/FeatureServer service."""
    low = value.strip().lower()
    return low.startswith(("http://", "https://")) and (
        "/mapserver" in low or "/featureserver" in low
    )


def layer_url(url: str) -> str:
    """The layer's base URL (``.../MapServer/27``), without query string or ``/query``.

    >>> layer_url("https://example.org/arcgis/rest/services/X/MapServer/27/query?f=json")
    'https://example.org/arcgis/rest/services/X/MapServer/27'
    """
    base = url.strip().split("#", 1)[0].split("?", 1)[0]
    match = _LAYER_RE.match(base)
    if not match:
        raise InputError(
            _("not the URL of an ArcGIS layer"),
            hint=_(
                "give the URL of one layer, ending in /MapServer/<number> or "
                "/FeatureServer/<number> (e.g. .../OCAPAS_MIDAGRI/MapServer/27)"
            ),
            source=url,
        )
    return match.group(1)


def http_fetch(
    url: str, params: dict[str, str], *, timeout: float = TIMEOUT_S, retries: int = RETRIES
) -> bytes:
    """GET ``url`` with ``params`` (POST when the URL would be too long) and return the body.

    Network errors and HTTP 5xx answers are retried ``retries`` times (1 s, then
    2 s apart); then, or on any other HTTP error, raises
    :class:`UnreadableFileError` naming ``url``. ``timeout`` is in seconds.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(_("only http and https URLs can be read"), source=url)
    query = urllib.parse.urlencode(params)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if len(url) + len(query) + 1 > MAX_GET_URL:
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=query.encode("ascii"),
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        request = urllib.request.Request(f"{url}?{query}", headers=headers)  # noqa: S310
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 and attempt < retries:
                time.sleep(2**attempt)
                continue
            raise UnreadableFileError(
                _("the server answered HTTP {code} {reason}", code=exc.code, reason=exc.reason),
                hint=_("check the URL; if the service is down, try again later"),
                source=url,
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            if attempt < retries:
                time.sleep(2**attempt)
                continue
            reason = getattr(exc, "reason", exc)
            raise UnreadableFileError(
                _("could not reach the server: {reason}", reason=str(reason)[:120]),
                hint=_("check the internet connection and the URL, then try again"),
                source=url,
            ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_layer(
    url: str,
    *,
    fetch: Fetch | None = None,
    page_size: int | None = None,
    where: str = "1=1",
    progress: Progress | None = None,
) -> VectorLayer:
    """Download every feature of an ArcGIS REST layer into EPSG:4326.

    ``url`` names one layer (``.../MapServer/27`` or ``.../FeatureServer/0``;
    a trailing ``/query`` or query string is ignored). ``page_size`` is the number
    of features per request, capped at the layer's ``maxRecordCount``.
    ``where`` filters on the server (SQL, e.g. ``"nomdep = 'HUANUCO'"``).
    ``fetch`` replaces the HTTP client (tests, proxies); the default is
    :func:`http_fetch`. ``progress(DOWNLOAD_STAGE, done, total)`` is called after each
    page.

    The returned layer's ``sha256`` hashes the feature pages as received, so the
    same data fetched twice gives the same hash. Errors (network, HTTP, an
    ArcGIS ``{"error": ...}`` answer, not JSON) raise
    :class:`UnreadableFileError` naming the URL.

    >>> layer = fetch_layer(  # doctest: +SKIP
    ...     "https://geo.serfor.gob.pe/geoservicios/rest/services/Visor/OCAPAS_MIDAGRI/MapServer/27")
    """
    base = layer_url(url)
    get: Fetch = fetch or http_fetch
    query_url = f"{base}/query"
    meta, _raw = _get_json(get, base, {"f": "json"})
    if "fields" not in meta and "geometryType" not in meta:
        raise InputError(
            _("the URL is not a layer with features (it is a {kind})", kind=meta.get("type", "?")),
            hint=_("open the service in a browser and pick a layer number, e.g. .../MapServer/27"),
            source=base,
        )
    max_records = _positive_int(meta.get("maxRecordCount")) or DEFAULT_MAX_RECORDS
    size = min(page_size, max_records) if page_size and page_size > 0 else max_records
    oid_field = _oid_field(meta)
    common = {
        "where": where,
        "outFields": "*",
        "returnGeometry": "true",
        "outSR": "4326",
        "f": "json",
    }
    total = _count(get, query_url, where)
    if progress is not None:
        progress(DOWNLOAD_STAGE, 0, total)

    pages: list[_Page] | None = None
    if _supports_pagination(meta):
        pages = _paged(get, query_url, common, oid_field, size, total, progress)
        if pages is not None and total is not None and _unique_ids(pages, oid_field) < total:
            pages = None  # the server lost features between pages: fetch by object id
    if pages is None:
        pages = _by_object_ids(get, query_url, common, where, oid_field, size, total, progress)

    digest = hashlib.sha256()
    for _obj, body in pages:
        digest.update(body)
    layer = read_esri_json([obj for obj, _body in pages], source=base, sha256=digest.hexdigest())
    return dataclasses.replace(layer, layer=str(meta.get("name") or base.rsplit("/", 1)[-1]))


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _get_json(get: Fetch, url: str, params: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    """Fetch and decode one JSON answer; ArcGIS errors become UnreadableFileError."""
    try:
        body = get(url, dict(params))
    except VigilanciaError:
        raise
    except OSError as exc:
        raise UnreadableFileError(
            _("could not reach the server: {reason}", reason=str(exc)[:120]),
            hint=_("check the internet connection and the URL, then try again"),
            source=url,
        ) from exc
    try:
        obj = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UnreadableFileError(
            _("the server did not answer JSON"),
            hint=_("check that the URL is an ArcGIS REST layer (ending in /MapServer/<number>)"),
            source=url,
        ) from exc
    if not isinstance(obj, dict):
        raise UnreadableFileError(_("the server did not answer JSON"), source=url)
    error = obj.get("error")
    if isinstance(error, Mapping):
        details = "; ".join(str(d) for d in error.get("details") or [] if d)
        message = str(error.get("message") or "")
        if details:
            message = f"{message} ({details})" if message else details
        raise UnreadableFileError(
            _(
                "the ArcGIS server answered error {code}: {message}",
                code=error.get("code", "?"),
                message=message[:300],
            ),
            hint=_("check the layer URL and the filter (where); try again later if it persists"),
            source=url,
        )
    return obj, body


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _oid_field(meta: Mapping[str, Any]) -> str:
    if meta.get("objectIdField"):
        return str(meta["objectIdField"])
    for f in meta.get("fields") or []:
        if isinstance(f, Mapping) and f.get("type") == "esriFieldTypeOID":
            return str(f.get("name"))
    return "OBJECTID"


def _supports_pagination(meta: Mapping[str, Any]) -> bool:
    advanced = meta.get("advancedQueryCapabilities")
    if isinstance(advanced, Mapping) and "supportsPagination" in advanced:
        return bool(advanced["supportsPagination"])
    return bool(meta.get("supportsPagination", False))


def _count(get: Fetch, query_url: str, where: str) -> int | None:
    """How many features match ``where``, or None when the server will not say."""
    try:
        obj, _body = _get_json(
            get, query_url, {"where": where, "returnCountOnly": "true", "f": "json"}
        )
    except UnreadableFileError:
        return None
    count = obj.get("count")
    if count == 0:
        return 0
    return _positive_int(count)


def _features(obj: Mapping[str, Any]) -> list[Any]:
    feats = obj.get("features")
    return feats if isinstance(feats, list) else []


def _oid_of(feature: Any, oid_field: str) -> Any:
    attrs = feature.get("attributes") if isinstance(feature, Mapping) else None
    if not isinstance(attrs, Mapping):
        return None
    if oid_field in attrs:
        return attrs[oid_field]
    low = oid_field.lower()
    return next((v for k, v in attrs.items() if str(k).lower() == low), None)


def _unique_ids(pages: list[_Page], oid_field: str) -> int:
    return len({_oid_of(feat, oid_field) for obj, _body in pages for feat in _features(obj)})


def _paged(
    get: Fetch,
    query_url: str,
    common: dict[str, str],
    oid_field: str,
    size: int,
    total: int | None,
    progress: Progress | None,
) -> list[_Page] | None:
    """Pages by ``resultOffset``; None when the server refuses pagination on the first page."""
    pages: list[_Page] = []
    offset = 0
    done = 0
    while True:
        params = {
            **common,
            "orderByFields": f"{oid_field} ASC",
            "resultOffset": str(offset),
            "resultRecordCount": str(size),
        }
        try:
            obj, body = _get_json(get, query_url, params)
        except UnreadableFileError:
            if offset == 0:
                return None  # claims pagination but refuses it: use object ids
            raise
        feats = _features(obj)
        if not feats:
            break
        pages.append((obj, body))
        done += len(feats)
        offset += len(feats)
        if progress is not None:
            progress(DOWNLOAD_STAGE, done, total)
        exceeded = obj.get("exceededTransferLimit")
        if exceeded is True:
            continue
        if exceeded is False or len(feats) < size:
            break
    return pages


def _by_object_ids(
    get: Fetch,
    query_url: str,
    common: dict[str, str],
    where: str,
    oid_field: str,
    size: int,
    total: int | None,
    progress: Progress | None,
) -> list[_Page]:
    """Pages by explicit object id batches (``returnIdsOnly`` first)."""
    obj, _body = _get_json(get, query_url, {"where": where, "returnIdsOnly": "true", "f": "json"})
    ids = sorted({i for i in obj.get("objectIds") or [] if i is not None})
    oid_field = str(obj.get("objectIdFieldName") or oid_field)
    if total is None:
        total = len(ids)
    pending = deque(ids)
    pages: list[_Page] = []
    done = 0
    while pending:
        batch = [pending.popleft() for _k in range(min(size, len(pending)))]
        params = {**common, "objectIds": ",".join(str(i) for i in batch)}
        params.pop("where", None)
        answer, body = _get_json(get, query_url, params)
        feats = _features(answer)
        got = {_oid_of(f, oid_field) for f in feats}
        if not got & set(batch):
            raise UnreadableFileError(
                _(
                    "the ArcGIS server returned no features for object ids {first}-{last}",
                    first=batch[0],
                    last=batch[-1],
                ),
                hint=_("try again later, or with a smaller page size"),
                source=query_url,
            )
        missing = [i for i in batch if i not in got]
        pending.extendleft(reversed(missing))  # the server capped the answer: ask again
        pages.append((answer, body))
        done += len(got & set(batch))
        if progress is not None:
            progress(DOWNLOAD_STAGE, done, total)
    return pages
