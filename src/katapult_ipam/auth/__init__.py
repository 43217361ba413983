"""Who is calling and what they may do: API tokens, signed tokens, rate limits.

Nothing here speaks HTTP except the declared ``api.errors`` the authenticator raises.
"""
