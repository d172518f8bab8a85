"""An OpenAI ``POST /videos`` body read and turned into the Runway body vidgate's intake takes.

The ``openai`` SDKs send the create as ``multipart/form-data`` (``input_reference`` may be a file);
other clients send JSON. Both are accepted. The mapping:

* ``model``: a vidgate model id (default ``gen4.5``); ``prompt`` -> ``promptText``;
* ``seconds`` -> ``duration`` (whole seconds; default 4, as OpenAI's API, for a model whose
  endpoint takes a duration); ``size`` ``WIDTHxHEIGHT`` -> ``ratio`` ``WIDTH:HEIGHT`` (default
  ``720x1280``, OpenAI's);
* ``input_reference``: a file is accepted as any upload is (:mod:`vidgate.intake.uploads`) and
  becomes ``promptImage``; a string is taken as ``promptImage`` itself (a runway:// URI, a data
  URI or an allowed https URL);
* any other field (the SDKs' ``extra_body``) is a Runway field, passed as it is; ``endpoint``
  picks the Runway endpoint (default ``image_to_video`` with an image, else ``text_to_video``).

The form is streamed as an upload's is (:mod:`vidgate.media.multipart`): the file to disk under
``VIDGATE_UPLOAD_MAX_BYTES``, the text fields together under ``VIDGATE_JSON_BODY_MAX_BYTES``.
Form fields are text: a field the model declares as a number, boolean or object is read as JSON
(``seed=5`` -> 5, ``audio=true`` -> true) and checked by the rules a JSON body is checked by
(:func:`~vidgate.api.json_body.parse_json`: depth, lone surrogates, non-finite numbers); text,
choice and media fields stay text. Problems with a field made from an OpenAI one are named by the
OpenAI name (``seconds``, not ``duration``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from vidgate.api.deps import ApiContext
from vidgate.api.json_body import parse_json
from vidgate.catalog import Endpoint
from vidgate.errors import FieldProblem, ValidationFailed
from vidgate.media.multipart import FormRules

__all__ = ["DEFAULT_MODEL", "DEFAULT_SECONDS", "DEFAULT_SIZE", "OpenAICreate", "read_create"]

DEFAULT_MODEL = "gen4.5"
#: OpenAI's default size.
DEFAULT_SIZE = "720x1280"
#: OpenAI's default length (its API's ``seconds``).
DEFAULT_SECONDS = 4
_REFERENCE = "input_reference"
_OPENAI_FIELDS = ("prompt", "model", "seconds", "size", _REFERENCE, "endpoint")
#: The Runway field each OpenAI field becomes.
_WIRE_NAMES = {
    "prompt": "promptText",
    "seconds": "duration",
    "size": "ratio",
    _REFERENCE: "promptImage",
}
_TEXT_TYPES = frozenset({"text", "choice", "string", "media"})
_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
#: Parts of a form: the OpenAI fields and a model's Runway fields, with room to spare.
_FORM_PARTS = 64


@dataclass
class OpenAICreate:
    """A create as vidgate's intake takes it: the endpoint and the Runway body."""

    endpoint: str
    body: dict[str, Any]
    #: Runway field -> the OpenAI field it was made from (for naming problems).
    names: dict[str, str] = field(default_factory=dict)
    #: ``seconds`` was not sent: ``duration`` is OpenAI's default.
    default_seconds: bool = False

    def named(self, exc: ValidationFailed) -> ValidationFailed:
        """``exc`` with every problem of a field made from an OpenAI one named by that one."""
        problems = [self._named(problem) for problem in exc.problems]
        return type(exc)(problems)

    def _named(self, problem: FieldProblem) -> FieldProblem:
        for wire, name in self.names.items():
            path = problem.path
            if path == wire or path.startswith((f"{wire}.", f"{wire}[")):
                message = problem.message
                if name == "seconds" and self.default_seconds:
                    message += f" (seconds was not sent; it defaults to {DEFAULT_SECONDS})"
                return FieldProblem(name + path[len(wire) :], message)
        return problem


async def read_create(request: Request, ctx: ApiContext, owner: str | None) -> OpenAICreate:
    """The request's create, every problem with it named in one ValidationFailed."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return _translate(ctx, await _json_fields(request), has_file=False)
    uploads = ctx.upload_intake
    body, declared = request.stream(), request.headers.get("content-length")
    async with uploads.receive(body, content_type, declared, form=_form(ctx)) as form:
        create = _translate(ctx, _coerce(ctx, form.fields), has_file=form.has_file)
        if form.has_file:
            # The SDK's automatic retry sends the same bytes: the same upload, so the same body.
            key = f"openai-input:{form.sha256}"
            upload = await uploads.accept(
                form, owner=owner, field=_REFERENCE, source=key, request_key=key
            )
            create.body["promptImage"] = upload.uri
    return create


def _form(ctx: ApiContext) -> FormRules:
    """OpenAI's form: an optional file, and text fields as large as a JSON body may be."""
    cap = ctx.runtime.settings.json_body_max_bytes
    return FormRules(
        file_field=_REFERENCE,
        file_required=False,
        by_filename=True,
        field_max_bytes=cap,
        fields_max_bytes=cap,
        max_parts=_FORM_PARTS,
    )


async def _json_fields(request: Request) -> dict[str, Any]:
    # Read whole at the edge, under VIDGATE_JSON_BODY_MAX_BYTES and its rules (api.body_guard).
    raw = await request.body()
    try:
        loaded = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise ValidationFailed.single("", f"the body is not valid JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise ValidationFailed.single("", "the body must be a JSON object or a form")
    return loaded


def _translate(ctx: ApiContext, fields: dict[str, Any], *, has_file: bool) -> OpenAICreate:
    problems: list[FieldProblem] = []
    body: dict[str, Any] = {k: v for k, v in fields.items() if k not in _OPENAI_FIELDS}
    names: dict[str, str] = {}
    body["model"] = fields.get("model") or DEFAULT_MODEL
    if "prompt" in fields:
        body["promptText"] = fields["prompt"]
        names["promptText"] = "prompt"
    seconds = fields.get("seconds")
    if seconds is not None:
        try:
            body["duration"] = int(str(seconds))
            names["duration"] = "seconds"
        except ValueError:
            problems.append(FieldProblem("seconds", f"must be whole seconds, got {seconds!r}"))
    size = str(fields.get("size") or DEFAULT_SIZE)
    match = _SIZE.match(size)
    if match is None:
        problems.append(FieldProblem("size", f"must be WIDTHxHEIGHT, e.g. 1280x720, got {size!r}"))
    elif "ratio" not in body:
        body["ratio"] = f"{match.group(1)}:{match.group(2)}"
        names["ratio"] = "size"
    given = fields.get(_REFERENCE)
    if isinstance(given, str) and given:
        body["promptImage"] = given
        names["promptImage"] = _REFERENCE
    elif has_file:
        names["promptImage"] = _REFERENCE  # the upload's URI, set once the file is accepted
    if problems:
        raise ValidationFailed(problems)
    has_image = "promptImage" in body or has_file
    endpoint = str(
        fields.get("endpoint")
        or (Endpoint.IMAGE_TO_VIDEO.value if has_image else Endpoint.TEXT_TO_VIDEO.value)
    )
    create = OpenAICreate(endpoint, body, names)
    if seconds is None and "duration" not in body and _takes_duration(ctx, body["model"], endpoint):
        body["duration"] = DEFAULT_SECONDS
        names["duration"] = "seconds"
        create.default_seconds = True
    return create


def _takes_duration(ctx: ApiContext, model_id: Any, endpoint: str) -> bool:
    """Whether the model's endpoint has a ``duration`` field (an unknown one: left to the
    validator to name)."""
    catalog = ctx.runtime.catalog
    if not isinstance(model_id, str) or model_id not in catalog:
        return False
    try:
        spec = catalog.model(model_id).endpoints.get(Endpoint(endpoint))
    except ValueError:
        return False
    return spec is not None and "duration" in spec.fields


def _coerce(ctx: ApiContext, fields: dict[str, str]) -> dict[str, Any]:
    """Form text read as JSON where the model's field is not text, checked as a JSON body is."""
    specs: dict[str, str] = {}
    model = fields.get("model") or DEFAULT_MODEL
    if model in ctx.runtime.catalog:
        for spec in ctx.runtime.catalog.model(model).endpoints.values():
            specs.update({name: field.type for name, field in spec.fields.items()})
    coerced: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, value in fields.items():
        kind = specs.get(name)
        if name in _OPENAI_FIELDS or kind is None or kind in _TEXT_TYPES:
            coerced[name] = value
            continue
        try:
            coerced[name], found = parse_json(value, name)
        except ValueError:
            coerced[name] = value  # "auto", say: the validator judges it
            continue
        problems += found
    if problems:
        raise ValidationFailed(problems)
    return coerced
