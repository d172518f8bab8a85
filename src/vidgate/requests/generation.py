"""Raw input for a generation endpoint -> a validated ``GenerationRequest``.

One function, ``validate_request``, checks a wire body against the catalog's rules for its model and
endpoint and reports every problem at once, each with its field path and the allowed values
("duration: veo3.1 accepts 4, 6 or 8, got 5"). The HTTP API and the emulator both call it, so a
request vidgate accepts is one the emulator accepts and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vidgate.catalog import Catalog, Endpoint, EndpointSpec, FieldSpec, Model, get_catalog
from vidgate.catalog.catalog import MediaKind
from vidgate.errors import FieldProblem, ValidationFailed

__all__ = ["GenerationRequest", "MediaInput", "validate_request"]

SEED_MAX = 4_294_967_295
URL_MAX_CHARS = 2048
_DATA_URI = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,"
)


@dataclass(frozen=True)
class MediaInput:
    """One media reference in a request: where it sits, what it must be, and its limits."""

    path: str
    uri: str
    kind: MediaKind
    spec: FieldSpec

    @property
    def scheme(self) -> str:
        return self.uri.split(":", 1)[0].lower()


@dataclass(frozen=True)
class GenerationRequest:
    """A request that passed every check for its model and endpoint; ``body`` is the wire body."""

    endpoint: Endpoint
    model: str
    body: dict[str, Any]
    media: tuple[MediaInput, ...] = ()
    spec: EndpointSpec | None = field(default=None, compare=False, repr=False)

    @property
    def duration_seconds(self) -> int | None:
        """The output length the request asks for; None when the model or the input decides."""
        value = self.body.get("duration")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is not None or "draftTaskId" in self.body:
            return None  # "auto", or an enhanced draft: the model or the draft decides
        duration_spec = self.spec.duration if self.spec else None
        return duration_spec.default if duration_spec else None

    @property
    def ratio(self) -> str | None:
        value = self.body.get("ratio")
        return value if isinstance(value, str) else None

    @property
    def prompt_text(self) -> str | None:
        value = self.body.get("promptText")
        return value if isinstance(value, str) else None


def validate_request(
    endpoint: str,
    raw: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    allow_legacy: bool = True,
    check_media: Callable[[MediaInput], str | None] | None = None,
) -> GenerationRequest:
    """Check ``raw`` (a wire body with ``model``) for ``endpoint``; raise ValidationFailed listing
    every problem. ``check_media`` may add a policy on top (the API's URL allowlist): it returns a
    message for a media input it refuses."""
    catalog = catalog or get_catalog()
    try:
        ep = Endpoint(endpoint)
    except ValueError:
        allowed = ", ".join(e.value for e in Endpoint)
        raise ValidationFailed.single(
            "endpoint", f"must be one of {allowed}, got {endpoint!r}"
        ) from None
    if not isinstance(raw, Mapping):
        raise ValidationFailed.single("", "the request body must be a JSON object")
    model = _resolve_model(catalog, ep, raw.get("model"), allow_legacy)
    spec = model.endpoints[ep]
    checker = _Checker(model, ep, spec, catalog)
    body = checker.check(raw)
    if check_media is not None:
        for media in checker.media:
            message = check_media(media)
            if message:
                checker.problem(media.path, message)
    if checker.problems:
        raise ValidationFailed(checker.problems)
    return GenerationRequest(ep, model.id, body, tuple(checker.media), spec)


def _resolve_model(catalog: Catalog, ep: Endpoint, value: object, allow_legacy: bool) -> Model:
    def offered() -> str:  # only for the error: every request would pay for the list
        return _list(
            [m for m in catalog.model_ids(ep) if allow_legacy or not catalog.model(m).legacy]
        )

    if value is None:
        raise ValidationFailed.single("model", f"required; {ep.value} takes {offered()}")
    if not isinstance(value, str) or value not in catalog:
        raise ValidationFailed.single(
            "model", f"unknown model {value!r}; {ep.value} takes {offered()}"
        )
    model = catalog.model(value)
    if model.legacy and not allow_legacy:
        raise ValidationFailed.single("model", f"{value} is a legacy model: {model.legacy_note}")
    if ep not in model.endpoints:
        hint = ""
        if Endpoint.IMAGE_TO_VIDEO in model.endpoints and ep is Endpoint.TEXT_TO_VIDEO:
            hint = f"{value} needs an image: use image_to_video with promptImage; "
        takes = ", ".join(e.value for e in model.endpoints)
        raise ValidationFailed.single(
            "model", f"{hint}{value} is not offered on {ep.value} (it takes {takes})"
        )
    return model


class _Checker:
    """Walks one body; collects problems instead of stopping at the first."""

    def __init__(self, model: Model, ep: Endpoint, spec: EndpointSpec, catalog: Catalog) -> None:
        self.model = model
        self.ep = ep
        self.spec = spec
        self.catalog = catalog
        self.problems: list[FieldProblem] = []
        self.media: list[MediaInput] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(FieldProblem(path, message))

    def check(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model.id}
        for name, value in raw.items():
            if name == "model":
                continue
            field_spec = self.spec.fields.get(name)
            if field_spec is None:
                self._unknown(name)
                continue
            if value is None and not field_spec.required:
                continue  # JSON null for an optional field means "not given"
            if self._field(name, value, field_spec):
                body[name] = value
        for name, field_spec in self.spec.fields.items():
            if field_spec.required and raw.get(name) is None and not self._exempt(name, raw):
                self.problem(
                    name, f"required by {self.model.id} on {self.ep.value}{_allowed(field_spec)}"
                )
        # Cross-field rules; a field that already has a problem is not blamed twice.
        blamed = {p.path for p in self.problems}
        before = len(self.problems)
        for rule in self.spec.rules:
            _RULES[rule](self, raw)
        self.problems[before:] = [p for p in self.problems[before:] if p.path not in blamed]
        return body

    def _exempt(self, name: str, raw: Mapping[str, Any]) -> bool:
        # A seedance2_5 enhance request carries only draftTaskId.
        return "draft_task_alone" in self.spec.rules and raw.get("draftTaskId") is not None

    def _unknown(self, name: str) -> None:
        wanted = self.spec.renamed.get(name)
        hint = self.spec.hints.get(name)
        if wanted:
            message = f"{self.model.id} has no field {name}; the real API wants {wanted} instead"
        elif wanted == "" or hint:
            message = f"{self.model.id} has no field {name} on {self.ep.value}"
        else:
            allowed = ", ".join(sorted(self.spec.fields))
            message = f"unknown field for {self.model.id} on {self.ep.value}; allowed: {allowed}"
        self.problem(name, f"{message} ({hint})" if hint else message)

    # --- one method per field type; each returns True when the value is acceptable -------------

    def _field(self, path: str, value: Any, spec: FieldSpec) -> bool:
        before = len(self.problems)
        getattr(self, f"_check_{spec.type}")(path, value, spec)
        return len(self.problems) == before

    def _check_text(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, str):
            self.problem(path, f"must be a string, got {_type(value)}")
        elif not value.strip():
            self.problem(path, "must not be empty")
        elif spec.max is not None and (units := _utf16_units(value)) > spec.max:
            self.problem(
                path, f"{self.model.id} accepts at most {spec.max:g} characters, got {units}"
            )

    def _check_string(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, str) or not value:
            self.problem(path, f"must be a non-empty string, got {_type(value)}")

    def _check_choice(self, path: str, value: Any, spec: FieldSpec) -> None:
        values = spec.values or ()
        if isinstance(value, bool) or value not in values:
            self.problem(path, f"{self.model.id} accepts {_list(values)}, got {value!r}")

    def _check_duration(self, path: str, value: Any, spec: FieldSpec) -> None:
        if spec.auto and value == "auto":
            return
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and spec.values is not None:
            ok = value in spec.values
        elif ok and spec.min is not None and spec.max is not None:
            ok = spec.min <= value <= spec.max
        if not ok:
            accepts = f"{self.model.id} accepts {_durations(spec)}"
            if _number(value) and not float(value).is_integer():
                accepts = f"must be a whole number of seconds ({accepts})"
            self.problem(path, f"{accepts}, got {value!r}")

    def _check_integer(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(path, f"must be an integer, got {_type(value)}")
        else:
            self._range(path, value, spec)

    def _check_number(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not _number(value):
            self.problem(path, f"must be a finite number, got {value!r}")
        else:
            self._range(path, value, spec)

    def _range(self, path: str, value: float, spec: FieldSpec) -> None:
        if spec.min is not None and spec.max is not None and not spec.min <= value <= spec.max:
            self.problem(path, f"must be from {spec.min:g} to {spec.max:g}, got {value!r}")

    def _check_boolean(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, got {_type(value)}")

    def _check_seed(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SEED_MAX:
            self.problem(path, f"must be an integer from 0 to {SEED_MAX}, got {value!r}")

    def _check_media(self, path: str, value: Any, spec: FieldSpec) -> None:
        self._uri(path, value, spec.kind or "video", spec)

    def _check_content_moderation(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object, got {_type(value)}")
            return
        for key, item in value.items():
            if key != "publicFigureThreshold":
                self.problem(f"{path}.{key}", "unknown field; allowed: publicFigureThreshold")
            elif item not in ("auto", "low"):
                self.problem(f"{path}.{key}", f"must be 'auto' or 'low', got {item!r}")

    def _check_frames(self, path: str, value: Any, spec: FieldSpec) -> None:
        if isinstance(value, str) and spec.string:
            self._uri(path, value, "image", spec)
            return
        if not isinstance(value, list) or not value:
            shape = "a URI string or " if spec.string else ""
            self.problem(path, f"must be {shape}a non-empty array of {{uri, position}} objects")
            return
        if spec.max_items is not None and len(value) > spec.max_items:
            self.problem(
                path, f"{self.model.id} accepts at most {spec.max_items} images, got {len(value)}"
            )
        seen: set[str] = set()
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if not isinstance(item, Mapping):
                self.problem(where, f"must be an object {{uri, position}}, got {_type(item)}")
                continue
            for key in item:
                if key not in ("uri", "position"):
                    self.problem(f"{where}.{key}", "unknown field; allowed: uri, position")
            self._uri(f"{where}.uri", item.get("uri"), "image", spec)
            position = item.get("position")
            if position is None:
                if not spec.position_optional:
                    self.problem(f"{where}.position", f"required; one of {_list(spec.positions)}")
                continue
            if position not in spec.positions:
                self.problem(
                    f"{where}.position",
                    f"{self.model.id} accepts {_list(spec.positions)}, got {position!r}",
                )
            elif position in seen:
                self.problem(f"{where}.position", f"{position!r} given more than once")
            seen.add(str(position))

    def _check_media_list(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, list):
            self.problem(path, f"must be an array, got {_type(value)}")
            return
        if spec.max_items is not None and len(value) > spec.max_items:
            self.problem(
                path, f"{self.model.id} accepts at most {spec.max_items} items, got {len(value)}"
            )
        kind = spec.kind or "image"
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if not isinstance(item, Mapping):
                self.problem(where, f"must be an object with uri, got {_type(item)}")
                continue
            allowed = {"uri", "type"} if spec.item_type or spec.untyped_items else {"uri"}
            for key in item:
                if key == "type" and "type" not in allowed:
                    self.problem(
                        f"{where}.type",
                        f"{self.model.id} takes {path} items as {{uri}} only; "
                        "the real API has no type here",
                    )
                elif key not in allowed:
                    self.problem(
                        f"{where}.{key}", f"unknown field; allowed: {_list(sorted(allowed))}"
                    )
            if spec.item_type and item.get("type") != spec.item_type:
                self.problem(
                    f"{where}.type", f"must be {spec.item_type!r}, got {item.get('type')!r}"
                )
            self._uri(f"{where}.uri", item.get("uri"), kind, spec)

    def _check_typed_media(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object {{type, uri}}, got {_type(value)}")
            return
        kind = value.get("type")
        if kind not in spec.types:
            self.problem(f"{path}.type", f"must be {_list(spec.types)}, got {kind!r}")
            kind = spec.types[0]
        for key in value:
            if key not in ("type", "uri"):
                self.problem(f"{path}.{key}", "unknown field; allowed: type, uri")
        self._uri(f"{path}.uri", value.get("uri"), kind, spec)

    def _check_provider_settings(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object, got {_type(value)}")
            return
        keys = spec.keys or ("multiPrompt", "shotType")
        for key in value:
            if key not in keys:
                self.problem(f"{path}.{key}", f"unknown field; allowed: {', '.join(keys)}")
        keep = value.get("keepOriginalSound")
        if "keepOriginalSound" in keys and keep is not None and not isinstance(keep, bool):
            self.problem(f"{path}.keepOriginalSound", f"must be true or false, got {_type(keep)}")
        shot = value.get("shotType")
        if shot is not None and shot not in ("intelligence", "customize"):
            self.problem(f"{path}.shotType", f"must be 'intelligence' or 'customize', got {shot!r}")
        prompts = value.get("multiPrompt")
        if prompts is None:
            return
        if not isinstance(prompts, list) or not prompts:
            self.problem(f"{path}.multiPrompt", "must be a non-empty array of {prompt, duration}")
            return
        total = 0
        for index, item in enumerate(prompts):
            where = f"{path}.multiPrompt[{index}]"
            if not isinstance(item, Mapping):
                self.problem(where, "must be an object {prompt, duration}")
                continue
            for key in item:
                if key not in ("prompt", "duration"):
                    self.problem(f"{where}.{key}", "unknown field; allowed: prompt, duration")
            prompt = item.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                self.problem(f"{where}.prompt", "required, a non-empty string")
            seconds = item.get("duration")
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
                self.problem(f"{where}.duration", "required, a whole number of seconds")
            else:
                total += seconds
        if total and not 3 <= total <= 15:
            self.problem(f"{path}.multiPrompt", f"segment durations must total 3-15 s, got {total}")

    def _check_keyframes(self, path: str, value: Any, spec: FieldSpec) -> None:
        most = spec.max_items or 5
        if not isinstance(value, list) or not 1 <= len(value) <= most:
            self.problem(path, f"must be an array of 1 to {most} keyframes")
            return
        ranged = [isinstance(k, Mapping) and "range" in k for k in value]
        if any(ranged) and not all(ranged):
            self.problem(path, "either every keyframe has a range or none does")
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if not isinstance(item, Mapping):
                self.problem(where, "must be an object {seconds|at, uri, range?}")
                continue
            for key in item:
                if key not in ("seconds", "at", "uri", "range"):
                    self.problem(
                        f"{where}.{key}", "unknown field; allowed: seconds, at, uri, range"
                    )
            self._uri(f"{where}.uri", item.get("uri"), "image", spec)
            has_seconds, has_at = "seconds" in item, "at" in item
            if has_seconds == has_at:
                self.problem(where, "needs exactly one of seconds (absolute) or at (0.0-1.0)")
                continue
            when = item.get("seconds", item.get("at"))
            if not _number(when) or when < 0:
                self.problem(
                    f"{where}.{'seconds' if has_seconds else 'at'}", "must be a number >= 0"
                )
            elif has_at and when > 1:
                self.problem(f"{where}.at", f"must be from 0.0 to 1.0, got {when!r}")
            window = item.get("range")
            if window is not None:
                self._keyframe_range(f"{where}.range", window, when if has_seconds else None)

    def _keyframe_range(self, path: str, window: Any, seconds: Any) -> None:
        if not isinstance(window, Mapping):
            self.problem(path, "must be an object {start_seconds, end_seconds}")
            return
        for key in window:
            if key not in ("start_seconds", "end_seconds"):
                self.problem(f"{path}.{key}", "unknown field; allowed: start_seconds, end_seconds")
        start, end = window.get("start_seconds"), window.get("end_seconds")
        if not (isinstance(start, int) and isinstance(end, int) and _whole(start) and _whole(end)):
            self.problem(path, "start_seconds and end_seconds must be whole seconds >= 0")
        elif end <= start:
            self.problem(path, "end_seconds must be after start_seconds")
        elif _number(seconds) and not start <= seconds < end:
            self.problem(path, f"the keyframe time {seconds} must fall inside the range")

    # --- media URIs --------------------------------------------------------------------------

    def _uri(self, path: str, value: Any, kind: str, spec: FieldSpec) -> None:
        if not isinstance(value, str) or not value:
            self.problem(path, "required, a media URI (https URL, runway:// URI or data URI)")
            return
        lowered = value[:16].lower()
        if lowered.startswith("runway://"):
            message = None if len(value) > len("runway://") else "the runway:// URI is empty"
        elif lowered.startswith("data:"):
            message = _data_uri_problem(value, kind, self.catalog)
        elif lowered.startswith("https://"):
            message = _https_url_problem(value)
        else:
            message = "must be an https URL, a runway:// URI or a data URI"
        if message:
            self.problem(path, message)
            return
        self.media.append(MediaInput(path, value, kind, spec))  # type: ignore[arg-type]


def _https_url_problem(value: str) -> str | None:
    if len(value) > URL_MAX_CHARS:
        return f"URLs may be at most {URL_MAX_CHARS} characters, got {len(value)}"
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        return "not a valid https URL"
    if not host or any(c.isspace() for c in value):
        return "not a valid https URL (no host, or whitespace in it)"
    if parts.username is not None or parts.password is not None:
        return "URLs may not carry a user name or password"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not host.replace(".", "").isdigit():
            return None
    return f"the URL host must be a domain name, not an IP address ({host})"


def _data_uri_problem(value: str, kind: str, catalog: Catalog) -> str | None:
    match = _DATA_URI.match(value)
    if not match or not match.group("b64"):
        return "data URIs must be data:<mime type>;base64,<data>"
    mime = match.group("mime").lower()
    limits = catalog.media.get(kind)  # type: ignore[call-overload]
    if limits is None or mime not in limits.mime_types:
        accepted = _list(limits.mime_types) if limits else kind
        article = "an" if kind[0] in "aeiou" else "a"
        return f"{article} {kind} is needed here ({accepted}), got {mime}"
    payload = value[match.end() :]
    if len(value) > limits.data_uri_max_bytes:
        return (
            f"{kind} data URIs may be at most {limits.data_uri_max_bytes / (1024 * 1024):g} MB, "
            f"got {len(value) / (1024 * 1024):.1f} MB; upload the file instead"
        )
    if not payload:
        return "the data URI carries no data"
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return "the data URI is not valid base64"
    return None


# --- cross-field rules, named in models.toml ----------------------------------------------------


def _positions(raw: Mapping[str, Any]) -> list[object]:
    frames = raw.get("promptImage")
    if not isinstance(frames, list):
        return []
    return [item.get("position") for item in frames if isinstance(item, Mapping)]


def _rule_frames_keyframe_xor_reference(check: _Checker, raw: Mapping[str, Any]) -> None:
    positions = _positions(raw)
    if any(p is None for p in positions) and any(p is not None for p in positions):
        check.problem(
            "promptImage",
            "keyframe items (with position first/last) and reference items (without position) "
            "cannot be mixed",
        )


def _rule_last_frame_needs_first(check: _Checker, raw: Mapping[str, Any]) -> None:
    positions = _positions(raw)
    if "last" in positions and "first" not in positions:
        check.problem("promptImage", f"{check.model.id} needs a first frame with a last frame")


def _rule_keyframes_need_auto_ratio(check: _Checker, raw: Mapping[str, Any]) -> None:
    positions = _positions(raw)
    ratio = raw.get("ratio")
    keyframe_mode = bool(positions) and all(p is not None for p in positions)
    if keyframe_mode and ratio is not None and not str(ratio).startswith("auto_"):
        check.problem("ratio", f"keyframe mode of {check.model.id} needs an auto_* ratio")


def _rule_prores_profile_needs_prores(check: _Checker, raw: Mapping[str, Any]) -> None:
    profile, fmt = raw.get("proresProfile"), raw.get("outputFormat")
    if profile is None:
        return
    if fmt not in ("prores", "hdr_prores"):
        check.problem("proresProfile", "only with outputFormat prores or hdr_prores")
    elif fmt == "hdr_prores" and profile not in ("422", "422 HQ", "4444"):
        check.problem(
            "proresProfile", f"hdr_prores accepts '422', '422 HQ' or '4444', got {profile!r}"
        )


def _rule_adaptive_ratio_needs_references(check: _Checker, raw: Mapping[str, Any]) -> None:
    if raw.get("ratio") == "adaptive" and not (raw.get("references") or raw.get("referenceVideos")):
        check.problem(
            "ratio", "'adaptive' needs image or video references; a text-only request needs a ratio"
        )


def _rule_reference_audio_needs_image_reference(check: _Checker, raw: Mapping[str, Any]) -> None:
    if raw.get("referenceAudio") and not raw.get("references"):
        check.problem("referenceAudio", f"{check.model.id} needs at least one image in references")


def _rule_frames_need_first(check: _Checker, raw: Mapping[str, Any]) -> None:
    positions = [p for p in _positions(raw) if p is not None]
    if positions and "first" not in positions:
        check.problem("promptImage", f"{check.model.id} needs a first frame in the array")


def _rule_references_include_frames(check: _Checker, raw: Mapping[str, Any]) -> None:
    frames, references = raw.get("promptImage"), raw.get("references")
    spec = check.spec.fields.get("references")
    if spec is None or spec.max_items is None or not isinstance(references, list):
        return
    count = len(references) + (1 if isinstance(frames, str) else len(_positions(raw)))
    if count > spec.max_items:
        check.problem(
            "references",
            f"{check.model.id} takes at most {spec.max_items} images in total, frames included; "
            f"got {count}",
        )


def _rule_intelligence_shot_needs_prompt(check: _Checker, raw: Mapping[str, Any]) -> None:
    settings = raw.get("providerSettings")
    intelligence = isinstance(settings, Mapping) and settings.get("shotType") == "intelligence"
    if intelligence and not raw.get("promptText"):
        check.problem("promptText", "required when providerSettings.shotType is 'intelligence'")


def _rule_draft_needs_mp4(check: _Checker, raw: Mapping[str, Any]) -> None:
    if raw.get("draft") is True and raw.get("outputFormat") not in (None, "mp4"):
        check.problem("outputFormat", "draft mode only supports 'mp4'")


def _rule_image_references_cap_720p(check: _Checker, raw: Mapping[str, Any]) -> None:
    if raw.get("references") and raw.get("resolution") == "1080p":
        check.problem("resolution", f"{check.model.id} caps requests with image references at 720p")


def _rule_draft_task_alone(check: _Checker, raw: Mapping[str, Any]) -> None:
    if raw.get("draftTaskId") is None:
        return
    for name in raw:
        if name not in ("model", "draftTaskId"):
            check.problem(name, "an enhance request with draftTaskId takes no other fields")


def _rule_mode_rules(check: _Checker, raw: Mapping[str, Any]) -> None:
    mode = raw.get("mode", "reference")
    if mode not in ("extend", "edit"):
        return
    if not raw.get("promptText"):
        check.problem("promptText", f"required in {mode} mode")
    if raw.get("ratio") is not None:
        check.problem("ratio", f"not allowed in {mode} mode (the output follows the input video)")
    if mode == "edit" and check.model.id.startswith("seedance") and raw.get("duration") != "auto":
        check.problem("duration", "edit mode needs duration 'auto'")


_RULES: dict[str, Callable[[_Checker, Mapping[str, Any]], None]] = {
    name.removeprefix("_rule_"): fn for name, fn in globals().items() if name.startswith("_rule_")
}


# --- wording helpers ----------------------------------------------------------------------------


def _number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _allowed(spec: FieldSpec) -> str:
    if spec.type == "duration":
        return f"; {_durations(spec)}"
    if spec.type == "choice" and spec.values:
        return f"; one of {_list(spec.values)}"
    return ""


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _type(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _list(values: Sequence[object]) -> str:
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _durations(spec: FieldSpec) -> str:
    if spec.values is not None:
        text = _list(spec.values)
    else:
        text = (
            f"{spec.min:g} to {spec.max:g} seconds"
            if spec.min is not None and spec.max
            else "a whole number of seconds"
        )
    return f"{text} or 'auto'" if spec.auto else text
