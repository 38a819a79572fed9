# syntax=docker/dockerfile:1
# syncd's container image. Build from the repository root:
#   docker build -t syncd:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# The Helm chart (charts/syncd) runs it as `syncd run -c /etc/syncd/config.yaml`.
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: wheels for syncd and every dependency (no compiler needed: all ship wheels) ---
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncd ./syncd
COPY adapters ./adapters
RUN pip wheel --wheel-dir /wheels .

# --- final: the wheels installed on a clean slim Python; no build tools, no sources ---
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="syncd" \
      org.opencontainers.image.description="Keep Istio ServiceEntries equal to what service registries say" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# The wheels are bind-mounted from the builder, so they never land in a layer of this image.
# setuptools/wheel are build tools; `pip check` proves nothing installed needs them.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels syncd \
 && pip uninstall -y setuptools wheel \
 && pip check \
 && syncd --version \
 && groupadd --system --gid 65532 syncd \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin syncd
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["syncd"]
CMD ["run", "-c", "/etc/syncd/config.yaml"]
