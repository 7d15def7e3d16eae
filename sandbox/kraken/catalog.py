"""The device catalog (`catalog.json`): what the wizard offers and what `electricVehicles` and
`chargePointVariants` serve. Option ids are derived here so every list step uses one scheme."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

CATALOG_PATH = Path(__file__).with_name("catalog.json")
NO_CHARGE_POINT = "cp-make:none"
NO_VEHICLE = "ev-make:none"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class _Integrated:
    """Catalog rows that say which providers integrate them and whether that is live."""

    raw: dict[str, Any]

    @property
    def providers(self) -> list[str]:
        return list(self.raw["supportedProviders"])

    @property
    def is_live(self) -> bool:
        return bool(self.raw["isIntegrationLive"]) and bool(self.raw["supportedProviders"])


@dataclass(frozen=True)
class _Variant(_Integrated):
    """A catalog model row; subclasses say which field is its id and how ids are spelled."""

    make: str
    raw: dict[str, Any]
    id_field: ClassVar[str]
    id_prefix: ClassVar[str]

    @property
    def option_id(self) -> str:
        return f"{self.id_prefix}:{self.raw[self.id_field]}"

    @property
    def model(self) -> str:
        return str(self.raw["model"])

    @property
    def display_name(self) -> str:
        return f"{self.make} {self.model}"


@dataclass(frozen=True)
class EvVariant(_Variant):
    id_field = "vehicleId"
    id_prefix = "ev"


@dataclass(frozen=True)
class ChargePointVariant(_Variant):
    id_field = "variantId"
    id_prefix = "cp"


@dataclass(frozen=True)
class _Make(_Integrated):
    """A catalog row that is a whole make (heat pumps, batteries and inverters)."""

    raw: dict[str, Any]
    id_prefix: ClassVar[str]

    @property
    def make(self) -> str:
        return str(self.raw["make"])

    @property
    def option_id(self) -> str:
        return f"{self.id_prefix}:{slug(self.make)}"


@dataclass(frozen=True)
class HeatPumpMake(_Make):
    id_prefix = "hp-make"

    @property
    def display_name(self) -> str:
        return f"{self.make} heat pump"


@dataclass(frozen=True)
class HeatPumpVariant:
    make: HeatPumpMake
    model: str

    @property
    def option_id(self) -> str:
        return f"hp:{slug(self.make.make)}:{slug(self.model)}"


@dataclass(frozen=True)
class SessionDevice:
    """A device the customer's account at the manufacturer holds."""

    id: str
    device_type: str
    make: str
    model: str
    name: str

    @property
    def option_id(self) -> str:
        return f"session:{self.id}"


@dataclass(frozen=True)
class InverterMake(_Make):
    """A battery / solar inverter make and the devices its sandbox customer account holds."""

    id_prefix = "inverter-make"

    def serves(self, device_type: str) -> bool:
        return device_type in self.raw["deviceTypes"]

    def devices(self, device_type: str) -> list[SessionDevice]:
        return [
            SessionDevice(d["id"], d["deviceType"], self.make, d["model"], d["name"])
            for d in self.raw["devices"]
            if d["deviceType"] == device_type
        ]


class Catalog:
    """Read-only view over catalog.json with the lookups the wizard needs."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._ev_makes: list[dict[str, Any]] = data["electricVehicles"]
        self._cp_makes: list[dict[str, Any]] = data["chargePoints"]
        self.heat_pumps = [HeatPumpMake(raw) for raw in data["heatPumps"]]
        self.inverters = [InverterMake(raw) for raw in data["inverters"]]
        self._ev_variants = {
            v.option_id: v
            for make in self._ev_makes
            for v in (EvVariant(make["make"], raw) for raw in make["models"])
        }
        self._cp_variants = {
            v.option_id: v
            for make in self._cp_makes
            for v in (ChargePointVariant(make["make"], raw) for raw in make["models"])
        }

    # --- GraphQL catalog queries -------------------------------------------------------------

    def electric_vehicles(
        self, make: str | None = None, provider: str | None = None, live: bool | None = None
    ) -> list[dict[str, Any]]:
        result = []
        for entry in self._ev_makes:
            if make is not None and entry["make"].lower() != make.lower():
                continue
            models = [
                m
                for m in entry["models"]
                if (provider is None or provider in m["supportedProviders"])
                and (live is None or m["isIntegrationLive"] == live)
            ]
            if models:
                result.append({"make": entry["make"], "models": models})
        return result

    def charge_point_variants(self) -> list[dict[str, Any]]:
        return [{"make": e["make"], "models": e["models"]} for e in self._cp_makes]

    # --- wizard options ----------------------------------------------------------------------

    def ev_make_options(self) -> list[tuple[str, dict[str, Any]]]:
        return [(f"ev-make:{slug(e['make'])}", e) for e in self._ev_makes]

    def ev_variants_of(self, make_option: str) -> list[EvVariant]:
        return [v for v in self._ev_variants.values() if f"ev-make:{slug(v.make)}" == make_option]

    def ev_variant(self, option_id: str) -> EvVariant | None:
        return self._ev_variants.get(option_id)

    def cp_make_options(self) -> list[tuple[str, dict[str, Any]]]:
        return [(f"cp-make:{slug(e['make'])}", e) for e in self._cp_makes]

    def cp_variants_of(self, make_option: str) -> list[ChargePointVariant]:
        return [v for v in self._cp_variants.values() if f"cp-make:{slug(v.make)}" == make_option]

    def cp_variant(self, option_id: str) -> ChargePointVariant | None:
        return self._cp_variants.get(option_id)

    def heat_pump(self, option_id: str) -> HeatPumpMake | None:
        return next((h for h in self.heat_pumps if h.option_id == option_id), None)

    def heat_pump_variants(self, make_option: str) -> list[HeatPumpVariant]:
        make = self.heat_pump(make_option)
        return [] if make is None else [HeatPumpVariant(make, m) for m in make.raw["models"]]

    def heat_pump_variant(self, make_option: str, option_id: str) -> HeatPumpVariant | None:
        variants = self.heat_pump_variants(make_option)
        return next((v for v in variants if v.option_id == option_id), None)

    def inverter_makes(self, device_type: str) -> list[InverterMake]:
        return [i for i in self.inverters if i.serves(device_type)]

    def inverter(self, option_id: str) -> InverterMake | None:
        return next((i for i in self.inverters if i.option_id == option_id), None)


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    with path.open(encoding="utf-8") as handle:
        return Catalog(json.load(handle))
