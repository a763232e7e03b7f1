FROM python:3.12-slim
COPY .env.example /app/.env.example
# context-file: .env.example placeholder
# expect: none
