# mlp-classifier:1.0.0 - a triton-kit scoring image on the cpu base (triton-kit/tritonserver-cpu:2.51.0-py3.11).
# Rendered by `python build.py render mlp-classifier`; edit templates/image/Dockerfile.j2, not this file.
# Layers run from least to most often changed: base, system packages, scoring Python + runtime wheels, the image's
# requirements, the model repository, the app code, then the image's environment, so editing score.py or an
# environment value rebuilds only the last layers.

# The base by identity (digest or image id), so every stage and every build of this context use the same one.
FROM triton-kit/tritonserver-cpu:2.51.0-py3.11 AS scoring-packages
COPY wheels/scoring/ /tmp/wheels/scoring/
# The profile's lock (kit/context/locks/cpu.txt): every file checked against its SHA-256.
RUN /usr/bin/python3 -m pip install --no-cache-dir --disable-pip-version-check --no-index --no-deps --require-hashes \
    --find-links /tmp/wheels/scoring --target /opt/scoring/lib -r /tmp/wheels/scoring/requirements.lock

FROM triton-kit/tritonserver-cpu:2.51.0-py3.11
# A numeric non-root account for the processes; files stay root-owned and read-only to it. NGC images already
# have one (triton-server, uid 1000), so it is created only where that uid is free.
RUN id -u 1000 >/dev/null 2>&1 \
 || useradd --uid 1000 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin scoring
ENV AML_APP_ROOT=/var/azureml-app \
    AZUREML_ENTRY_SCRIPT=score.py \
    AZUREML_MODEL_DIR=/var/azureml-models \
    TRITON_MODEL_REPOSITORY=/var/azureml-models/triton \
    TRITON_RELEASE=2.51.0 \
    PYTHONPATH=/opt/scoring/image-lib:/opt/scoring/lib:/opt/scoring/runtime \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVER_PORT=5001
COPY --from=scoring-packages /opt/scoring/lib /opt/scoring/lib
COPY triton/ /var/azureml-models/triton/
COPY scoring/ /opt/scoring/runtime/scoring/
COPY app/ /var/azureml-app/
# The image's own environment (image.yaml), after the app so changing a value recopies nothing.
ENV WORKER_COUNT="1"
LABEL org.opencontainers.image.title="mlp-classifier" \
      org.opencontainers.image.version="1.0.0" \
      org.opencontainers.image.source="https://example.invalid/triton-kit.git" \
      org.opencontainers.image.revision="0123456789abcdef0123456789abcdef01234567" \
      org.opencontainers.image.base.name="triton-kit/tritonserver-cpu:2.51.0-py3.11" \
      org.opencontainers.image.base.digest="sha256:0000000000000000000000000000000000000000000000000000000000000000" \
      io.triton-kit.image="mlp-classifier" \
      io.triton-kit.kit-version="0.1.0" \
      io.triton-kit.base-profile="cpu" \
      io.triton-kit.base="triton-kit/tritonserver-cpu:2.51.0-py3.11"
USER 1000:1000
WORKDIR /var/azureml-app
EXPOSE 5001
# Docker's health means "ready to serve": /ready is 200 only while Triton is ready (liveness alone would report
# healthy while models are still loading). The long start period covers model loading.
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=3 \
    CMD ["/usr/bin/python3", "-m", "scoring.healthcheck"]
ENTRYPOINT ["/usr/bin/python3", "-m", "scoring.supervisor"]
