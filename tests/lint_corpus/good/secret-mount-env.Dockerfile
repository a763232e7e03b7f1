# syntax=docker/dockerfile:1
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci
# dockerignore: .git
# context-file: package.json
# context-file: package-lock.json
# expect: none
