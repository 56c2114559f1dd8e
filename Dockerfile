# Flywheel CRM: one image for the web process, the Celery worker and Celery beat.
# docker-compose.yml runs it three times with different commands; see docs/deploy.md.
FROM python:3.11-slim

# gunicorn takes its worker count from WEB_CONCURRENCY; override it per deployment.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=flywheel_crm.settings.production \
    WEB_CONCURRENCY=3

# The app runs unprivileged and cannot write to its own code.
# Its home holds gunicorn's control socket (~/.gunicorn) for `gunicornc`.
RUN groupadd --system --gid 1000 flywheel \
    && useradd --system --uid 1000 --gid flywheel --create-home --home-dir /home/flywheel \
        --shell /usr/sbin/nologin flywheel

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY . .

# Static files are collected into the image (whitenoise serves them). Production settings
# insist on a secret key and allowed hosts; these dummies exist only for this one command
# and are not part of the image's environment.
RUN DJANGO_SECRET_KEY=build-only-collectstatic-not-a-secret \
    DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

USER flywheel

EXPOSE 8000

# Workers keep their heartbeat files in memory (/dev/shm), not on the container's overlay disk.
CMD ["gunicorn", "flywheel_crm.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--access-logfile", "-", \
     "--worker-tmp-dir", "/dev/shm"]
