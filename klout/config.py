"""Typed, frozen configuration: `conf/default.yaml`, then overlays, then `--set key.path=value` overrides.

The dataclasses below declare the shape, the types and the allowed ranges; the values (and a comment on each)
live in `conf/default.yaml`, the single source of defaults. Everything is validated before Spark starts, and
any problem raises `ConfigError` naming the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.resources
import itertools
import json
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from klout.errors import ConfigError
from klout.paths import resolved

if TYPE_CHECKING:
    from importlib.abc import Traversable  # importlib.resources.abc from 3.11 only; the floor is 3.10


def limits(**bounds: float) -> dict[str, dict[str, float]]:
    """Metadata for a required dataclass field with numeric bounds (`ge`, `gt`, `le`, `lt`) that the loader checks:
    `field(metadata=limits(ge=1))`. A plain `field()` call, so type checkers see a field without a default."""
    return {"bounds": bounds}


# ---------------------------------------------------------------------------------------------------------------------
# Schema of the configuration. No defaults here: conf/default.yaml holds every value.
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SparkConfig:
    app_name: str
    master: str
    driver_memory: str
    shuffle_partitions: int = field(metadata=limits(ge=1))
    delta_package: str
    s3a_package: str
    delta_snapshot_partitions: int = field(metadata=limits(ge=1))
    ui_enabled: bool
    checkpoint_dir: str | None
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG"]
    interpreted_below: int = field(metadata=limits(ge=0))
    conf: Mapping[str, str]
    remote: str | None

    def __post_init__(self) -> None:
        """`remote` is a Spark Connect address: sc://host[:port][/;param=value...]."""
        if self.remote is not None and not self.remote.startswith("sc://"):
            raise ConfigError(f"spark.remote = {self.remote!r}: must be a Spark Connect address, sc://host:port")


@dataclass(frozen=True)
class HiggsConfig:
    network: str


@dataclass(frozen=True)
class KloutOpendataConfig:
    network_codes: Mapping[str, str]
    actions: Mapping[str, str]


@dataclass(frozen=True)
class IngestConfig:
    max_future_seconds: int = field(metadata=limits(ge=0))
    earliest_date: dt.date
    epoch_millis_threshold: float = field(metadata=limits(gt=0))
    event_id_hash_chars: int = field(metadata=limits(ge=16, le=64))
    higgs: HiggsConfig
    klout_opendata: KloutOpendataConfig


@dataclass(frozen=True)
class SelectivityConfig:
    enabled: bool
    free_reactions_per_day: int = field(metadata=limits(ge=1))
    exponent: float = field(metadata=limits(gt=0.0))


@dataclass(frozen=True)
class PairCapConfig:
    enabled: bool
    max_reactions_per_day: int = field(metadata=limits(ge=1))


@dataclass(frozen=True)
class RingConfig:
    enabled: bool
    min_reciprocal_share: float = field(metadata=limits(ge=0.0, lt=1.0))
    floor: float = field(metadata=limits(ge=0.0, le=1.0))


@dataclass(frozen=True)
class AntiGamingConfig:
    exclude_self_reactions: bool
    selectivity: SelectivityConfig
    pair_cap: PairCapConfig
    rings: RingConfig


@dataclass(frozen=True)
class FeaturesConfig:
    window_days: int = field(metadata=limits(ge=1, le=3650))
    half_life_days: float = field(metadata=limits(gt=0.0))
    unknown_content_weight: float = field(metadata=limits(ge=0.0))
    title_seniority: Mapping[str, float] = field(metadata=limits(ge=0.0))
    anti_gaming: AntiGamingConfig


@dataclass(frozen=True)
class PriorConfig:
    base: float = field(metadata=limits(gt=0.0))
    log_followers: float = field(metadata=limits(ge=0.0))
    log_lists: float = field(metadata=limits(ge=0.0))
    verified: float = field(metadata=limits(ge=0.0))
    external_authority: float = field(metadata=limits(ge=0.0))
    title_seniority: float = field(metadata=limits(ge=0.0))
    account_age_years: float = field(metadata=limits(ge=0.0))


@dataclass(frozen=True)
class TrustConfig:
    floor: float = field(metadata=limits(ge=0.0, le=1.0))
    history_days: float = field(metadata=limits(gt=0.0))
    received_weight: float = field(metadata=limits(gt=0.0))
    profile: float = field(metadata=limits(gt=0.0))


@dataclass(frozen=True)
class GraphConfig:
    damping: float = field(metadata=limits(ge=0.0, lt=1.0))
    tolerance: float = field(metadata=limits(ge=0.0))
    max_iterations: int = field(metadata=limits(ge=1, le=1000))
    attention_floor: float = field(metadata=limits(gt=0.0))
    attention_quantile: float = field(metadata=limits(ge=0.0, lt=1.0))
    warm_start: bool
    top_reactors: int = field(metadata=limits(ge=0, le=100))
    prior: PriorConfig
    trust: TrustConfig


@dataclass(frozen=True)
class ScoreConfig:
    combine_power: float = field(metadata=limits(ge=1.0))
    smoothing: float = field(metadata=limits(gt=0.0, le=1.0))
    quantile_grid: int = field(metadata=limits(ge=10, le=100_000))
    quantile_accuracy: int = field(metadata=limits(ge=100))
    target: Mapping[str, float] = field(metadata=limits(ge=1.0, le=100.0))
    explain_top: int = field(metadata=limits(ge=1, le=100))

    def __post_init__(self) -> None:
        """`target` must map percentiles 0 and 1 (and any in between) to strictly increasing scores."""
        try:
            points = sorted((float(p), s) for p, s in self.target.items())
        except ValueError:
            raise ConfigError(
                f"score.target: keys must be percentiles (numbers in [0, 1]); got {', '.join(self.target)}"
            ) from None
        if not points or points[0][0] != 0.0 or points[-1][0] != 1.0:
            raise ConfigError(
                f"score.target: must map percentile 0.0 and 1.0 (and any in between); got {', '.join(self.target)}"
            )
        for (p0, s0), (p1, s1) in itertools.pairwise(points):
            if not s1 > s0:
                raise ConfigError(
                    f"score.target.{p1} = {s1!r}: scores must increase with the percentile (score.target.{p0} = {s0!r})"
                )

    def anchors(self) -> list[tuple[float, float]]:
        """The (percentile, score) points of the target distribution, by percentile."""
        return sorted((float(p), float(s)) for p, s in self.target.items())


@dataclass(frozen=True)
class MaintenanceConfig:
    optimize: bool
    vacuum_retention_hours: float = field(metadata=limits(ge=0.0))


@dataclass(frozen=True)
class QualityConfig:
    enforce: bool
    max_quarantine_share: float = field(metadata=limits(ge=0.0, le=1.0))
    max_volume_drop: float = field(metadata=limits(ge=0.0, le=1.0))
    volume_trailing_days: int = field(metadata=limits(ge=1, le=366))
    max_score_drift: float = field(metadata=limits(ge=0.0))
    jump_points: float = field(metadata=limits(ge=0.0, le=99.0))
    max_jump_share: float = field(metadata=limits(ge=0.0, le=1.0))


@dataclass(frozen=True)
class SynthNetworkConfig:
    account_probability: float = field(metadata=limits(ge=0.0, le=1.0))
    activity_share: float = field(metadata=limits(gt=0.0))
    actions: Mapping[str, float] = field(metadata=limits(ge=0.0))


@dataclass(frozen=True)
class SynthConfig:
    seed: int
    people: int = field(metadata=limits(ge=10))
    days: int = field(metadata=limits(ge=1))
    start_date: dt.date
    interactions_per_day: int = field(metadata=limits(ge=1))
    communities: int = field(metadata=limits(ge=1))
    community_affinity: float = field(metadata=limits(ge=0.0, le=1.0))
    influence_alpha: float = field(metadata=limits(gt=0.0))
    activity_alpha: float = field(metadata=limits(gt=0.0))
    celebrities: int = field(metadata=limits(ge=0))
    celebrity_boost: float = field(metadata=limits(ge=1.0))
    bot_share: float = field(metadata=limits(ge=0.0, lt=1.0))
    ring_size: int = field(metadata=limits(ge=2))
    ring_reactions_per_bot_per_day: int = field(metadata=limits(ge=0))
    bought_followers: int = field(metadata=limits(ge=0))
    link_probability: float = field(metadata=limits(ge=0.0, le=1.0))
    followers_per_influence: float = field(metadata=limits(gt=0.0))
    posts_per_day: float = field(metadata=limits(gt=0.0))
    content_types: Mapping[str, float] = field(metadata=limits(ge=0.0))
    networks: Mapping[str, SynthNetworkConfig]
    partitions: int = field(metadata=limits(ge=0))
    slot_resolution: float = field(metadata=limits(gt=0.0))
    elite_share: float = field(metadata=limits(ge=0.0, le=1.0))
    elite_affinity: float = field(metadata=limits(ge=0.0, le=1.0))
    follower_sigma: float = field(metadata=limits(ge=0.0))


@dataclass(frozen=True)
class Config:
    warehouse: str
    spark: SparkConfig
    networks: Mapping[str, float] = field(metadata=limits(ge=0.0))
    actions: Mapping[str, float] = field(metadata=limits(ge=0.0))
    action_aliases: Mapping[str, str]
    content_types: Mapping[str, float] = field(metadata=limits(ge=0.0))
    ingest: IngestConfig
    features: FeaturesConfig
    graph: GraphConfig
    score: ScoreConfig
    maintenance: MaintenanceConfig
    quality: QualityConfig
    synth: SynthConfig

    def __post_init__(self) -> None:
        """Cross-references: every alias, adapter and synthetic network or action must name a declared one."""
        nets, acts = ("a network (networks.*)", self.networks), ("a canonical action (actions.*)", self.actions)
        _check_refs("action_aliases", self.action_aliases, *acts)
        _check_refs("ingest.higgs", {"network": self.ingest.higgs.network}, *nets)
        _check_refs("ingest.klout_opendata.network_codes", self.ingest.klout_opendata.network_codes, *nets)
        _check_refs("ingest.klout_opendata.actions", {k: k for k in self.ingest.klout_opendata.actions}, *nets)
        _check_refs("synth.networks", {k: k for k in self.synth.networks}, *nets)
        for net, cfg in self.synth.networks.items():
            _check_refs(f"synth.networks.{net}.actions", {k: k for k in cfg.actions}, *acts)
        _check_refs(
            "synth.content_types",
            {k: k for k in self.synth.content_types},
            "a content type (content_types.*)",
            self.content_types,
        )

    def canonical_action(self, label: str) -> str:
        """The canonical action for a raw label (an alias or already canonical)."""
        return self.action_aliases.get(label, label)

    @property
    def warehouse_root(self) -> str:
        """The warehouse's root as Spark and Delta are handed it: a URI as given, a local path made absolute."""
        return resolved(self.warehouse)

    def fingerprint(self) -> str:
        """Stable hash of the settings that decide the results, recorded in the run log so reruns can be compared;
        where the tables live, how Spark or maintenance run and the quality gates' thresholds (they decide whether
        a result is published, never what it is) are left out."""
        decisive = {
            k: v for k, v in to_plain(self).items() if k not in ("warehouse", "spark", "maintenance", "quality")
        }
        return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]


def _check_refs(section: str, refs: Mapping[str, str], what: str, allowed: Mapping) -> None:
    """Fail on the first `section.key = value` whose value is not a key of `allowed`."""
    for key, value in refs.items():
        if value not in allowed:
            raise ConfigError(f"{section}.{key} = {value!r}: not {what}; allowed: {', '.join(sorted(allowed))}")


# ---------------------------------------------------------------------------------------------------------------------
# Loading: files → merged plain dict → typed objects.
# ---------------------------------------------------------------------------------------------------------------------

CONF_DIR_ENV = "KLOUT_CONF_DIR"


# where scripts/package.sh puts a copy of conf/default.yaml inside the built package (never in the source tree)
PACKAGED_CONF = "_conf"


def default_conf_dir() -> Traversable:
    """Where `default.yaml` lives: $KLOUT_CONF_DIR, else the checkout's `conf/`, else the copy inside a built
    package (a wheel or a `--py-files` zip on a cluster, no checkout there; read in place, even from a zip), else
    `./conf`."""
    if os.environ.get(CONF_DIR_ENV):
        return Path(os.environ[CONF_DIR_ENV])
    beside_package = Path(__file__).resolve().parent.parent / "conf"
    if (beside_package / "default.yaml").is_file():
        return beside_package
    packaged = importlib.resources.files("klout") / PACKAGED_CONF
    if packaged.joinpath("default.yaml").is_file():
        return packaged  # a Traversable: a Path, or a zipfile.Path inside a zip, both readable by _read_yaml
    return Path.cwd() / "conf"


def load_config(
    files: list[str] | tuple[str, ...] = (), sets: list[str] | tuple[str, ...] = (), conf_dir: Path | None = None
) -> Config:
    """Merge default.yaml, each overlay file in order, then each `key.path=value`; validate into a `Config`."""
    base = (conf_dir or default_conf_dir()) / "default.yaml"
    merged = _read_yaml(base)
    for f in files:
        _deep_merge(merged, _read_yaml(Path(f)), prefix="")
    for s in sets:
        _apply_set(merged, s)
    return build(Config, merged, "")


def _read_yaml(path: Traversable) -> dict:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, ValueError) as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: top level must be a mapping, got {type(data).__name__}")
    return data


def _deep_merge(into: dict, overlay: dict, prefix: str) -> None:
    for k, v in overlay.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _deep_merge(into[k], v, f"{prefix}{k}.")
        else:
            into[k] = v


def _apply_set(merged: dict, assignment: str) -> None:
    """Apply one `key.path=value`. The value is YAML (so `true`, `3`, `[a, b]` have types) unless the key is a string
    setting. Under a mapping of scalars (like `spark.conf`) the rest of the path is one key, dots included."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected key.path=value")
    parts, leaf_type = _split_key(key.strip())
    if _unwrap_optional(leaf_type) is str:
        value: Any = None if leaf_type is not str and raw in ("null", "~") else raw
    else:
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except (yaml.YAMLError, ValueError) as e:
            raise ConfigError(f"--set {assignment!r}: value is not valid YAML: {e}") from e
    node = merged
    for i, p in enumerate(parts[:-1]):
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: i + 1])} is a value, not a section")
        node = nxt
    node[parts[-1]] = value


def _split_key(key: str) -> tuple[list[str], Any]:
    """Split a dotted key along the Config schema; return the parts and the leaf's type (None when unknown)."""
    tp: Any = Config
    parts = key.split(".")
    for i, name in enumerate(parts):
        tp = _unwrap_optional(tp)
        if dataclasses.is_dataclass(tp):
            tp = typing.get_type_hints(tp).get(name)
        elif typing.get_origin(tp) in (Mapping, dict):
            value_type = typing.get_args(tp)[1]
            scalar = _unwrap_optional(value_type)
            if not dataclasses.is_dataclass(scalar) and typing.get_origin(scalar) not in (Mapping, dict):
                return parts[:i] + [".".join(parts[i:])], value_type
            tp = value_type
        else:
            return parts, None
        if tp is None:
            return parts, None
    return parts, tp


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_describe(a) for a in args) + " or null"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(tp))
    if origin in (Mapping, dict):
        return f"a mapping of names to {_describe(typing.get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "a section with keys " + ", ".join(f.name for f in dataclasses.fields(tp))
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        dt.date: "a date (YYYY-MM-DD)",
    }.get(tp, str(tp))


def _bounds_text(bounds: dict) -> str:
    ops = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{ops[k]} {v}" for k, v in bounds.items())


def build(tp: Any, value: Any, path: str, bounds: dict | None = None) -> Any:
    """Convert a plain YAML value into type `tp`, raising ConfigError with `path` on any mismatch."""
    where = path or "<root>"
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return None if value is None else build(_unwrap_optional(tp), value, path, bounds)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):  # a dataclass itself, never an instance of one
        if not isinstance(value, dict):
            raise ConfigError(f"{where} = {value!r}: must be {_describe(tp)}")
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ConfigError(
                f"{_join(path, unknown[0])}: unknown key; allowed keys under {where}: {', '.join(fields)}"
            )
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for name, f in fields.items():
            if name not in value:
                raise ConfigError(f"{_join(path, name)}: missing; expected {_describe(hints[name])}")
            kwargs[name] = build(hints[name], value[name], _join(path, name), f.metadata.get("bounds"))
        return tp(**kwargs)
    if origin in (Mapping, dict):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{where} = {value!r}: must be {_describe(tp)}")
        _, vt = typing.get_args(tp)
        return types.MappingProxyType({str(k): build(vt, v, _join(path, str(k)), bounds) for k, v in value.items()})
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where} = {value!r}: must be one of {', '.join(map(str, allowed))}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r}: must be true or false")
        return value
    if tp in (int, float):
        ok = isinstance(value, int) if tp is int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            raise ConfigError(
                f"{where} = {value!r}: must be {_describe(tp)}" + (f" {_bounds_text(bounds)}" if bounds else "")
            )
        value = tp(value)
        ops = {"ge": value.__ge__, "gt": value.__gt__, "le": value.__le__, "lt": value.__lt__}
        checks = bounds or {}
        for op, limit in checks.items():
            if not ops[op](limit):
                raise ConfigError(f"{where} = {value!r}: out of range; must be {_describe(tp)} {_bounds_text(checks)}")
        return value
    if tp is str:
        if not isinstance(value, str) or value == "":
            raise ConfigError(f"{where} = {value!r}: must be a non-empty string")
        return value
    if tp is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{where} = {value!r}: must be a date (YYYY-MM-DD)") from None
    raise TypeError(f"unsupported config type {tp!r} at {where}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def to_plain(obj: Any) -> Any:
    """The inverse of `build`: plain dicts, lists and scalars (for printing and hashing)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj
