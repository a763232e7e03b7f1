FROM node:20 AS build
WORKDIR /app
COPY .npmrc package.json ./
RUN npm ci
FROM node:20-slim
COPY --from=build /app /app
# context-file: .npmrc
# context-file: package.json
# dockerignore: .git
# expect: dockerfile-stage-leak@6
