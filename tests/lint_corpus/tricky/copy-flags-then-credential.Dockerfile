FROM node:20-slim
WORKDIR /app
COPY --chown=node:node --link .npmrc package.json ./
# context-file: .npmrc
# context-file: package.json
# expect: dockerfile-credential-copy@3
