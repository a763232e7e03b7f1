FROM node:20-slim
ARG NPM_TOKEN
WORKDIR /app
COPY . .
RUN echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > .npmrc \
 && npm ci
RUN rm .npmrc
# expect: dockerfile-secret-arg-env@2 dockerfile-context-copy@4 dockerfile-secret-in-file@5
