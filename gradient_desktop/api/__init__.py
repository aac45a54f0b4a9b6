"""Async client of Gradient MSP's Vendor API (no Qt): ``VendorApiClient`` and friends.

```python
from gradient_desktop.api import VendorApiClient, Credentials, ClientOptions
async with VendorApiClient(base_url, Credentials(vendor_key, partner_key)) as client:
    integration = await client.get_integration()
```
"""

from .auth import TOKEN_HEADER, Credentials
from .bulk import CountRow, ProgressEvent, PushReport, RowResult, push_counts
from .client import VendorApiClient
from .errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    InsecureUrlError,
    NetworkError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProxyRefusedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    TimeoutError_,
    UnmappedError,
    ValidationError,
)
from .models import (
    INTEGRATION_STATUSES,
    SERVICE_CATEGORIES,
    SERVICE_SUBCATEGORIES,
    Account,
    AccountUpdate,
    AlertCreated,
    AlertRequest,
    AlertStatus,
    ClientsPage,
    CountResult,
    Integration,
    NewAccount,
    NewOrgService,
    OrgService,
    OrgServiceUpdate,
    PsaClient,
    Sku,
    Vendor,
)
from .options import API_PREFIX, DEFAULT_BASE_URL, ClientOptions, LegacyPaths
from .ratelimit import TokenBucket
from .transport import PROXY_MODES, ProxyChoice

__all__ = [
    "API_PREFIX",
    "DEFAULT_BASE_URL",
    "INTEGRATION_STATUSES",
    "PROXY_MODES",
    "SERVICE_CATEGORIES",
    "SERVICE_SUBCATEGORIES",
    "TOKEN_HEADER",
    "Account",
    "AccountUpdate",
    "AlertCreated",
    "AlertRequest",
    "AlertStatus",
    "ApiError",
    "AuthenticationError",
    "ClientOptions",
    "ClientsPage",
    "ConflictError",
    "CountResult",
    "CountRow",
    "Credentials",
    "InsecureUrlError",
    "Integration",
    "LegacyPaths",
    "NetworkError",
    "NewAccount",
    "NewOrgService",
    "NotFoundError",
    "OrgService",
    "OrgServiceUpdate",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "ProgressEvent",
    "ProxyChoice",
    "ProxyRefusedError",
    "PsaClient",
    "PushReport",
    "RateLimitError",
    "ResponseFormatError",
    "RowResult",
    "ServerError",
    "Sku",
    "TimeoutError_",
    "TokenBucket",
    "UnmappedError",
    "ValidationError",
    "Vendor",
    "VendorApiClient",
    "push_counts",
]
