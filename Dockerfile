# Production image: gunicorn serving the hybrid search API on port 8080.
#
# NOTE: Docker cannot build on the development machines of this project, so this
# file has not been built here; it is kept deliberately plain so it is easy to
# review. Build and run elsewhere with:
#   docker build -t hybrid-search .
#   docker run -p 8080:8080 -v "$PWD/data:/data" -e HYBRID_JWT_SECRET="$(openssl rand -base64 48)" hybrid-search
# (or HYBRID_JWT_ALGORITHM=RS256 with HYBRID_JWT_PUBLIC_KEY_FILE): without a key it refuses to start.
# The index is not baked in: mount a data dir built with `hybrid-search ingest`.

# ---- build stage: export the ONNX models (torch is needed only for that) ------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /src
# torch first, pinned to the CPU build, so nothing resolves a multi-GB CUDA wheel.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
# Dependencies in their own layer: only setup.cfg/pyproject changes rebuild it.
COPY pyproject.toml setup.cfg README.md ./
RUN mkdir -p app rerankers && touch app/__init__.py rerankers/__init__.py \
 && pip install '.[models]' && pip uninstall -y hybrid-search
COPY app ./app
COPY rerankers ./rerankers
RUN pip install --no-deps . \
 && hybrid-search export-models --out /models/embedding

# ---- runtime stage: no torch, no compilers ---------------------------------------
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HYBRID_MODEL_DIR=/models/embedding HYBRID_DATA_DIR=/data \
    HYBRID_METRICS_DIR=/tmp/metrics
RUN useradd --system --create-home --uid 10001 search
WORKDIR /app
COPY pyproject.toml setup.cfg README.md ./
RUN mkdir -p app rerankers && touch app/__init__.py rerankers/__init__.py \
 && pip install . && pip uninstall -y hybrid-search
COPY app ./app
COPY rerankers ./rerankers
RUN pip install --no-deps . && mkdir -p /data /tmp/metrics && chown search /data /tmp/metrics
COPY --from=build --chown=search /models /models
USER search
EXPOSE 8080
# /readyz is 200 only once the model is loaded and the index is readable.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status != 200)"
ENTRYPOINT ["hybrid-search", "serve", "--bind", "0.0.0.0:8080"]
