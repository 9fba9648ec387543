# Container image of the product service: `product-service serve` beside a Dapr sidecar.
# Build:  docker build -t product-service:0.1.0 .
# Stage 1 builds the wheel (the protobuf modules are generated from proto/ by the build) and
# installs it with the locked dependencies (uv.lock, hashes checked) into a virtual environment; stage 2 copies only that environment: no compilers,
# no build tools, no sources. Runs as a non-root user and writes nothing outside /tmp, so it
# works with a read-only root file system (mount an emptyDir at /tmp, as k8s/ does).
# Same Python line as development (3.11); pin a digest too where your registry allows.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /src
# The pinned uv (hash-checked) builds the wheel and exports the runtime part of uv.lock with
# hashes; pip installs exactly that, then the wheel without resolving anything.
COPY scripts/uv.requirements scripts/
RUN pip install --no-cache-dir --require-hashes --no-deps -r scripts/uv.requirements
COPY pyproject.toml uv.lock hatch_build.py README.md ./
COPY proto/ proto/
COPY service/ service/
RUN uv build --wheel --out-dir /dist . \
 && uv export --frozen --no-dev --no-emit-project --format requirements-txt -o /dist/requirements.txt \
 && python -m venv /opt/product-service \
 && /opt/product-service/bin/pip install --no-cache-dir --require-hashes -r /dist/requirements.txt \
 && /opt/product-service/bin/pip install --no-cache-dir --no-deps /dist/*.whl \
 && /opt/product-service/bin/pip check \
 && /opt/product-service/bin/product-service serve --help > /dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="product-service" \
      org.opencontainers.image.description="Stock deduction for paid orders beside a Dapr sidecar" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 product \
 && useradd --system --uid 10001 --gid product --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin product
COPY --from=build /opt/product-service /opt/product-service
# No .pyc writes at run time (read-only root); logs unbuffered; HTTP on all interfaces so the
# kubelet's probes reach it; the gRPC app channel stays on loopback for the sidecar.
ENV PATH=/opt/product-service/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PRODUCT_HTTP_HOST=0.0.0.0 \
    PRODUCT_HTTP_PORT=8080 \
    PRODUCT_GRPC_PORT=50051
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080 50051
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["product-service"]
CMD ["serve"]
