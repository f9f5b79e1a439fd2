"""Gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`, run from the project root.

Tuned by GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_MAX_REQUESTS and
FORWARDED_ALLOW_IPS; the application's own settings are read by `saas/config.py`.
"""

import os


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default  # set but empty counts as unset


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPU pinning (taskset, cpusets)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Without these URLs every worker would start or attach to the embedded development
# servers under the instance folder: an empty, private database per container.
if os.environ.get("SAAS_ENV") == "production":
    _missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if _missing:
        raise RuntimeError(f"SAAS_ENV=production needs {' and '.join(_missing)}")

bind = _env("GUNICORN_BIND", "127.0.0.1:8000")

# Each worker process has its own SQLAlchemy pool (up to DB_POOL_SIZE + DB_MAX_OVERFLOW
# connections), so the cap keeps workers x pool within PostgreSQL's (or PgBouncer's)
# connection limit. Add hosts to scale, not workers per host.
workers = int(_env("GUNICORN_WORKERS", str(min(2 * _cores() + 1, 8))))

# Requests mostly wait on PostgreSQL and Redis; threads overlap that waiting. Keep
# threads <= DB_POOL_SIZE so a busy worker never queues for its own pool. The tenant
# and the schema switch live in context variables, which are per thread.
worker_class = "gthread"
threads = int(_env("GUNICORN_THREADS", "4"))

# Replace each worker after about this many requests (the jitter staggers restarts).
# A new worker opens new PostgreSQL backends, which drops the per-backend catalog cache
# that grows with every tenant schema a connection touches (DB_POOL_RECYCLE bounds it
# by age; this bounds it by use), and any slow Python memory growth too.
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 10

# With gthread the heartbeat comes from the worker's main loop, so `timeout` catches a
# wedged process, not one slow request: nginx's proxy_read_timeout bounds those.
timeout = 30
graceful_timeout = 30  # SIGTERM/HUP: in-flight requests get this long to finish
keepalive = 5  # longer than nginx's upstream keepalive_timeout, so nginx closes first

# False: every worker imports wsgi.py and runs create_app() after the fork, so no
# database or Redis socket is ever shared between processes (no post_fork dispose
# needed), and `kill -HUP` (systemctl reload) loads new code. It costs memory that
# copy-on-write would have shared and a slower start, both small here.
preload_app = False

# Only these peers may set X-Forwarded-Proto for gunicorn. The app's ProxyFix
# (TRUST_PROXY=1) trusts one proxy hop whatever its address, so gunicorn must be
# reachable only through that proxy.
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file is fchmod()ed constantly; on a disk (or overlayfs) that can stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# The Host header says which shop (or the platform, or the console) served the request;
# X-Forwarded-For is the client, %(h)s the proxy in front of us. %(M)s is milliseconds.
accesslog = "-"
errorlog = "-"
access_log_format = (
    '%({x-forwarded-for}i)s %(h)s %({host}i)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
)

proc_name = "storefront"
# gunicorn >= 25.1 opens a control socket under $HOME or $XDG_RUNTIME_DIR, neither
# writable under the systemd hardening; signals (HUP, TTIN, TTOU) do the same job.
# Older versions ignore the unknown setting.
control_socket_disable = True
