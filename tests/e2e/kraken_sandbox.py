"""The Kraken sandbox as the test operator and the customer's browser see it, over HTTP.

The operator moves the sandbox clock, injects faults and reads wizards back (to check what
Kraken itself recorded); the browser opens the manufacturer's consent page and presses a
button. Nothing here imports the bot: it is the outside world.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.kraken.browser import press_consent

API_KEY = "sandbox-api-key"
WIZARD_QUERY = """
query E2EWizard($wizardId: ID) {
  smartFlexOnboardingWizard(wizardId: $wizardId) {
    id
    currentStep { __typename id }
    completedSteps { __typename id }
  }
}
"""
WIZARDS_QUERY = """
query E2EWizards($accountNumber: String!) {
  smartFlexOnboardingWizards(accountNumber: $accountNumber, includeCancelled: true,
                             includeCompleted: true) {
    id
    currentStep { __typename id }
  }
}
"""
DEVICES_QUERY = """
query E2EDevices($accountNumber: String!) {
  devices(accountNumber: $accountNumber) { id status { current } }
}
"""


@dataclass
class KrakenSandbox:
    base_url: str

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=10.0)

    async def hook(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self._client() as http:
            response = await http.post(f"/sandbox/{path}", json=body or {})
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def advance(self, seconds: float) -> None:
        await self.hook("clock", {"advanceSeconds": seconds})

    async def fault(self, operation: str, times: int = 1, **kind: Any) -> None:
        await self.hook("faults", {"operation": operation, "times": times, **kind})

    async def clear_faults(self) -> None:
        async with self._client() as http:
            (await http.delete("/sandbox/faults")).raise_for_status()

    async def expire_tokens(self) -> None:
        await self.hook("tokens/expire")

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Ask Kraken directly, as an operator with the organisation key would."""
        async with self._client() as http:
            obtain = await http.post(
                "/v1/graphql/",
                json={
                    "query": "mutation($k:String!){obtainKrakenToken(input:{APIKey:$k}){token}}",
                    "variables": {"k": API_KEY},
                },
            )
            token = obtain.json()["data"]["obtainKrakenToken"]["token"]
            answer = await http.post(
                "/v1/graphql/",
                json={"query": query, "variables": variables},
                headers={"Authorization": token},
            )
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def wizards(self, account: str) -> list[dict[str, Any]]:
        data = await self.graphql(WIZARDS_QUERY, {"accountNumber": account})
        wizards: list[dict[str, Any]] = data["smartFlexOnboardingWizards"]
        return wizards

    async def only_wizard(self, account: str) -> dict[str, Any]:
        """The account's one wizard with its completed steps (tests give each its own account)."""
        wizards = await self.wizards(account)
        assert len(wizards) == 1, wizards
        data = await self.graphql(WIZARD_QUERY, {"wizardId": wizards[0]["id"]})
        wizard: dict[str, Any] = data["smartFlexOnboardingWizard"]
        return wizard

    async def device_statuses(self, account: str) -> list[str]:
        data = await self.graphql(DEVICES_QUERY, {"accountNumber": account})
        return [device["status"]["current"] for device in data["devices"]]

    async def consent(self, authorization_url: str, *, allow: bool) -> str:
        """Open the consent page, press Allow or Deny; returns where the browser is sent."""
        async with httpx.AsyncClient(timeout=10.0) as browser:
            return await press_consent(browser, authorization_url, allow=allow)
