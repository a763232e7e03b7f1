FROM python:3.12-slim
WORKDIR /app
COPY . .
# context-file: app.py
# context-file: .env
# dockerignore: .git
# expect: dockerfile-context-copy@3
