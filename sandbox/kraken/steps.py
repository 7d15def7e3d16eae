"""Builds the GraphQL fields of a step when the wizard enters it."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from .catalog import NO_CHARGE_POINT, NO_VEHICLE, Catalog
from .config import SandboxConfig
from .journeys import DEVICE_TYPE_LABELS, INVERTER_SYSTEMS, Target, target_of
from .models import AccountScenario, Step, Wizard

SERIAL_NUMBER_REGEX = r"[A-Z0-9]{8,20}"
OTHER_TESLA_MODELS = ("Model Y", "Model 3")
TESLA_SCOPES = "openid offline_access vehicle_device_data vehicle_cmds vehicle_charging_cmds"


def virtual_key(config: SandboxConfig) -> dict[str, str]:
    """Tesla's virtual-key pairing link, shared by the step and `providerVirtualKeyDetails`."""
    domain = urlsplit(config.public_url).hostname or "localhost"
    return {"virtualKeyName": domain, "virtualKeyUri": f"https://www.tesla.com/_ak/{domain}"}


def _item(typename: str, option_id: str, **fields: Any) -> dict[str, Any]:
    return {"__typename": typename, "id": option_id, **fields}


class StepFactory:
    def __init__(self, config: SandboxConfig, catalog: Catalog) -> None:
        self._config = config
        self._catalog = catalog

    def build(
        self,
        kind: str,
        wizard: Wizard,
        scenario: AccountScenario,
        provider: str,
        now: float,
    ) -> Step:
        step = Step(kind=kind, entered_at=now)
        builder = getattr(self, f"_{kind}", None)
        if builder is not None:
            builder(step, wizard, scenario, provider)
        return step

    # --- list steps --------------------------------------------------------------------------

    def _list(self, step: Step, options: list[dict[str, Any]]) -> None:
        step.fields.update(options=options, selectedOptionId=None)

    def _SelectDeviceType(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        types = sc.eligible_device_types or list(DEVICE_TYPE_LABELS)
        self._list(
            step,
            [
                _item("SelectDeviceTypeListItem", t, label=DEVICE_TYPE_LABELS.get(t, t))
                for t in types
            ],
        )

    def _SelectVehicleMake(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        makes = [
            _item("SelectVehicleMakeListItem", oid, vehicleMake=entry)
            for oid, entry in self._catalog.ev_make_options()
        ]
        # Last, after the makes: the car is not in the list (the charger may still do).
        unlisted = _item(
            "SelectVehicleMakeListItem",
            NO_VEHICLE,
            vehicleMake={"make": "My car is not listed", "models": []},
        )
        self._list(step, [*makes, unlisted])

    def _SelectVehicleVariant(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        variants = self._catalog.ev_variants_of(w.selection("SelectVehicleMake") or "")
        self._list(
            step,
            [
                _item(
                    "SelectVehicleVariantListItem",
                    v.option_id,
                    vehicleVariant={"make": v.make, "models": [v.raw]},
                )
                for v in variants
            ],
        )

    def _SelectChargePointMake(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        # Most drivers charge from a plain socket or an unsupported box: that answer comes first.
        none = _item(
            "SelectChargePointMakeListItem",
            NO_CHARGE_POINT,
            chargePointMake={"make": "No smart charger / not listed", "models": []},
        )
        makes = [
            _item("SelectChargePointMakeListItem", oid, chargePointMake=entry)
            for oid, entry in self._catalog.cp_make_options()
        ]
        self._list(step, [none, *makes])

    def _SelectChargePointVariant(
        self, step: Step, w: Wizard, sc: AccountScenario, _p: str
    ) -> None:
        variants = self._catalog.cp_variants_of(w.selection("SelectChargePointMake") or "")
        self._list(
            step,
            [
                _item(
                    "SelectChargePointVariantListItem",
                    v.option_id,
                    chargePointVariant={"make": v.make, "models": [v.raw]},
                    electricChargePointVariant={
                        "amperage": v.raw["amperage"],
                        "make": v.make,
                        "model": v.model,
                        "powerOutput": v.raw["powerInKw"],
                    },
                )
                for v in variants
            ],
        )

    def _SelectHeatPumpMake(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        self._list(
            step,
            [
                _item("SelectHeatPumpMakeListItem", hp.option_id, label=hp.make)
                for hp in self._catalog.heat_pumps
            ],
        )

    def _SelectHeatPumpVariant(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        variants = self._catalog.heat_pump_variants(w.selection("SelectHeatPumpMake") or "")
        self._list(
            step,
            [_item("SelectHeatPumpVariantListItem", v.option_id, label=v.model) for v in variants],
        )

    def _SelectInverterMake(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        makes = self._catalog.inverter_makes(w.selection("SelectDeviceType") or "")
        self._list(
            step,
            [
                _item("SelectInverterMakeListItem", m.option_id, inverterMake={"make": m.make})
                for m in makes
            ],
        )

    def _SelectInverterSystemType(
        self, step: Step, w: Wizard, sc: AccountScenario, _p: str
    ) -> None:
        self._list(
            step,
            [
                _item("SelectInverterSystemTypeListItem", oid, label=text)
                for oid, text in INVERTER_SYSTEMS.items()
            ],
        )

    def _SelectSessionDevice(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        target = target_of(w, self._catalog)
        devices = target.session_devices if target else ()
        self._list(
            step,
            [
                _item(
                    "SelectSessionDeviceListItem",
                    d.option_id,
                    sessionDevice={"id": d.id, "make": d.make, "model": d.model, "name": d.name},
                )
                for d in devices
            ],
        )

    def _SelectUserVehicle(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        target = target_of(w, self._catalog)
        chosen = target.model if target else "Model S"
        models = [chosen, *(m for m in OTHER_TESLA_MODELS if m != chosen)]
        count = max(2, sc.tesla_vehicles or 2)
        options = []
        for index in range(count):
            model = models[index % len(models)]
            vin = f"5YJ{model[-1].upper()}7E1EA{int(w.id) % 10**7:07d}{index % 10}"
            vehicle = {
                "brand": "Tesla",
                "displayName": f"Tesla {model}"
                + (f" #{index + 1}" if index >= len(models) else ""),
                "model": model,
                "vin": vin,
                "year": 2022 - index,
            }
            options.append(
                _item(
                    "SelectUserVehicleListItem",
                    f"vin:{vin}",
                    vehicle=vehicle,
                    userVehicle={"make": "Tesla", "models": []},
                )
            )
        self._list(step, options)

    # --- other steps -------------------------------------------------------------------------

    def _SelectVehicleOrChargePoint(
        self, step: Step, w: Wizard, sc: AccountScenario, _p: str
    ) -> None:
        step.fields["selectedIntegration"] = None

    def _consent_link(self, step: Step, provider: str, **extra: str) -> str:
        """A link to the fake provider's consent page; its redirect carries this step's state."""
        state = secrets.token_urlsafe(16)
        query = urlencode(
            {
                "client_id": "kraken-sandbox",
                "response_type": "code",
                "state": state,
                "redirect_uri": self._config.effective_redirect_uri,
                **extra,
            }
        )
        step.hidden.update(state=state, provider=provider)
        base = self._config.public_url.rstrip("/")
        return f"{base}/oauth/{provider.lower()}/authorize?{query}"

    def _AuthFlow(self, step: Step, w: Wizard, sc: AccountScenario, provider: str) -> None:
        step.fields.update(
            authorizationUri=self._consent_link(step, provider),
            redirectUri=self._config.effective_redirect_uri,
            error=None,
        )

    def _TeslaModifyScopes(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        # Inferred: Tesla's page for granting the scopes the first sign-in left out.
        link = self._consent_link(step, "TESLA", scope=TESLA_SCOPES, prompt_missing_scopes="true")
        step.fields.update(modifyScopesUri=link, redirectUri=self._config.effective_redirect_uri)

    def _TeslaRegistrationFailed(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        step.fields["modifyScopesSelected"] = None

    def _TeslaSetupVirtualKey(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        details = virtual_key(self._config)
        step.fields.update(key=details["virtualKeyName"], uri=details["virtualKeyUri"])

    def _UserInputRequired(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        step.fields.update(
            userInputs=[
                {
                    "key": "serialNumber",
                    "description": "The charger's serial number, printed on the label under "
                    "the cover (8-20 capital letters and digits).",
                    "isRequired": True,
                    "isValidated": False,
                    "isVerified": False,
                    "regex": SERIAL_NUMBER_REGEX,
                    "value": None,
                }
            ],
            error=None,
        )

    def _UserActionRequired(
        self, step: Step, w: Wizard, sc: AccountScenario, provider: str
    ) -> None:
        if provider.startswith("OCPP"):
            serial = _serial_of(w)
            ws_base = self._config.public_url.rstrip("/").replace("http", "ws", 1)
            url = f"{ws_base}/ocpp/{serial}"
            action = {
                "userAction": "CONFIGURE_OCPP",
                "description": "Open your charger's installer app, set the OCPP server URL to "
                f"{url} and restart the charger.",
                "uri": url,
            }
        else:
            target: Target | None = target_of(w, self._catalog)
            make = target.make if target else "vehicle"
            action = {
                "userAction": "USE_JEDLIX_APP",
                "description": f"Install the Jedlix app, connect your {make} and allow smart "
                "charging with your energy supplier.",
                "uri": "https://www.jedlix.com/app",
            }
        step.fields["userActions"] = [action]

    def _TestCharge(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        step.hidden["ready_from"] = step.entered_at + self._config.scaled(
            sc.vehicle_ready_after_seconds
        )
        step.fields.update(
            isReady=sc.vehicle_ready_after_seconds <= 0, isStarted=False, error=None, status=None
        )

    def _SmartFlexOnboardingDeviceRegistration(
        self, step: Step, w: Wizard, sc: AccountScenario, _p: str
    ) -> None:
        step.fields["deviceRegistered"] = False

    def _WaitForLiveIntegration(self, step: Step, w: Wizard, sc: AccountScenario, _p: str) -> None:
        step.fields["isLive"] = False


def _serial_of(wizard: Wizard) -> str:
    """The serial number the user entered on the wizard's UserInputRequired step."""
    for step in wizard.steps:
        for user_input in step.fields.get("userInputs", []):
            if user_input["key"] == "serialNumber" and user_input["value"]:
                return str(user_input["value"])
    return ""
