"""OpenCohort's Python client: aggregate-only research queries from notebooks and scripts.

Standard library only (urllib, json); Python >= 3.9. See README.md beside this package.
"""

from .client import ApiError, AuthError, Client, QueryRefused, Result

__all__ = ["ApiError", "AuthError", "Client", "QueryRefused", "Result"]
__version__ = "0.1.0"
