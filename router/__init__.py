"""omniroute's routing core, stores, service and edges.

Importing this package is cheap on purpose: the pure core (`router.engine`) must be
usable without FastAPI, Redis or asyncio being imported.
"""
