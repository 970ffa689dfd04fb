"""The JSON API v1 (django-ninja): problem+json errors, token and session auth, endpoints."""
