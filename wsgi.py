"""Production entry point: `gunicorn wsgi:app`."""

from truss import create_app

app = create_app()
