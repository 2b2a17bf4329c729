"""The admin portal and the JSON API: server-rendered pages over the same services as the CLI.

``hrsync.web.app.create_app()`` builds the application; ``hrsync serve`` runs it with uvicorn.
"""
