FROM python:3.12-slim
ARG PIP_INDEX_TOKEN
RUN pip config set global.index-url "https://__token__:${PIP_INDEX_TOKEN}@registry.example.invalid/simple" \
 && pip install app
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@3
