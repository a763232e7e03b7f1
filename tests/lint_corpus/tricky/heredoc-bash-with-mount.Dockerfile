# syntax=docker/dockerfile:1
FROM python:3.12-slim
RUN --mount=type=secret,id=pip,env=PIP_TOKEN <<EOF bash
set -euo pipefail
pip install --index-url "https://__token__:${PIP_TOKEN}@registry.example.invalid/simple" app
EOF
# expect: none
