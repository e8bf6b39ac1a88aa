"""JSON request bodies read by Haven's strict loader (haven/core/strictjson.py), not by ``json.loads``.

FastAPI parses a JSON body with :func:`json.loads` and turns any failure but a
syntax error into a bare "There was an error parsing the body": a body nested
100 000 deep or holding a 5000-digit number would say nothing useful, and a
repeated key would be taken silently. :class:`StrictJSONRoute` gives FastAPI
a request whose :meth:`~StrictJSONRequest.json` is the strict loader; its
refusal reaches the client as a 400 ``bad-input`` with the loader's reason
(haven/web/handlers.py). The framework's own body handling (size limit, content
type) is otherwise unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from haven.core import strictjson
from haven.errors import InputError


class StrictJSONRequest(Request):
    """A request whose :meth:`json` is the strict loader's, parsed once."""

    _strict: Any

    async def json(self) -> Any:
        if not hasattr(self, "_strict"):
            try:
                self._strict = strictjson.loads(await self.body(), "request body")
            except InputError as exc:
                # FastAPI passes an HTTPException through its body handling untouched (any other
                # exception becomes its generic message); handlers.py answers it as `bad-input`.
                raise HTTPException(400, detail=exc.message) from None
        return self._strict


class StrictJSONRoute(APIRoute):
    """An API route whose JSON bodies are read strictly."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
