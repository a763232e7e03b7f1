FROM node:20 AS build
ARG NPM_TOKEN
RUN echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > /root/.npmrc && npm ci
FROM node:20-slim
COPY --from=build /root/.npmrc /root/.npmrc
# expect: dockerfile-secret-arg-env@2 dockerfile-stage-leak@5
