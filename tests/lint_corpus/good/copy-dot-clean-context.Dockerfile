FROM python:3.12-slim
WORKDIR /app
COPY . .
# context-file: app.py
# dockerignore: .git
# expect: none
