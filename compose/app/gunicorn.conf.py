# gunicorn for Vedfolnir: one eventlet worker (Socket.IO needs sticky sessions), RQ workers integrated.
import os

bind = "0.0.0.0:5000"
worker_class = "eventlet"
workers = int(os.environ.get("GUNICORN_WORKERS", "1"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = "*"
