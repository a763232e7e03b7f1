FROM node:20-slim
ARG NPM_TOKEN
RUN npm ci
# expect: dockerfile-secret-arg-env@2
