"""OpenADR 3.1 (REST/JSON, OAuth2 client credentials, MQTT and webhook notifications) beside 2.0b."""

from homeflex.vtn.oadr3.auth import provision_client
from homeflex.vtn.oadr3.service import PREFIX, Oadr3Service

__all__ = ["PREFIX", "Oadr3Service", "provision_client"]
