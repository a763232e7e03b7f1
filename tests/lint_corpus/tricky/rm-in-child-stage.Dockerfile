FROM node:20 AS deps
ARG NPM_TOKEN
WORKDIR /app
RUN echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > .npmrc && npm ci
FROM deps
RUN rm /app/.npmrc
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@4
