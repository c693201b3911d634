"""HTTP client for OpenCohort's documented API (/api/openapi.json)."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional


class ApiError(Exception):
    """An error answer of the API. `rule` names the rule that refused, as in the web app."""

    def __init__(self, status: int, code: str, message: str, rule: Optional[str] = None,
                 field: Optional[str] = None):
        super().__init__(f"{message} (HTTP {status}{', rule ' + rule if rule else ''})")
        self.status = status
        self.code = code
        self.message = message
        self.rule = rule
        self.field = field


class AuthError(ApiError):
    """HTTP 401: the token is unknown, revoked or expired."""


class QueryRefused(ApiError):
    """The query did not run (status REJECTED or FAILED); `rule` says which rule refused it."""

    def __init__(self, query_id: str, status: str, rule: str, message: str):
        super().__init__(200, status, message, rule)
        self.query_id = query_id
        self.query_status = status


class Result:
    """A succeeded query: disclosure-controlled aggregate rows, never row-level records."""

    def __init__(self, view: Dict[str, Any]):
        self.raw = view
        self.id: str = view["id"]
        result = view.get("result") or {}
        self.columns: List[str] = [column["name"] for column in result.get("columns", [])]
        self.rows: List[List[Any]] = result.get("rows", [])
        self.receipt: Optional[Dict[str, Any]] = view.get("receipt")
        self.epsilon_spent = view.get("epsilonSpent")
        # Per cell, aligned with rows: {"sd", "lo", "hi"} for a noisy number (a 95% interval
        # from public parameters only), None for a dimension label.
        self.uncertainty: List[List[Optional[Dict[str, float]]]] = result.get("uncertainty") or []
        self.delta: Optional[float] = result.get("delta")
        # What the query cost in zero-concentrated DP (what composes across queries), the noise
        # it drew ("gaussian" or "laplace"), and whether it was an identical repeat answered
        # from the stored result at no cost.
        self.rho: Optional[float] = result.get("rho")
        self.mechanism: Optional[str] = result.get("mechanism")
        self.repeated: bool = bool(result.get("repeated", False))
        self.release_threshold: Optional[int] = result.get("releaseThreshold")

    @property
    def notice(self) -> str:
        """What the rows leave out, in words (how many groups were withheld is never known)."""
        threshold = self.release_threshold if self.release_threshold is not None else "k"
        return (
            f"Groups whose noisy person count is under {threshold} are withheld; how many were "
            "withheld is not released (that number would be exact). Every number is noisy: see "
            "uncertainty for its 95% interval."
        )

    def records(self) -> List[Dict[str, Any]]:
        """The rows as dictionaries keyed by column name."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_pandas(self):
        """A pandas DataFrame of the rows (needs pandas installed)."""
        try:
            import pandas  # noqa: PLC0415 - optional dependency
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("to_pandas() needs pandas: pip install pandas") from error
        frame = pandas.DataFrame(self.rows, columns=self.columns)
        # Each noisy column gets its interval beside it, as in the web app's CSV.
        for j, name in enumerate(self.columns):
            cells = [row[j] if j < len(row) else None for row in self.uncertainty]
            if not cells or all(cell is None for cell in cells):
                continue
            for key in ("sd", "lo", "hi"):
                frame[f"{name}_{key}"] = [cell.get(key) if cell else None for cell in cells]
        return frame

    def __repr__(self) -> str:
        return f"Result(id={self.id!r}, columns={self.columns!r}, rows={len(self.rows)})"


class Client:
    """`Client(url, token)`: url is the web app's origin, token a personal API token (oc_...)."""

    def __init__(self, url: str, token: str, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # ── HTTP ──────────────────────────────────────────────────────────────────────────
    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None,
                 params: Optional[Dict[str, Any]] = None, raw: bool = False) -> Any:
        url = self.url + path
        if params:
            query = {key: value if isinstance(value, str) else json.dumps(value)
                     for key, value in params.items() if value is not None}
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            raise _error_of(error) from None
        return text if raw else json.loads(text)

    # ── Catalogue ─────────────────────────────────────────────────────────────────────
    def me(self) -> Dict[str, Any]:
        """The address the token acts as, and its roles."""
        return self._request("GET", "/api/v1/me")

    def datasets(self, **filters: Any) -> List[Dict[str, Any]]:
        """Listed datasets (filters: search, conditions, sort, limit, ...), every page."""
        items: List[Dict[str, Any]] = []
        params: Dict[str, Any] = dict(filters)
        while True:
            page = self._request("GET", "/api/v1/datasets", params=params)
            items.extend(page["items"])
            if not page.get("nextCursor"):
                return items
            params["cursor"] = page["nextCursor"]

    def dataset(self, dataset_id: str) -> Dict[str, Any]:
        """One dataset: card, versions, data card (tables and columns), privacy standards."""
        return self._request("GET", f"/api/v1/datasets/{urllib.parse.quote(dataset_id)}")

    def concepts(self, dataset_id: str, search: str = "", vocabulary: Optional[str] = None,
                 domain: Optional[str] = None, offset: int = 0, limit: int = 20) -> Dict[str, Any]:
        """A page of the dataset's shipped vocabulary matching a name, code or concept id:
        {"shipped", "concepts": [{conceptId, name, vocabulary, code, domain}], "nextOffset"}.
        Codes are written VOCABULARY:CODE; descendant_of(x_concept_id, conceptId) asks for a
        concept and everything below it."""
        return self._request("GET", f"/api/v1/datasets/{urllib.parse.quote(dataset_id)}/concepts",
                             params={"search": search, "vocabulary": vocabulary, "domain": domain,
                                     "offset": offset, "limit": limit})

    def feasibility(self, dataset_id: str, cohort: Dict[str, Any]) -> Dict[str, Any]:
        """Noisy, coarse counts of a cohort definition (no access pass needed)."""
        return self._request("POST", f"/api/v1/datasets/{urllib.parse.quote(dataset_id)}/feasibility",
                             body={"cohort": cohort})

    def budget(self, dataset_id: str) -> Dict[str, Any]:
        """My remaining privacy budget on a dataset."""
        return self._request("GET", f"/api/v1/datasets/{urllib.parse.quote(dataset_id)}/budget")

    # ── Queries ───────────────────────────────────────────────────────────────────────
    def query(self, dataset: str, sql: str, wait_seconds: float = 3600.0) -> Result:
        """Runs SQL on a dataset I hold a pass for; raises QueryRefused with the rule id."""
        return self._run({"datasetId": dataset, "sql": sql}, wait_seconds)

    def cohort_query(self, dataset: str, cohort: Dict[str, Any],
                     wait_seconds: float = 3600.0) -> Result:
        """Runs a cohort definition (compiled to SQL by the server)."""
        return self._run({"datasetId": dataset, "cohort": cohort}, wait_seconds)

    def _run(self, body: Dict[str, Any], wait_seconds: float) -> Result:
        # Submit without waiting, then poll the status: a long query never meets the HTTP timeout.
        view = self._request("POST", "/api/v1/queries", body={**body, "wait": False})
        deadline = time.monotonic() + wait_seconds
        pause = 0.1
        while view.get("status") in ("PENDING", "RUNNING"):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"query {view['id']} still {view['status']} after "
                                   f"{wait_seconds:.0f} s; poll client.status('{view['id']}')")
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            view = self.status(view["id"])
        return _result_of(view if view.get("status") != "SUCCEEDED" else
                          self._request("GET", f"/api/v1/queries/{urllib.parse.quote(view['id'])}/result"))

    def result(self, query_id: str) -> Result:
        return _result_of(self._request("GET", f"/api/v1/queries/{urllib.parse.quote(query_id)}/result"))

    def status(self, query_id: str) -> Dict[str, Any]:
        return self._request("GET", f"/api/v1/queries/{urllib.parse.quote(query_id)}")

    def receipt(self, query_id: str) -> Dict[str, Any]:
        return self._request("GET", f"/api/v1/queries/{urllib.parse.quote(query_id)}/receipt")

    def result_csv(self, query_id: str) -> str:
        return self._request("GET", f"/api/v1/queries/{urllib.parse.quote(query_id)}/result.csv",
                             raw=True)

    def history(self, dataset: Optional[str] = None, limit: int = 20) -> List[Dict[str, Any]]:
        """My latest queries (newest first), without result rows."""
        return self._request("GET", "/api/v1/queries",
                             params={"datasetId": dataset, "limit": limit})["items"]


def _result_of(view: Dict[str, Any]) -> Result:
    if view.get("status") in ("REJECTED", "FAILED"):
        error = view.get("error") or {}
        raise QueryRefused(view["id"], view["status"], error.get("rule", "unknown"),
                           error.get("message", "The query was refused."))
    return Result(view)


def _error_of(error: urllib.error.HTTPError) -> ApiError:
    try:
        body = json.loads(error.read().decode("utf-8")).get("error", {})
    except (ValueError, AttributeError):
        body = {}
    kind = AuthError if error.code == 401 else ApiError
    return kind(error.code, body.get("code", "HTTP_ERROR"), body.get("message", str(error)),
                body.get("rule"), body.get("field"))
