"""Users, roles and API tokens: who is calling, and what they may do."""

from lowalt.identity.model import Principal, Refusal, Role
from lowalt.identity.tokens import hash_token, new_token

__all__ = ["Principal", "Refusal", "Role", "hash_token", "new_token"]
