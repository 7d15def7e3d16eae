"""A raw-GraphQL driver for the sandbox tests (deliberately not the project's kraken client)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from sandbox.kraken.browser import press_consent

ACCOUNT = "A-SANDBOX1"
LIST_STEPS = (
    "SelectDeviceType",
    "SelectVehicleMake",
    "SelectVehicleVariant",
    "SelectChargePointMake",
    "SelectChargePointVariant",
    "SelectHeatPumpMake",
    "SelectHeatPumpVariant",
    "SelectInverterMake",
    "SelectInverterSystemType",
    "SelectSessionDevice",
    "SelectUserVehicle",
)
ITEM_FIELDS = """
  ... on SelectDeviceTypeListItem { label }
  ... on SelectHeatPumpMakeListItem { label }
  ... on SelectHeatPumpVariantListItem { label }
  ... on SelectInverterSystemTypeListItem { label }
  ... on SelectInverterMakeListItem { inverterMake { make } }
  ... on SelectSessionDeviceListItem { sessionDevice { id make model name } }
  ... on SelectVehicleMakeListItem { vehicleMake { make } }
  ... on SelectVehicleVariantListItem {
    vehicleVariant { make models { model vehicleId isIntegrationLive supportedProviders } }
  }
  ... on SelectChargePointMakeListItem { chargePointMake { make } }
  ... on SelectChargePointVariantListItem {
    chargePointVariant { make models { model supportedProviders } }
  }
  ... on SelectUserVehicleListItem { vehicle { displayName vin model } }
"""
STEP_FRAGMENT = (
    "fragment Step on SmartFlexOnboardingStepInterface { __typename id "
    + " ".join(
        f"... on {kind} {{ selectedOptionId options {{ id {ITEM_FIELDS} }} }}"
        for kind in LIST_STEPS
    )
    + """
  ... on SelectVehicleOrChargePoint { selectedIntegration }
  ... on AuthFlow { authorizationUri redirectUri error { message } }
  ... on TeslaSetupVirtualKey { key uri }
  ... on TeslaModifyScopes { modifyScopesUri redirectUri }
  ... on TeslaRegistrationFailed { modifyScopesSelected }
  ... on TerminalError { errors { errorCode description } }
  ... on UserActionRequired { userActions { userAction description uri } }
  ... on UserInputRequired {
    userInputs { key regex isRequired value isValidated } error { message }
  }
  ... on TestCharge { isReady isStarted error { errorType reasons message descriptions } }
  ... on SmartFlexOnboardingDeviceRegistration { deviceRegistered }
  ... on WaitForLiveIntegration { isLive }
}"""
)
WIZARD_FIELDS = """id isComplete isRewindable deviceType displayName
  resumable { isResumable resumableReasons }
  currentStep { ...Step } completedSteps { ...Step }"""
READ_WIZARD = (
    f"query Wizard($id: ID) {{ smartFlexOnboardingWizard(wizardId: $id) {{ {WIZARD_FIELDS} }} }}"
    + STEP_FRAGMENT
)
POLL_SECONDS = 60.0
WAIT_STEPS = {
    "SmartFlexOnboardingDeviceRegistration",
    "WaitForTransition",
    "WaitForLiveIntegration",
}

MUTATIONS = {
    "start": ("startSmartFlexOnboarding", "StartSmartFlexOnboardingInput"),
    "cancel": ("cancelSmartFlexOnboarding", "CancelSmartFlexOnboardingInput"),
    "select": ("selectFromListForSmartFlexOnboarding", "SelectFromListInput"),
    "integration": (
        "selectVehicleOrChargePointForSmartFlexOnboarding",
        "SelectVehicleOrChargePointInput",
    ),
    "auth": ("completeAuthFlowForSmartFlexOnboarding", "CompleteAuthFlowInput"),
    "virtual_key": (
        "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
        "CompleteSmartFlexOnboardingStepInput",
    ),
    "user_action": (
        "completeUserActionForSmartFlexOnboarding",
        "CompleteSmartFlexOnboardingStepInput",
    ),
    "user_input": ("completeUserInputRequiredForSmartFlexOnboarding", "UserInputRequiredInput"),
    "test_charge": (
        "startTestChargeForSmartFlexOnboarding",
        "CompleteSmartFlexOnboardingStepInput",
    ),
    "reauth": ("startReAuthentication", "StartReAuthenticationInput"),
    "retry": ("completeRetryForSmartFlexOnboarding", "CompleteSmartFlexOnboardingStepInput"),
}


# Everything `devices` shows about a device after LIVE (the bot's device card).
DEVICE_FIELDS = """__typename id name deviceType provider integrationDeviceId propertyId
  status { current currentState isSuspended
    ... on SmartFlexVehicleStatus { stateOfCharge stateOfChargeLimit testDispatchFailureReason } }
  alerts { message publishedAt }
  reAuthenticationState { isEligible }
  preferences { mode unit targetType
    ... on SmartFlexDevicePreferences { gridExport isChargingDurationCapped }
    schedules { dayOfWeek time max min } }
  preferenceSetting { deviceType mode unit
    scheduleSettings { min max step timeFrom timeTo timeStep } }
  ... on SmartFlexVehicle { make model chargingPreferences {
    weekdayTargetSoc weekdayTargetTime weekendTargetSoc weekendTargetTime } }"""
HEAT_PUMP_FIELDS = """heatPumpDevice { id zone climateControlEnabled hotWaterEnabled roomTemperature
  minRoomTemperature maxRoomTemperature roomTemperatureStep }"""


class KrakenError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["extensions"].get("errorCode"))
        self.errors = errors
        self.code = errors[0]["extensions"].get("errorCode")
        self.extensions: dict[str, Any] = errors[0]["extensions"]


Chooser = Callable[[dict[str, Any]], bool]


class Driver:
    """Speaks GraphQL to the sandbox the way any Kraken client would."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        auth = token if token is not None else self.token
        headers = {"Authorization": auth} if auth else {}
        response = await self.http.post(
            "/v1/graphql/", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.raw(query, variables)
        if body.get("errors"):
            raise KrakenError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    async def login(self, api_key: str = "sandbox-api-key") -> dict[str, Any]:
        data = await self.gql(
            "mutation($k: String) { obtainKrakenToken(input: {APIKey: $k}) "
            "{ token refreshToken refreshExpiresIn payload } }",
            {"k": api_key},
        )
        token: dict[str, Any] = data["obtainKrakenToken"]
        self.token = token["token"]
        return token

    async def mutate(self, name: str, **input: Any) -> dict[str, Any]:
        field, input_type = MUTATIONS[name]
        query = (
            f"mutation M($input: {input_type}!) {{ {field}(input: $input) "
            f"{{ wizard {{ {WIZARD_FIELDS} }} }} }}" + STEP_FRAGMENT
        )
        data = await self.gql(query, {"input": input})
        wizard: dict[str, Any] = data[field]["wizard"]
        return wizard

    async def trigger_test_charge(self, account: str = ACCOUNT) -> dict[str, Any]:
        return await self.raw(
            "mutation($a: String!) { triggerTestCharge(input: {accountNumber: $a}) "
            "{ krakenflexDevice { krakenflexDeviceId provider } } }",
            {"a": account},
        )

    async def start(self, account: str = ACCOUNT, property_id: int = 1) -> dict[str, Any]:
        return await self.mutate("start", accountNumber=account, propertyId=property_id)

    async def read(self, wizard_id: str) -> dict[str, Any]:
        data = await self.gql(READ_WIZARD, {"id": wizard_id})
        wizard: dict[str, Any] = data["smartFlexOnboardingWizard"]
        return wizard

    async def select(self, wizard: dict[str, Any], chooser: Chooser) -> dict[str, Any]:
        step = wizard["currentStep"]
        option = next(o for o in step["options"] if chooser(o))
        return await self.mutate(
            "select", wizardId=wizard["id"], stepId=step["id"], selectedOption=option["id"]
        )

    async def advance_clock(self, seconds: float) -> None:
        response = await self.http.post("/sandbox/clock", json={"advanceSeconds": seconds})
        assert response.status_code == 200

    async def consent(self, step: dict[str, Any], decision: str = "allow") -> str:
        """Open the fake provider page and press a button; returns where the browser lands."""
        assert "Allow" in (await self.http.get(step["authorizationUri"])).text
        return await press_consent(self.http, step["authorizationUri"], allow=decision == "allow")

    async def devices(self, account: str = ACCOUNT) -> list[dict[str, Any]]:
        data = await self.gql(
            "query($a: String!) { devices(accountNumber: $a) { __typename id name provider "
            "deviceType integrationDeviceId propertyId status { current currentState isSuspended } "
            "onboardingWizard { id } } }",
            {"a": account},
        )
        devices: list[dict[str, Any]] = data["devices"]
        return devices

    async def device(self, device_id: str, account: str = ACCOUNT) -> dict[str, Any]:
        """One device as `devices(deviceId: ...)` shows it, with every field after LIVE."""
        data = await self.gql(
            f"query($a: String!, $d: String) {{ devices(accountNumber: $a, deviceId: $d) "
            f"{{ {DEVICE_FIELDS} }} }}",
            {"a": account, "d": device_id},
        )
        (device,) = data["devices"]
        found: dict[str, Any] = device
        return found

    async def device_mutation(
        self, field: str, input_type: str, given: dict[str, Any], fields: str = DEVICE_FIELDS
    ) -> dict[str, Any]:
        """A device mutation's raw answer (`data` and/or `errors`)."""
        return await self.raw(
            f"mutation($i: {input_type}) {{ {field}(input: $i) {{ {fields} }} }}", {"i": given}
        )

    async def hook(
        self, device_id: str, name: str, method: str = "POST", **body: Any
    ) -> dict[str, Any]:
        """`/sandbox/devices/<id>/<name>`: what the outside world does to a device."""
        response = await self.http.request(
            method, f"/sandbox/devices/{device_id}/{name}", json=body
        )
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def now(self) -> float:
        return float((await self.http.get("/sandbox/health")).json()["now"])

    async def follow(
        self,
        wizard: dict[str, Any],
        choices: Mapping[str, Chooser | str],
        *,
        max_steps: int = 120,
        stop_at: str | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """Complete whatever the current step asks for until the wizard ends or gets stuck.

        Returns the last wizard read and the typenames of every step instance seen.
        """
        seen: list[str] = []
        last_id = None
        for _ in range(max_steps):
            step = wizard["currentStep"]
            if step is None:
                return wizard, seen
            kind = step["__typename"]
            if kind == stop_at:
                return wizard, seen
            if step["id"] != last_id:
                seen.append(kind)
                last_id = step["id"]
            ids = {"wizardId": wizard["id"], "stepId": step["id"]}
            if kind in LIST_STEPS:
                choice = choices[kind]
                assert callable(choice), kind
                wizard = await self.select(wizard, choice)
            elif kind == "SelectVehicleOrChargePoint":
                wizard = await self.mutate("integration", selectedIntegration=choices[kind], **ids)
            elif kind in ("AuthFlow", "TeslaModifyScopes"):
                link = step.get("authorizationUri") or step["modifyScopesUri"]
                landing = await press_consent(self.http, link)
                wizard = await self.mutate("auth", continuationUri=landing, **ids)
            elif kind == "TeslaRegistrationFailed":
                remedy = choices[kind]
                assert isinstance(remedy, str), kind
                wizard = await self.mutate("select", selectedOption=remedy, **ids)
            elif kind == "Retry":
                wizard = await self.mutate("retry", **ids)
            elif kind == "TeslaSetupVirtualKey":
                wizard = await self.mutate("virtual_key", **ids)
            elif kind == "UserActionRequired":
                wizard = await self.mutate("user_action", **ids)
            elif kind == "UserInputRequired":
                wizard = await self.mutate("user_input", userInputs=choices[kind], **ids)
            elif kind == "TestCharge" and not step["isStarted"]:
                wizard = await self.mutate("test_charge", **ids)
            elif kind in WAIT_STEPS or kind == "TestCharge":
                await self.advance_clock(POLL_SECONDS)
                wizard = await self.read(wizard["id"])
            else:
                return wizard, seen
        raise AssertionError(f"wizard did not finish in {max_steps} steps: {seen}")


def label(text: str) -> Chooser:
    return lambda option: option.get("label") == text


def make(name: str) -> Chooser:
    return lambda o: (o.get("vehicleMake") or o.get("chargePointMake") or {}).get("make") == name


def variant(model: str) -> Chooser:
    def choose(option: dict[str, Any]) -> bool:
        group = option.get("vehicleVariant") or option.get("chargePointVariant") or {}
        return any(m["model"] == model for m in group.get("models", []))

    return choose


def first(option: dict[str, Any]) -> bool:
    return True
