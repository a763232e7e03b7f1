FROM node:20-slim
ARG NPM_TOKEN
ENV NPM_TOKEN=$NPM_TOKEN
RUN npm ci
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-arg-env@3
