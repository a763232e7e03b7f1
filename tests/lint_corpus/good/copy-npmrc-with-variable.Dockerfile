FROM node:20-slim
COPY .npmrc /app/.npmrc
RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN cd /app && npm ci
# context-file: .npmrc placeholder
# expect: none
