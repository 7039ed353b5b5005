"""The kiosk's adapter to the government platform (政务服务平台): one module per domain (the
item catalog, bookings, cases, convenience queries, certificates, forms), all over
:class:`govplatform.http.PlatformHttp`. Imports only :mod:`core` (an import-linter contract);
``docs/gov-platform.md`` describes the API it speaks and ``upstream_sim`` simulates it.
"""
