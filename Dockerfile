# The interchange image used by docker-compose.yml: every project service runs
# the same `interchange` command line that runs on a developer's machine.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg

WORKDIR /app
COPY pyproject.toml README.md ./
COPY interchange ./interchange
COPY schemas ./schemas
COPY tests ./tests
COPY examples ./examples
# EXTRAS="[test]" builds the image of the `tests` service.
ARG EXTRAS=""
RUN pip install --no-cache-dir ".${EXTRAS}" \
    && useradd --create-home --uid 10001 axis \
    && mkdir -p /keys /runs && chown -R axis:axis /keys /runs /app

USER axis
ENTRYPOINT ["interchange"]
CMD ["--help"]
