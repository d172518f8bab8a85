"""One check per field type of the catalog: a wire body walked field by field.

:class:`FieldChecker` checks each field of a body against its :class:`~vidgate.catalog.FieldSpec`
(a method per field type, ``_check_<type>``), collects every problem with its path, and notes each
media reference it meets; the media URI rule itself is :mod:`vidgate.media.url_check`'s. Any
string is safe here: text the text rule refuses (:mod:`vidgate.media.text`: a lone surrogate, a
control character) is one named problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vidgate.catalog import Catalog, Endpoint, EndpointSpec, FieldSpec, MediaKind, Model
from vidgate.errors import FieldProblem
from vidgate.media.text import text_problem
from vidgate.media.url_check import media_uri_problem
from vidgate.requests.types import MediaInput
from vidgate.requests.wording import (
    allowed_values,
    durations,
    is_number,
    is_whole,
    listed,
    printable_path,
    type_name,
    utf16_units,
)

__all__ = ["SEED_MAX", "FieldChecker", "text_problem_under"]

SEED_MAX = 4_294_967_295


def text_problem_under(path: str, value: Any) -> FieldProblem | None:
    """The first key or string under ``value`` that :func:`~vidgate.media.text.text_problem`
    refuses, with its path (unprintable keys escaped), or None."""
    problem = text_problem(path)
    if problem is not None:
        return FieldProblem(printable_path(path), f"the key {problem}")
    if isinstance(value, str):
        problem = text_problem(value)
        return None if problem is None else FieldProblem(printable_path(path), problem)
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = text_problem_under(f"{path}.{key}", item) if isinstance(key, str) else None
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = text_problem_under(f"{path}[{index}]", item)
            if found is not None:
                return found
    return None


class FieldChecker:
    """Walks one body field by field; collects problems instead of stopping at the first."""

    def __init__(self, model: Model, ep: Endpoint, spec: EndpointSpec, catalog: Catalog) -> None:
        self.model = model
        self.ep = ep
        self.spec = spec
        self.catalog = catalog
        self.problems: list[FieldProblem] = []
        self.media: list[MediaInput] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(FieldProblem(printable_path(path), message))

    def check(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model.id}
        for name, value in raw.items():
            if name == "model":
                continue
            bad = text_problem_under(name, value)
            if bad is not None:
                self.problems.append(bad)
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
                    name,
                    f"required by {self.model.id} on {self.ep.value}{allowed_values(field_spec)}",
                )
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
            self.problem(path, f"must be a string, got {type_name(value)}")
        elif not value.strip():
            self.problem(path, "must not be empty")
        elif spec.max is not None and (units := utf16_units(value)) > spec.max:
            self.problem(
                path, f"{self.model.id} accepts at most {spec.max:g} characters, got {units}"
            )

    def _check_string(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, str) or not value:
            self.problem(path, f"must be a non-empty string, got {type_name(value)}")

    def _check_choice(self, path: str, value: Any, spec: FieldSpec) -> None:
        values = spec.values or ()
        if isinstance(value, bool) or value not in values:
            self.problem(path, f"{self.model.id} accepts {listed(values)}, got {value!r}")

    def _check_duration(self, path: str, value: Any, spec: FieldSpec) -> None:
        if spec.auto and value == "auto":
            return
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and spec.values is not None:
            ok = value in spec.values
        elif ok and spec.min is not None and spec.max is not None:
            ok = spec.min <= value <= spec.max
        if not ok:
            accepts = f"{self.model.id} accepts {durations(spec)}"
            if is_number(value) and not float(value).is_integer():
                accepts = f"must be a whole number of seconds ({accepts})"
            self.problem(path, f"{accepts}, got {value!r}")

    def _check_integer(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(path, f"must be an integer, got {type_name(value)}")
        else:
            self._range(path, value, spec)

    def _check_number(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not is_number(value):
            self.problem(path, f"must be a finite number, got {value!r}")
        else:
            self._range(path, value, spec)

    def _range(self, path: str, value: float, spec: FieldSpec) -> None:
        if spec.min is not None and spec.max is not None and not spec.min <= value <= spec.max:
            self.problem(path, f"must be from {spec.min:g} to {spec.max:g}, got {value!r}")

    def _check_boolean(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, got {type_name(value)}")

    def _check_seed(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SEED_MAX:
            self.problem(path, f"must be an integer from 0 to {SEED_MAX}, got {value!r}")

    def _check_media(self, path: str, value: Any, spec: FieldSpec) -> None:
        self._uri(path, value, spec.kind or "video", spec)

    def _check_content_moderation(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object, got {type_name(value)}")
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
                self.problem(where, f"must be an object {{uri, position}}, got {type_name(item)}")
                continue
            for key in item:
                if key not in ("uri", "position"):
                    self.problem(f"{where}.{key}", "unknown field; allowed: uri, position")
            self._uri(f"{where}.uri", item.get("uri"), "image", spec)
            position = item.get("position")
            if position is None:
                if not spec.position_optional:
                    self.problem(f"{where}.position", f"required; one of {listed(spec.positions)}")
                continue
            if position not in spec.positions:
                self.problem(
                    f"{where}.position",
                    f"{self.model.id} accepts {listed(spec.positions)}, got {position!r}",
                )
            elif position in seen:
                self.problem(f"{where}.position", f"{position!r} given more than once")
            seen.add(str(position))

    def _check_media_list(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, list):
            self.problem(path, f"must be an array, got {type_name(value)}")
            return
        if spec.max_items is not None and len(value) > spec.max_items:
            self.problem(
                path, f"{self.model.id} accepts at most {spec.max_items} items, got {len(value)}"
            )
        kind = spec.kind or "image"
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if not isinstance(item, Mapping):
                self.problem(where, f"must be an object with uri, got {type_name(item)}")
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
                        f"{where}.{key}", f"unknown field; allowed: {listed(sorted(allowed))}"
                    )
            if spec.item_type and item.get("type") != spec.item_type:
                self.problem(
                    f"{where}.type", f"must be {spec.item_type!r}, got {item.get('type')!r}"
                )
            self._uri(f"{where}.uri", item.get("uri"), kind, spec)

    def _check_typed_media(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object {{type, uri}}, got {type_name(value)}")
            return
        kind = value.get("type")
        if kind not in spec.types:
            self.problem(f"{path}.type", f"must be {listed(spec.types)}, got {kind!r}")
            kind = spec.types[0]
        for key in value:
            if key not in ("type", "uri"):
                self.problem(f"{path}.{key}", "unknown field; allowed: type, uri")
        self._uri(f"{path}.uri", value.get("uri"), kind, spec)

    def _check_provider_settings(self, path: str, value: Any, spec: FieldSpec) -> None:
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object, got {type_name(value)}")
            return
        keys = spec.keys or ("multiPrompt", "shotType")
        for key in value:
            if key not in keys:
                self.problem(f"{path}.{key}", f"unknown field; allowed: {', '.join(keys)}")
        keep = value.get("keepOriginalSound")
        if "keepOriginalSound" in keys and keep is not None and not isinstance(keep, bool):
            self.problem(
                f"{path}.keepOriginalSound", f"must be true or false, got {type_name(keep)}"
            )
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
            if not is_number(when) or when < 0:
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
        if not (
            isinstance(start, int) and isinstance(end, int) and is_whole(start) and is_whole(end)
        ):
            self.problem(path, "start_seconds and end_seconds must be whole seconds >= 0")
        elif end <= start:
            self.problem(path, "end_seconds must be after start_seconds")
        elif is_number(seconds) and not start <= seconds < end:
            self.problem(path, f"the keyframe time {seconds} must fall inside the range")

    # --- media URIs --------------------------------------------------------------------------

    def _uri(self, path: str, value: Any, kind: str, spec: FieldSpec) -> None:
        if not isinstance(value, str) or not value:
            self.problem(path, "required, a media URI (https URL, runway:// URI or data URI)")
            return
        message = media_uri_problem(value, kind, self.catalog)
        if message:
            self.problem(path, message)
            return
        self.media.append(MediaInput(path, value, MediaKind(kind), spec))
