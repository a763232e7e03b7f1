FROM python:3.12-slim
COPY .env /app/.env
# context-file: .env
# dockerignore: .git
# expect: dockerfile-credential-copy@2
