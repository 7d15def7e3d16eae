"""The ways the client can prove who it is to `obtainKrakenToken`."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import BaseModel, ConfigDict, SecretStr


class _Credentials(BaseModel, ABC):
    model_config = ConfigDict(frozen=True)

    @abstractmethod
    def token_input(self) -> dict[str, str]:
        """The `ObtainJSONWebTokenInput` fields (holds secrets: never log it)."""

    def secrets(self) -> list[str]:
        return list(self.token_input().values())


class ApiKeyCredentials(_Credentials):
    """Organisation API key: what the bot uses in production."""

    api_key: SecretStr

    def token_input(self) -> dict[str, str]:
        return {"APIKey": self.api_key.get_secret_value()}


class RefreshTokenCredentials(_Credentials):
    """A (long-lived) refresh token issued earlier."""

    refresh_token: SecretStr

    def token_input(self) -> dict[str, str]:
        return {"refreshToken": self.refresh_token.get_secret_value()}


class PasswordCredentials(_Credentials):
    """An account user's email and password (for development against a sandbox)."""

    email: str
    password: SecretStr

    def token_input(self) -> dict[str, str]:
        return {"email": self.email, "password": self.password.get_secret_value()}

    def secrets(self) -> list[str]:
        return [self.password.get_secret_value()]


Credentials = ApiKeyCredentials | RefreshTokenCredentials | PasswordCredentials
